"""The per-process cache of identifier owners is never trusted after the graph changed elsewhere,
and never keeps what a rolled-back batch wrote."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, profiles
from siyu.identity import owner_cache
from siyu.identity.rules import DEFAULT_RULES
from siyu.profiles.editing import merge_profiles
from siyu.profiles.read_store import erase_profile
from siyu.runtime import Runtime
from tests.ingest.test_pipeline import owner, send


def _profile_of(runtime: Runtime, workspace_id: int, message_id: str) -> int | None:
    with read(runtime.engine) as conn:
        return conn.execute(select(events.c.profile_id).where(events.c.workspace_id == workspace_id,
                                                              events.c.message_id == message_id)).scalar_one()


def test_an_erasure_elsewhere_is_seen_by_the_next_batch(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, {"type": "identify", "userId": "u1", "traits": {"phone": "13800138001"}})
    send(runtime, workspace.id, {"type": "track", "userId": "u1", "event": "Viewed", "messageId": "before"})
    person = _profile_of(runtime, workspace.id, "before")
    with write(runtime.engine) as conn:  # as another process would: straight to the database
        erase_profile(conn, workspace.id, person, actor="test", reason=None, at=clock.now())
    send(runtime, workspace.id, {"type": "track", "userId": "u1", "event": "Viewed", "messageId": "after"})
    after = _profile_of(runtime, workspace.id, "after")
    assert after is not None and after != person  # a new person, not the erased one from the cache
    assert owner(runtime, workspace.id, "user_id", "u1") == after


def test_a_manual_merge_elsewhere_is_seen_by_the_next_batch(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, {"type": "track", "userId": "a", "event": "Viewed", "messageId": "a1"},
         {"type": "track", "userId": "b", "event": "Viewed", "messageId": "b1"})
    first, second = _profile_of(runtime, workspace.id, "a1"), _profile_of(runtime, workspace.id, "b1")
    with write(runtime.engine) as conn:
        merge_profiles(conn, workspace.id, first, second, DEFAULT_RULES, force=True, actor="test")
    send(runtime, workspace.id, {"type": "track", "userId": "b", "event": "Viewed", "messageId": "b2"})
    assert _profile_of(runtime, workspace.id, "b2") == first


def test_links_of_a_rolled_back_batch_are_forgotten(runtime: Runtime, workspace) -> None:
    from siyu.ingest.pipeline import ingest
    from siyu.ingest.spec import parse_message

    message = parse_message({"type": "identify", "userId": "ghost", "messageId": "g1"}, received_at=clock.now())
    with pytest.raises(RuntimeError), write(runtime.engine) as conn:
        ingest(conn, workspace.id, [message], rules=DEFAULT_RULES)
        raise RuntimeError("the transaction fails after the pipeline ran")
    assert owner(runtime, workspace.id, "user_id", "ghost") is None
    send(runtime, workspace.id, {"type": "track", "userId": "ghost", "event": "Viewed", "messageId": "g2"})
    person = _profile_of(runtime, workspace.id, "g2")
    with read(runtime.engine) as conn:
        row = conn.execute(select(profiles.c.id).where(profiles.c.workspace_id == workspace.id,
                                                       profiles.c.id == person)).one_or_none()
    assert row is not None  # the event points at a profile that exists, not the rolled-back one
    assert owner(runtime, workspace.id, "user_id", "ghost") == person


def test_the_cache_is_per_database_and_workspace(runtime: Runtime, workspace, other_workspace) -> None:
    send(runtime, workspace.id, {"type": "track", "userId": "same", "event": "Viewed", "messageId": "w1"})
    send(runtime, other_workspace.id, {"type": "track", "userId": "same", "event": "Viewed", "messageId": "w2"})
    assert _profile_of(runtime, workspace.id, "w1") != _profile_of(runtime, other_workspace.id, "w2")
    with read(runtime.engine) as conn:
        assert owner_cache.for_workspace(conn, workspace.id) is not owner_cache.for_workspace(conn,
                                                                                               other_workspace.id)
