"""Group commit for callbacks: pushes share one transaction; when one push's handler fails, the group
is stored again push by push, so that push is answered 503 (the platform retries it) and keeps
nothing — its counts included — while the others in its group are committed and answered."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from siyu.callbacks import hooks, receive
from siyu.callbacks.writer import write_group
from siyu.channels.fakes.callbacks import FakeCallbacks
from siyu.runtime import Runtime


def test_one_failing_push_leaves_its_group_committed(runtime: Runtime, client: Any, workspace: Any) -> None:
    from tests.callbacks.test_endpoints import configure, platform
    from tests.callbacks.test_endpoints import events as events_of

    configure(runtime, workspace.id, wechat={"appid": "wx1f2e3d4c5b6a7980", "token": "wx-callback-token"})
    account: FakeCallbacks = platform(client, workspace.id)
    rule = client.post("/api/replies/rules", headers=workspace.bearer(), json={
        "name": "色号", "trigger": "keyword", "match": "contains", "patterns": ["色号"],
        "reply": {"msgtype": "text", "text": {"content": "#520"}}}).json()
    opened = []
    for number in range(8):
        query, body = account.signed(account.text(f"oGroup{number}", "请问色号"))
        opened.append(receive.open_callback(runtime, workspace.id, "wechat", query, body))

    def flaky(conn: Any, rt: Any, event: hooks.InboundEvent, outcome: hooks.Outcome) -> None:
        if event.fields.get("FromUserName") == "oGroup3":
            raise RuntimeError("a handler bug")

    hooks.register("wechat", "text", flaky, priority=1)
    group = [(item, Future()) for item in opened]
    try:
        write_group(runtime, group)  # the writer thread's step, on one group of eight
    finally:
        hooks._handlers[("wechat", "text")] = [e for e in hooks._handlers[("wechat", "text")] if e[2] is not flaky]
    outcomes: dict[int, Any] = {}
    for number, (_, future) in enumerate(group):
        try:
            outcomes[number] = future.result(timeout=0).events
        except RuntimeError as error:
            outcomes[number] = error
    assert isinstance(outcomes.pop(3), RuntimeError)
    assert outcomes == {n: 1 for n in range(8) if n != 3}
    assert all(future.result().reply is not None for n, (_, future) in enumerate(group) if n != 3)
    counted = client.get(f"/api/replies/rules/{rule['id']}", headers=workspace.bearer()).json()
    assert counted["match_count"] == 7  # the failed push's match was rolled back with it
    for number in range(8):
        found = client.get("/api/profiles/lookup", headers=workspace.bearer(),
                           params={"type": "wechat_openid:wx1f2e3d4c5b6a7980", "value": f"oGroup{number}"})
        if number == 3:
            assert found.status_code == 404  # nothing of the failed push was kept
        else:
            assert [e["name"] for e in events_of(client, workspace, "wechat_openid:wx1f2e3d4c5b6a7980",
                                                 f"oGroup{number}")] == ["Message Received"]


def test_a_failing_handler_is_a_503_and_the_retry_is_stored_once(runtime: Runtime, client: Any,
                                                                  workspace: Any) -> None:
    from tests.callbacks.test_endpoints import configure, platform
    from tests.callbacks.test_endpoints import events as events_of

    configure(runtime, workspace.id, wechat={"appid": "wx1f2e3d4c5b6a7980", "token": "wx-callback-token"})
    account: FakeCallbacks = platform(client, workspace.id)
    broken = [True]

    def flaky(conn: Any, rt: Any, event: hooks.InboundEvent, outcome: hooks.Outcome) -> None:
        if broken[0]:
            raise RuntimeError("a handler bug")

    hooks.register("wechat", "text", flaky, priority=1)
    try:
        failed = account.push(account.text("oWriter1", "你好"))
        assert failed.status_code == 503 and failed.json()["error"]["code"] == "receipts.unavailable"
        broken[0] = False
        assert account.resend().status_code == 200  # WeChat retries the same push
        assert account.resend().status_code == 200  # and again: a duplicate now
    finally:
        hooks._handlers[("wechat", "text")] = [e for e in hooks._handlers[("wechat", "text")] if e[2] is not flaky]
    received = [e for e in events_of(client, workspace, "wechat_openid:wx1f2e3d4c5b6a7980", "oWriter1")
                if e["name"] == "Message Received"]
    assert len(received) == 1
