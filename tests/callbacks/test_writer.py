"""Group commit for callbacks: pushes share one transaction, each in its own savepoint, so one push
whose handler fails is answered 503 (the platform retries it) and keeps nothing, while the others
in its group are committed and answered."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select

from siyu.callbacks import hooks
from siyu.callbacks.writer import CallbackWriter
from siyu.channels.fakes.callbacks import FakeCallbacks
from siyu.db.engine import read
from siyu.db.tables import events
from siyu.ingest import store as ingest_store
from siyu.runtime import Runtime


def _row(workspace_id: int, message_id: str) -> tuple[Any, ...]:
    return (workspace_id, None, message_id, "track", "Writer Test", None, None, 0, None, 0, "test", None, None, None)


def test_one_failing_push_leaves_its_group_committed(runtime: Runtime, workspace: Any) -> None:
    writer = CallbackWriter(runtime)
    outcomes: dict[int, Any] = {}

    def push(number: int) -> None:
        def work(conn: Any) -> int:
            ingest_store.append_events(conn, workspace.id, [_row(workspace.id, f"w{number}")])
            if number == 3:
                raise RuntimeError("a handler bug")
            return number

        try:
            outcomes[number] = writer.run(work)
        except RuntimeError as error:
            outcomes[number] = error

    threads = [threading.Thread(target=push, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.stop()
    assert isinstance(outcomes.pop(3), RuntimeError)
    assert outcomes == {n: n for n in range(8) if n != 3}
    with read(runtime.engine) as conn:
        stored = set(conn.execute(select(events.c.message_id).where(events.c.workspace_id == workspace.id)).scalars())
    assert stored == {f"w{n}" for n in range(8) if n != 3}


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
