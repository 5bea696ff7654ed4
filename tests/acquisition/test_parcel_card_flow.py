"""The parcel-card flow end to end (issue 5, part 9), through real signed callbacks, the fake WeCom
and WeChat APIs and the fake WeChat Pay merchant: a Tmall buyer scans the card's code and adds the
小完子 persona → is greeted with the push's WelcomeCode → gets a 1.88-yuan red packet, paid exactly
once → is invited to the welfare group through its live code and joins → is tagged by channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu import clock
from siyu.db.engine import read
from siyu.messaging import store as messaging_store
from siyu.worker import run_pass
from tests.acquisition.test_group_codes import qr_png
from tests.payments.pay import merchant
from tests.staff.platforms import APP, CORP, platforms

CARD = {"kind": "wecom_contact", "key": "tmall_card", "name": "天猫包裹卡",
        "routing": {"strategy": "round_robin", "staff": [{"userid": "wanzi_a"}, {"userid": "wanzi_b"}]},
        "tags": ["渠道:天猫包裹卡"],
        "reward": {"cash_fen": 188, "wishing": "谢谢你选择我们，小完子送你一个红包", "budget_fen": 100_000}}


def _persona(client, workspace) -> None:  # noqa: ANN001
    persona = client.post("/api/staff", headers=workspace.bearer(), json={
        "kind": "persona", "name": "小完子", "signature": "你的私人美妆顾问"})
    assert persona.status_code == 201, persona.text
    for userid in ("wanzi_a", "wanzi_b"):
        member = client.post("/api/staff", headers=workspace.bearer(), json={
            "userid": userid, "name": f"小完子 {userid[-1].upper()}", "persona_id": persona.json()["id"]})
        assert member.status_code == 201, member.text


def _group_code(client, workspace) -> dict:  # noqa: ANN001
    code = client.post("/api/group-codes", headers=workspace.bearer(),
                       json={"name": "包裹卡福利群", "title": "小完子福利群"})
    assert code.status_code == 201, code.text
    group = client.post(f"/api/group-codes/{code.json()['id']}/groups", headers=workspace.bearer(),
                        data={"label": "福利1群"}, files={"image": ("qr.png", qr_png("福利1群"), "image/png")})
    assert group.status_code == 201, group.text
    return code.json()


def test_scan_add_welcome_red_packet_group_and_tag(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    auth = workspace.bearer()
    with platforms(runtime, client, workspace) as fake, merchant(runtime, workspace, appid=APP) as pay:
        _persona(client, workspace)
        group_code = _group_code(client, workspace)
        page = group_code["page_url"]
        created = client.post("/api/channel-codes", headers=auth, json={
            **CARD, "welcome": {"text": f"你好，我是小完子！红包已送上，福利群在这里：{page}"}})
        assert created.status_code == 201, created.text
        card = created.json()
        assert card["reward"]["cash_fen"] == 188
        assert fake.wecom.contact_ways[card["config_id"]]["state"] == "tmall_card"

        # scan the card → WeCom adds the customer to 小完子 and pushes add_external_contact with the state
        buyer = fake.customer(client, workspace, "wanzi_a", "wmTmallBuyer1", state="tmall_card")
        fake.wecom_push.resend()  # WeCom retries the push: nothing is decided twice
        with read(runtime.engine) as conn:
            [welcome] = messaging_store.of_profile(conn, workspace.id, buyer)
        assert welcome.payload["text"]["content"].startswith("你好，我是小完子") and welcome.payload["welcome_code"]
        [reward] = client.get(f"/api/profiles/{buyer}/rewards", headers=auth).json()
        assert (reward["status"], reward["amount_fen"], reward["reason"]) == ("decided", 188,
                                                                              f"channel_code:{card['id']}")

        run_pass(runtime)  # the welcome goes out with the WelcomeCode; the packet waits for an openid
        assert [w["welcome_code"] for w in fake.wecom.welcomes] == [welcome.payload["welcome_code"]]
        waiting = client.get(f"/api/rewards/{reward['id']}", headers=auth).json()
        assert (waiting["status"], waiting["error_code"]) == ("decided", "payments.no_openid") and pay.paid == []

        # the welcome's page, opened in WeChat, knows the person's openid under the official account
        # (web OAuth) and tells siyu through the Segment-compatible API: one profile, both identities
        linked = client.post("/v1/identify", auth=(workspace.write_key, ""), json={
            "anonymousId": "h5-claim-1", "context": {"externalIds": [
                {"type": f"wecom_external_userid:{CORP}", "id": "wmTmallBuyer1"},
                {"type": f"wechat_openid:{APP}", "id": "oTmallBuyer1"}]}})
        assert linked.status_code == 200, linked.text
        clock.advance(timedelta(hours=1, seconds=1))
        run_pass(runtime)
        run_pass(runtime)
        [paid] = pay.paid
        assert (paid.openid, paid.amount_fen, paid.appid, paid.act_name) == ("oTmallBuyer1", 188, APP, "天猫包裹卡")
        assert len([p for p, _ in pay.requests if p.endswith("sendredpack")]) == 1
        sent = client.get(f"/api/rewards/{reward['id']}", headers=auth).json()
        assert (sent["status"], sent["recipient"], sent["provider_id"]) == ("sent", "oTmallBuyer1", paid.send_listid)
        budget = client.get("/api/rewards/budgets", headers=auth).json()
        assert [(b["reason"], b["committed_fen"]) for b in budget] == [(f"channel_code:{card['id']}", 188)]

        # the group invitation: the live code's page shows a group with room; the buyer joins it
        shown = client.get(page.removeprefix(str(client.base_url)) + ".json").json()
        assert shown["group"]["label"] == "福利1群" and not shown["none_left"]
        chat = "wrTmallWelfare1"
        fake.wecom.set_group_chat(chat, name="小完子福利1群", owner="wanzi_a", members=[
            {"userid": "wanzi_a", "type": 1, "join_time": 1_764_460_000, "join_scene": 1, "name": "小完子"},
            {"userid": "wmTmallBuyer1", "type": 2, "join_time": 1_764_468_000, "join_scene": 3, "name": "buyer"}])
        fake.wecom_push.push(fake.wecom_push.chat("create", chat))
        fake.wecom_push.push(fake.wecom_push.chat("update", chat, detail="add_member", JoinScene=3,
                                                  members=["wmTmallBuyer1"]))
        run_pass(runtime)
        groups = client.get(f"/api/profiles/{buyer}/groups", headers=auth).json()
        assert [(g["group_name"], g["join_scene"], g["quit_at"]) for g in groups] == [("小完子福利1群", "qr", None)]

        # tagged and attributed by channel
        profile = client.get(f"/api/profiles/{buyer}", headers=auth).json()
        assert [t["name"] for t in profile["tags"]] == ["渠道:天猫包裹卡"]
        assert profile["traits"]["first_channel_code"] == "tmall_card"
        assert len(pay.paid) == 1


def test_a_second_add_through_the_card_pays_nothing_more_and_a_spent_budget_stops_packets(  # noqa: ANN001
        runtime, client, workspace) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    auth = workspace.bearer()
    with platforms(runtime, client, workspace) as fake, merchant(runtime, workspace, appid=APP) as pay:
        _persona(client, workspace)
        created = client.post("/api/channel-codes", headers=auth, json={
            **CARD, "reward": {"cash_fen": 188, "budget_fen": 188}, "welcome": {"text": "你好！"}})
        assert created.status_code == 201, created.text
        first = fake.customer(client, workspace, "wanzi_a", "wmCardA", state="tmall_card")
        fake.customer(client, workspace, "wanzi_b", "wmCardA", state="tmall_card")  # adds the other member too
        second = fake.customer(client, workspace, "wanzi_a", "wmCardB", state="tmall_card")
        rewards = client.get("/api/rewards", headers=auth).json()
        assert sorted((r["profile_id"], r["status"], r["error_code"]) for r in rewards) == sorted([
            (first, "decided", None), (second, "refused", "payments.budget_spent")])
        assert pay.paid == []
        bad = client.patch(f"/api/channel-codes/{created.json()['id']}", headers=auth,
                           json={"reward": {"cash_fen": 50}})
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "reward"


def test_the_demo_brand_runs_the_flow_through_the_real_handlers(runtime) -> None:  # noqa: ANN001
    from sqlalchemy import func, select

    from siyu.db.tables import events, rewards
    from siyu.demo.generate import generate
    from siyu.demo.parcel_card import parcel_card
    from siyu.payments import store as reward_store
    from tests.conftest import make_workspace

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    demo = make_workspace(runtime, "demo")
    generate(runtime, demo.id, customers=600, seed=5, now=now)
    found = parcel_card(runtime, demo.id, seed=5, customers=600, now=now)
    assert found["adds"] > 0 and found["rewards_sent"] == found["adds"] and found["rewards_refused"] == 0
    assert found["paid_fen"] == 188 * found["adds"] and 0 < found["joined_group"] <= found["adds"]
    with read(runtime.engine) as conn:
        sent = reward_store.list_rewards(conn, demo.id, status="sent")
        person = sent[0].profile_id
        names = set(conn.execute(select(events.c.name).where(events.c.workspace_id == demo.id,
                                                             events.c.profile_id == person)).scalars())
        queued = messaging_store.of_profile(conn, demo.id, person)
    assert {"Followed", "WeCom Contact Added"} <= names  # the card's follow and the add are one person
    assert all(r.recipient and r.recipient.startswith("o") for r in sent)
    assert [m.payload["welcome_code"] for m in queued if m.channel.value == "wecom"]

    again = parcel_card(runtime, demo.id, seed=5, customers=600, now=now)  # a second run changes nothing
    assert again == found
    with read(runtime.engine) as conn:
        assert conn.execute(select(func.count()).select_from(rewards).where(
            rewards.c.workspace_id == demo.id)).scalar() == found["adds"]
