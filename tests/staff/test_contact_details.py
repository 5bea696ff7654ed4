"""WeCom-only contacts get their unionid from ``externalcontact/get`` in the worker, join the
official-account follower's profile, and a red packet waiting for an openid is paid (issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu import clock
from siyu.db.engine import read
from siyu.staff import contact_store
from siyu.staff.contact_details import MAX_PAUSE, retry_at
from siyu.worker import run_pass
from tests.payments.pay import merchant
from tests.staff.platforms import APP, CORP, platforms

CARD = {"kind": "wecom_contact", "key": "tmall_card", "name": "天猫包裹卡",
        "routing": {"strategy": "round_robin", "staff": [{"userid": "wanzi_a"}]},
        "reward": {"cash_fen": 188, "wishing": "小完子送你一个红包"}}


def _details(runtime, workspace, external_userid):  # noqa: ANN001, ANN202
    with read(runtime.engine) as conn:
        return contact_store.contact_details(conn, workspace.id, external_userid)


def test_the_worker_links_the_unionid_merges_with_the_follower_and_pays_the_waiting_packet(  # noqa: ANN001
        runtime, client, workspace) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    auth = workspace.bearer()
    with platforms(runtime, client, workspace) as fake, merchant(runtime, workspace, appid=APP) as pay:
        followed = fake.wechat_push.push(fake.wechat_push.follow("oFollower1", unionid="oUnion1"))
        assert followed.status_code == 200, followed.text
        follower = fake.profile_of(client, workspace, f"wechat_openid:{APP}", "oFollower1")
        assert client.post("/api/channel-codes", headers=auth, json=CARD).status_code == 201

        fake.wecom.set_contact_details("wmOnlyWeCom1", name="包裹卡买家", unionid="oUnion1")
        contact = fake.customer(client, workspace, "wanzi_a", "wmOnlyWeCom1", state="tmall_card")
        assert contact != follower  # the push names the contact by its external user id only
        assert fake.wecom.contact_lookups == []  # nothing asked inside the callback request
        [reward] = client.get(f"/api/profiles/{contact}/rewards", headers=auth).json()
        assert reward["status"] == "decided"

        run_pass(runtime)
        assert fake.wecom.contact_lookups == ["wmOnlyWeCom1"]
        details = _details(runtime, workspace, "wmOnlyWeCom1")
        assert (details["status"], details["unionid"], details["contact_type"]) == ("fetched", "oUnion1", 1)
        merged = fake.profile_of(client, workspace, f"wecom_external_userid:{CORP}", "wmOnlyWeCom1")
        assert merged == fake.profile_of(client, workspace, "wechat_unionid", "oUnion1") == follower
        assert fake.profile_of(client, workspace, f"wechat_openid:{APP}", "oFollower1") == follower
        [paid] = pay.paid  # the packet found the follower's openid in the same pass
        assert (paid.openid, paid.amount_fen) == ("oFollower1", 188)
        assert client.get(f"/api/rewards/{reward['id']}", headers=auth).json()["status"] == "sent"

        fake.wecom_push.resend()  # WeCom retries the add; another pass; the contact added again
        fake.customer(client, workspace, "wanzi_a", "wmOnlyWeCom1")
        clock.advance(timedelta(hours=2))
        run_pass(runtime)
        assert fake.wecom.contact_lookups == ["wmOnlyWeCom1"] and len(pay.paid) == 1  # idempotent


def test_a_contact_without_a_unionid_links_nothing_and_a_busy_wecom_is_asked_again(  # noqa: ANN001
        runtime, client, workspace) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        fake.wecom.set_contact_details("wmWeComUser", name="同事", contact_type=2)
        plain = fake.customer(client, workspace, "wanzi_a", "wmWeComUser")
        busy = fake.customer(client, workspace, "wanzi_a", "wmBusy")
        gone = fake.customer(client, workspace, "wanzi_a", "wmGone")
        fake.wecom.fail_external("wmGone", 84061)
        fake.wecom.set_contact_details("wmBusy", name="买家", unionid="oUnionBusy")
        run_pass(runtime)
        assert _details(runtime, workspace, "wmWeComUser")["status"] == "fetched"
        assert _details(runtime, workspace, "wmWeComUser")["unionid"] is None
        assert _details(runtime, workspace, "wmGone")["status"] == "failed"
        assert fake.profile_of(client, workspace, f"wecom_external_userid:{CORP}", "wmWeComUser") == plain

        # WeCom busy (-1) for the next lookup: it waits with a backoff, then is linked
        fake.wecom.fail_next(-1)
        with read(runtime.engine) as conn:
            assert contact_store.due_lookups(conn, workspace.id, clock.now(), 10) == []
        lookups = len(fake.wecom.contact_lookups)
        assert lookups == 3 and busy  # the busy one was linked in the first pass already
        assert fake.profile_of(client, workspace, "wechat_unionid", "oUnionBusy") == busy

        fake.customer(client, workspace, "wanzi_a", "wmLater")
        fake.wecom.set_contact_details("wmLater", name="后来的", unionid="oUnionLater")
        run_pass(runtime)  # the scripted -1 answers this one
        later = _details(runtime, workspace, "wmLater")
        assert (later["status"], later["error_code"], later["attempts"]) == ("due", "wecom.busy", 1)
        assert gone and later["next_attempt_at"] == clock.now() + timedelta(minutes=2)
        run_pass(runtime)
        assert len(fake.wecom.contact_lookups) == lookups + 1  # not asked again before its time
        clock.advance(timedelta(minutes=2))
        run_pass(runtime)
        assert _details(runtime, workspace, "wmLater")["unionid"] == "oUnionLater"
        assert fake.profile_of(client, workspace, "wechat_unionid", "oUnionLater") == \
            fake.profile_of(client, workspace, f"wecom_external_userid:{CORP}", "wmLater")


def test_the_retry_pause_doubles_and_is_capped() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert [retry_at(n, now) - now for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (2, 4, 8)]
    assert retry_at(50, now) - now == MAX_PAUSE


def test_two_workers_on_one_contact_settle_and_link_it_once(runtime, client, workspace) -> None:  # noqa: ANN001
    from sqlalchemy import func, select

    from siyu.db.tables import events
    from siyu.identity.rules import IdentityRules
    from siyu.staff.contact_details import _look_up, discover
    from siyu.staff.wecom_contact import ContactClient
    from siyu.workspaces import store as workspace_store

    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        fake.wecom.set_contact_details("wmRace", name="买家", unionid="oUnionRace")
        fake.customer(client, workspace, "wanzi_a", "wmRace")
        assert discover(runtime.engine, workspace.id, clock.now()) == 1
        assert discover(runtime.engine, workspace.id, clock.now()) == 0  # the cursor moved
        with read(runtime.engine) as conn:
            [lookup] = contact_store.due_lookups(conn, workspace.id, clock.now(), 10)  # both workers read it
            ws = workspace_store.get_workspace(conn, workspace.id)
        contacts, rules = ContactClient.from_settings(ws.settings), IdentityRules.from_settings(ws.settings)
        outcomes = [_look_up(runtime.engine, workspace.id, contacts, rules, lookup, clock.now()) for _ in range(2)]
        assert outcomes == ["unionids", "skipped"] and fake.wecom.contact_lookups == ["wmRace", "wmRace"]
        with read(runtime.engine) as conn:
            identifies = conn.execute(select(func.count()).select_from(events).where(
                events.c.workspace_id == workspace.id, events.c.type == "identify")).scalar()
        assert identifies == 1
