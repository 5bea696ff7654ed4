"""The resolver's speed paths keep behaviour: the collector pause, the queue's range delete on
SQLite, COPY of event rows on PostgreSQL, and identifiers as named tuples."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, ingest_queue
from siyu.identity.models import Identifier, IdentifierKind
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest import collector, queue
from siyu.ingest import store as ingest_store
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.runtime import Runtime


def test_the_collector_is_paused_inside_and_restored_after_the_outermost_pause() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still runs
    assert gc.isenabled()


def test_a_pause_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_from_threads_end_with_the_collector_on() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector.paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    with collector.paused():
        thread.start()
        inside.wait(5)
    assert not gc.isenabled()  # the other thread's pause is still open
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_a_pause_ends_with_the_collector_on_when_the_body_raises() -> None:
    with pytest.raises(ValueError), collector.paused():
        raise ValueError("boom")
    assert gc.isenabled()


def _queue(rt: Runtime, workspace_id: int, count: int) -> list[int]:
    message = parse_message({"type": "track", "event": "E", "userId": "u", "messageId": "m"},
                            received_at=clock.now())
    with write(rt.engine) as conn:
        ingest_store.enqueue(conn, workspace_id, [queue.encode(message, [])] * count)
        return [row_id for row_id, _ in ingest_store.take_queued(conn, workspace_id, 1000)][-count:]


def _left(rt: Runtime, workspace_id: int) -> list[int]:
    with read(rt.engine) as conn:
        return list(conn.execute(select(ingest_queue.c.id).where(ingest_queue.c.workspace_id == workspace_id)
                                 .order_by(ingest_queue.c.id)).scalars())


def test_drop_queued_deletes_exactly_the_rows_taken(runtime: Runtime, workspace, other_workspace) -> None:
    ours = _queue(runtime, workspace.id, 3)
    theirs = _queue(runtime, other_workspace.id, 2)
    more = _queue(runtime, workspace.id, 2)  # queued after the other workspace's rows
    with write(runtime.engine) as conn:
        taken = [row_id for row_id, _ in ingest_store.take_queued(conn, workspace.id, 4)]
        ingest_store.drop_queued(conn, workspace.id, taken)
    assert taken == [*ours, more[0]]
    assert _left(runtime, workspace.id) == [more[1]]
    assert _left(runtime, other_workspace.id) == theirs


def test_drop_queued_refuses_a_set_that_is_not_what_was_taken(runtime: Runtime, workspace) -> None:
    """On SQLite the delete is a range; a gap in the ids means the caller did not pass the oldest
    rows it took, and the transaction must not commit (on PostgreSQL the ids are deleted as given)."""
    ids = _queue(runtime, workspace.id, 3)
    if runtime.engine.dialect.name == "postgresql":
        with write(runtime.engine) as conn:
            ingest_store.drop_queued(conn, workspace.id, [ids[0], ids[2]])
        assert _left(runtime, workspace.id) == [ids[1]]
        return
    with pytest.raises(RuntimeError), write(runtime.engine) as conn:
        ingest_store.drop_queued(conn, workspace.id, [ids[0], ids[2]])
    assert _left(runtime, workspace.id) == ids


def test_event_rows_keep_awkward_text_exactly(runtime: Runtime, workspace) -> None:
    """PostgreSQL appends events with COPY: tabs, new lines, backslashes, quotes and CJK text in any
    column must come back as sent."""
    awkward = "a\tb\nc\\d\r\"e\" 小细跟口红 \\N"
    raw: dict[str, Any] = {"type": "track", "event": f"Viewed {awkward}", "userId": f"u {awkward}",
                           "anonymousId": "dev\\1", "messageId": "awkward-1",
                           "properties": {"name": awkward, "nested": {"k\t": [awkward, None, 1.5]}},
                           "context": {"page": {"title": awkward}}}
    with write(runtime.engine) as conn:
        ingest(conn, workspace.id, [parse_message(raw, received_at=clock.now())], rules=DEFAULT_RULES)
    with read(runtime.engine) as conn:
        row = conn.execute(select(events).where(events.c.workspace_id == workspace.id)).one()
    assert (row.name, row.user_id, row.anonymous_id) == (f"Viewed {awkward}", f"u {awkward}", "dev\\1")
    assert row.properties == raw["properties"]
    assert row.context["page"] == {"title": awkward}
    assert row.profile_id is not None


def test_identifiers_compare_hash_and_order_by_type_then_value() -> None:
    phone = Identifier(IdentifierKind.PHONE, "+8613800138000")
    assert phone == Identifier("phone", "+8613800138000")
    assert hash(phone) == hash(Identifier("phone", "+8613800138000"))
    assert sorted([Identifier("phone", "b"), Identifier("email", "z"), Identifier("phone", "a")]) == [
        Identifier("email", "z"), Identifier("phone", "a"), Identifier("phone", "b")]
    openid = Identifier("wechat_openid:wx123", "o-1")
    assert (openid.kind, openid.scope, phone.scope) == (IdentifierKind.WECHAT_OPENID, "wx123", None)
    assert openid.as_dict() == {"type": "wechat_openid:wx123", "value": "o-1"}
    message = parse_message({"type": "track", "event": "E", "userId": "u", "messageId": "m"}, received_at=clock.now())
    assert queue.decode(queue.encode(message, [phone, openid]))[1] == [phone, openid]
