"""Concurrent ingest never splits one new person into two profiles.

The argument is in :func:`siyu.identity.store.lock_identity_graph`: resolution is
read-decide-write, so it is serialised per workspace (advisory lock on PostgreSQL, BEGIN
IMMEDIATE on SQLite). This test races real threads, each with its own connection, all sending
events for the same brand-new people at once.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, identities, profiles
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.runtime import Runtime

THREADS = 8
PEOPLE = 20


def test_racing_batches_for_the_same_new_people_create_one_profile_each(runtime: Runtime, workspace) -> None:
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def sender(thread: int) -> None:
        try:
            messages = [parse_message({"type": "identify", "anonymousId": f"t{thread}-p{person}",
                                       "traits": {"phone": f"1380013{person:04d}"},
                                       "messageId": f"t{thread}-p{person}"}, received_at=clock.now())
                        for person in range(PEOPLE)]
            barrier.wait(timeout=30)
            with write(runtime.engine) as conn:
                ingest(conn, workspace.id, messages, rules=DEFAULT_RULES)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=sender, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with read(runtime.engine) as conn:
        phone_owners = conn.execute(select(identities.c.value, identities.c.profile_id).where(
            identities.c.workspace_id == workspace.id, identities.c.type == "phone")).all()
        live = conn.execute(select(func.count()).select_from(profiles).where(
            profiles.c.workspace_id == workspace.id, profiles.c.merged_into.is_(None))).scalar_one()
        stored = conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace.id)).scalar_one()
        anonymous = conn.execute(select(func.count(func.distinct(identities.c.profile_id))).where(
            identities.c.workspace_id == workspace.id, identities.c.type == "anonymous_id")).scalar_one()
    assert len(phone_owners) == PEOPLE
    assert live == PEOPLE  # one profile per phone, whatever the interleaving
    assert anonymous == PEOPLE  # every thread's anonymous id joined that person
    assert stored == THREADS * PEOPLE
