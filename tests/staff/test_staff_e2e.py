"""Staff end to end, through the API and real signed WeCom / WeChat callbacks: ownership from
add / delete pushes, 在职转接 and 离职继承 against the fake WeCom, today's tasks, the conversation
view and replies inside the 48-hour window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu import clock
from siyu.db.engine import write
from siyu.journeys import task_store
from tests.staff.platforms import APP, platforms


def _member(client, keys, userid: str, name: str, **more) -> dict:  # noqa: ANN001
    created = client.post("/api/staff", json={"userid": userid, "name": name, **more}, headers=keys.bearer())
    assert created.status_code == 201, created.text
    return created.json()


def test_contact_pushes_open_and_close_ownership(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        person = fake.customer(client, workspace, "xiaowan01", "wmCustomerA", state="tmall")
        fake.wecom_push.resend()  # WeCom's retry: nothing twice
        owners = client.get(f"/api/profiles/{person}/owners", headers=workspace.bearer()).json()
        assert [(o["userid"], o["state"], o["start_reason"], o["ended_at"]) for o in owners] == [
            ("xiaowan01", "tmall", "added", None)]
        members = client.get("/api/staff", headers=workspace.bearer()).json()
        assert [(m["userid"], m["kind"], m["status"]) for m in members] == [("xiaowan01", "member", "active")]
        customers = client.get(f"/api/staff/{members[0]['id']}/customers", headers=workspace.bearer()).json()
        assert [c["profile_id"] for c in customers] == [person]

        clock.advance(timedelta(hours=3))
        fake.wecom_push.push(fake.wecom_push.contact("del_follow_user", "xiaowan01", "wmCustomerA"))
        owners = client.get(f"/api/profiles/{person}/owners", headers=workspace.bearer()).json()
        assert owners[0]["end_reason"] == "deleted_by_customer" and owners[0]["ended_at"] is not None
        assert client.get(f"/api/staff/{members[0]['id']}/customers", headers=workspace.bearer()).json() == []


def test_persona_lists_its_members_and_their_customers(runtime, client, workspace) -> None:  # noqa: ANN001
    with platforms(runtime, client, workspace) as fake:
        persona = client.post("/api/staff", json={"kind": "persona", "name": "小完子", "signature": "完子心选的主理人"},
                              headers=workspace.bearer()).json()
        _member(client, workspace, "wanzi_a", "完子 A", persona_id=persona["id"])
        _member(client, workspace, "wanzi_b", "完子 B", persona_id=persona["id"])
        first = fake.customer(client, workspace, "wanzi_a", "wmP1")
        second = fake.customer(client, workspace, "wanzi_b", "wmP2")
        found = client.get(f"/api/staff/{persona['id']}", headers=workspace.bearer()).json()
        assert found["members"] == ["wanzi_a", "wanzi_b"] and found["signature"] == "完子心选的主理人"
        customers = client.get(f"/api/staff/{persona['id']}/customers", headers=workspace.bearer()).json()
        assert sorted(c["profile_id"] for c in customers) == sorted([first, second])
        duplicate = client.post("/api/staff", json={"userid": "wanzi_a", "name": "again"}, headers=workspace.bearer())
        assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "staff.exists"
        bad = client.post("/api/staff", json={"kind": "persona", "name": "x", "userid": "u1"},
                          headers=workspace.bearer())
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "staff.invalid"


def test_only_a_member_serves_as_a_persona(client, workspace) -> None:  # noqa: ANN001
    persona = client.post("/api/staff", json={"kind": "persona", "name": "小完子"}, headers=workspace.bearer()).json()
    member = _member(client, workspace, "wanzi_c", "完子 C")

    def refused(response, message: str) -> None:  # noqa: ANN001
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "staff.invalid" and error["details"]["field"] == "persona_id"
        assert message in error["message"]

    refused(client.post("/api/staff", json={"kind": "persona", "name": "副人设", "persona_id": persona["id"]},
                        headers=workspace.bearer()), "takes no 'persona_id'")
    refused(client.patch(f"/api/staff/{persona['id']}", json={"persona_id": persona["id"]},
                         headers=workspace.bearer()), "takes no 'persona_id'")
    refused(client.post("/api/staff", json={"userid": "wanzi_d", "name": "完子 D", "persona_id": member["id"]},
                        headers=workspace.bearer()), "is not a persona")
    refused(client.patch(f"/api/staff/{member['id']}", json={"persona_id": 999999},
                         headers=workspace.bearer()), "No persona 999999")
    # nothing refused was written: the persona still lists no members, the member serves as nobody
    assert client.get(f"/api/staff/{persona['id']}", headers=workspace.bearer()).json()["members"] == []
    assert client.get(f"/api/staff/{member['id']}", headers=workspace.bearer()).json()["persona_id"] is None
    assert [s["name"] for s in client.get("/api/staff", headers=workspace.bearer()).json()] == ["小完子", "完子 C"]
    moved = client.patch(f"/api/staff/{member['id']}", json={"persona_id": persona["id"]}, headers=workspace.bearer())
    assert moved.status_code == 200 and moved.json()["persona_id"] == persona["id"]
    assert client.get(f"/api/staff/{persona['id']}", headers=workspace.bearer()).json()["members"] == ["wanzi_c"]


def test_in_service_transfer_is_decided_submitted_and_taken_over_a_day_later(runtime, client, workspace
                                                                              ) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        _member(client, workspace, "lisi", "李四")
        person = fake.customer(client, workspace, "zhangsan", "wmT1")
        body = {"kind": "in_service", "handover_userid": "zhangsan", "takeover_userid": "lisi",
                "profile_ids": [person], "message": "您好，之后由同事李四为您服务", "idempotency_key": "move-1"}
        first = client.post("/api/customer-transfers", json=body, headers=workspace.bearer())
        assert first.status_code == 201, first.text
        assert [(t["status"], t["external_userid"]) for t in first.json()["transfers"]] == [("decided", "wmT1")]
        again = client.post("/api/customer-transfers", json=body, headers=workspace.bearer())
        assert again.status_code == 200 and again.json()["transfers"][0]["id"] == first.json()["transfers"][0]["id"]
        assert fake.wecom.transfer_bodies == []  # decided, not yet sent

        synced = client.post("/api/customer-transfers/sync", headers=workspace.bearer()).json()
        assert synced == {"submitted": 1, "finished": 0}
        assert fake.wecom.transfer_bodies[0]["transfer_success_msg"] == "您好，之后由同事李四为您服务"
        assert client.post("/api/customer-transfers/sync", headers=workspace.bearer()).json() == {
            "submitted": 0, "finished": 0}  # still waiting: WeCom takes over after 24 hours

        clock.advance(timedelta(hours=24, minutes=1))
        assert client.post("/api/customer-transfers/sync", headers=workspace.bearer()).json()["finished"] == 1
        listed = client.get("/api/customer-transfers", params={"profile_id": person}, headers=workspace.bearer())
        assert listed.json()[0]["status"] == "succeeded"
        owners = client.get(f"/api/profiles/{person}/owners", headers=workspace.bearer()).json()
        assert [(o["userid"], o["start_reason"], o["end_reason"]) for o in owners] == [
            ("zhangsan", "added", "transferred"), ("lisi", "transfer", None)]
        assert fake.wecom.transfer_bodies and len(fake.wecom.transfer_bodies) == 1  # one call, never repeated


def test_a_third_in_service_transfer_within_90_days_is_refused(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        _member(client, workspace, "b_member", "B")
        person = fake.customer(client, workspace, "a_member", "wmLimit")
        moves = [("a_member", "b_member"), ("b_member", "a_member"), ("a_member", "b_member")]
        statuses = []
        for index, (giver, taker) in enumerate(moves):
            answer = client.post("/api/customer-transfers", headers=workspace.bearer(), json={
                "kind": "in_service", "handover_userid": giver, "takeover_userid": taker, "profile_ids": [person],
                "idempotency_key": f"limit-{index}"})
            assert answer.status_code == 201, answer.text
            row = answer.json()["transfers"][0]
            statuses.append((row["status"], row["reason"]))
            client.post("/api/customer-transfers/sync", headers=workspace.bearer())
            clock.advance(timedelta(days=2))
            client.post("/api/customer-transfers/sync", headers=workspace.bearer())
        assert statuses == [("decided", None), ("decided", None), ("refused", "staff.transfer_limit")]
        assert len(fake.wecom.transfer_bodies) == 2


def test_resigned_transfer_needs_the_member_to_have_left(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        leaver = _member(client, workspace, "leaver", "离职的人")
        _member(client, workspace, "heir", "接替的人")
        people = [fake.customer(client, workspace, "leaver", f"wmR{n}") for n in range(3)]
        body = {"kind": "resigned", "handover_userid": "leaver", "takeover_userid": "heir", "idempotency_key": "r1"}
        refused = client.post("/api/customer-transfers", json=body, headers=workspace.bearer())
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "staff.not_left"
        left = client.patch(f"/api/staff/{leaver['id']}", json={"status": "left"}, headers=workspace.bearer())
        assert left.json()["status"] == "left" and left.json()["left_at"] is not None
        decided = client.post("/api/customer-transfers", json=body, headers=workspace.bearer()).json()["transfers"]
        assert sorted(t["profile_id"] for t in decided) == sorted(people)
        client.post("/api/customer-transfers/sync", headers=workspace.bearer())
        clock.advance(timedelta(hours=25))
        client.post("/api/customer-transfers/sync", headers=workspace.bearer())
        heir = [s for s in client.get("/api/staff", headers=workspace.bearer()).json() if s["userid"] == "heir"][0]
        owned = client.get(f"/api/staff/{heir['id']}/customers", headers=workspace.bearer()).json()
        assert sorted(o["profile_id"] for o in owned) == sorted(people)
        assert {o["start_reason"] for o in owned} == {"resigned_transfer"}
        assert "transfer_success_msg" not in fake.wecom.transfer_bodies[0]


def test_todays_tasks_follow_the_owner_and_close_with_a_note(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    with platforms(runtime, client, workspace) as fake:
        member = _member(client, workspace, "owner1", "跟进人")
        person = fake.customer(client, workspace, "owner1", "wmTask")
        now = clock.now()
        with write(runtime.engine) as conn:
            today = task_store.create_task(conn, workspace.id, profile_id=person, title="回访", note="问问使用感受",
                                           due_at=now + timedelta(hours=5), source="journey:1", source_key="t1",
                                           now=now)
            task_store.create_task(conn, workspace.id, profile_id=person, title="下周", note=None,
                                   due_at=now + timedelta(days=7), source="journey:1", source_key="t2", now=now)
        listed = client.get(f"/api/staff/{member['id']}/tasks", headers=workspace.bearer()).json()
        assert [t["id"] for t in listed] == [today]
        done = client.post(f"/api/staff-tasks/{today}/result", json={"status": "done", "note": "已回访，很满意"},
                           headers=workspace.bearer())
        assert done.status_code == 200 and done.json()["status"] == "done"
        assert client.get(f"/api/staff/{member['id']}/tasks", headers=workspace.bearer()).json() == []
        closed = client.get(f"/api/staff/{member['id']}/tasks", params={"status": "done"},
                            headers=workspace.bearer()).json()
        assert [(t["id"], t["result_note"]) for t in closed] == [(today, "已回访，很满意")]
        again = client.post(f"/api/staff-tasks/{today}/result", json={"status": "skipped"}, headers=workspace.bearer())
        assert again.status_code == 409 and again.json()["error"]["code"] == "staff.task_closed"
        missing = client.post("/api/staff-tasks/999999/result", json={"status": "done"}, headers=workspace.bearer())
        assert missing.status_code == 404


def test_a_daily_sop_rule_tasks_the_owners_of_segment_entrants_once_a_day(runtime, client, workspace
                                                                           ) -> None:  # noqa: ANN001
    from siyu.db.tables import segment_members
    from siyu.segments import store as segment_store

    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        member = _member(client, workspace, "sop_owner", "SOP")
        owned = fake.customer(client, workspace, "sop_owner", "wmSop1")
        with write(runtime.engine) as conn:
            segment = segment_store.create_segment(conn, workspace.id, name="高意向", description=None,
                                                   definition={"all": [{"trait": "city", "op": "eq", "value": "上海"}]},
                                                   created_by=None, now=clock.now())
            conn.execute(segment_members.insert().values(workspace_id=workspace.id, segment_id=segment["id"],
                                                         profile_id=owned, entered_at=clock.now()))
        rule = client.post("/api/sop-rules", json={"name": "高意向跟进", "segment_id": segment["id"],
                                                    "title": "一对一沟通", "due_hours": 4}, headers=workspace.bearer())
        assert rule.status_code == 201, rule.text
        clock.advance(timedelta(minutes=1))
        ran = client.post("/api/sop-rules/run", headers=workspace.bearer()).json()
        assert ran["rules"][0]["created"] == 1
        assert client.post("/api/sop-rules/run", headers=workspace.bearer()).json()["rules"][0]["created"] == 0
        tasks = client.get(f"/api/staff/{member['id']}/tasks", headers=workspace.bearer()).json()
        assert [(t["title"], t["source"]) for t in tasks] == [("一对一沟通", f"sop:{rule.json()['id']}")]
        unknown = client.post("/api/sop-rules", json={"name": "x", "segment_id": 999999, "title": "t"},
                              headers=workspace.bearer())
        assert unknown.status_code == 404


def test_conversation_interleaves_and_replies_only_inside_the_window(runtime, client, workspace
                                                                      ) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        fake.wechat_push.push(fake.wechat_push.follow("oConvA"))
        clock.advance(timedelta(minutes=5))
        fake.wechat_push.push(fake.wechat_push.text("oConvA", "请问面膜怎么用？"))
        person = fake.profile_of(client, workspace, f"wechat_openid:{APP}", "oConvA")
        clock.advance(timedelta(minutes=1))
        view = client.get(f"/api/profiles/{person}/conversation", headers=workspace.bearer()).json()
        assert view["reply"]["allowed"] is True
        assert [(i["direction"], i["text"]) for i in view["items"] if i["direction"] == "in"] == [
            ("in", "请问面膜怎么用？")]
        sent = client.post(f"/api/profiles/{person}/replies", json={"text": "洁面后敷 15 分钟即可",
                                                                    "idempotency_key": "r-1"},
                           headers=workspace.bearer())
        assert sent.status_code == 201, sent.text
        again = client.post(f"/api/profiles/{person}/replies", json={"text": "洁面后敷 15 分钟即可",
                                                                     "idempotency_key": "r-1"},
                            headers=workspace.bearer())
        assert again.status_code == 200 and again.json()["message_id"] == sent.json()["message_id"]
        view = client.get(f"/api/profiles/{person}/conversation", headers=workspace.bearer()).json()
        assert [i["direction"] for i in view["items"] if i["direction"] in ("in", "out")][-2:] == ["in", "out"]
        assert view["items"][-1]["text"] == "洁面后敷 15 分钟即可" and view["items"][-1]["kind"] == "wechat_cs"

        clock.advance(timedelta(hours=49))
        late = client.post(f"/api/profiles/{person}/replies", json={"text": "还在吗", "idempotency_key": "r-2"},
                           headers=workspace.bearer())
        assert late.status_code == 409
        assert late.json()["error"]["code"] == "staff.reply_refused"
        assert late.json()["error"]["details"]["reason"] == "policy.outside_window"
        view = client.get(f"/api/profiles/{person}/conversation", headers=workspace.bearer()).json()
        assert view["reply"] == {"allowed": False, "reason": "policy.outside_window",
                                 "detail": view["reply"]["detail"], "channel": "wechat_cs"}


def test_another_workspace_sees_nothing(runtime, client, workspace, other_workspace) -> None:  # noqa: ANN001
    with platforms(runtime, client, workspace) as fake:
        member = _member(client, workspace, "mine", "Mine")
        person = fake.customer(client, workspace, "mine", "wmMine")
    for path in (f"/api/staff/{member['id']}", f"/api/staff/{member['id']}/customers"):
        answer = client.get(path, headers=other_workspace.bearer())
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "staff.not_found"
    assert client.get(f"/api/profiles/{person}/owners", headers=other_workspace.bearer()).status_code == 404
    assert client.get(f"/api/profiles/{person}/conversation", headers=other_workspace.bearer()).status_code == 404
