"""The newest event id of a workspace (where log consumers start, and whether they have anything new),
found from the log's newest ids when the workspace wrote lately and from its index otherwise."""

from __future__ import annotations

import pytest

from siyu.db.engine import read
from siyu.ingest import store
from siyu.runtime import Runtime
from tests.ingest.test_pipeline import send


def _track(runtime: Runtime, workspace_id: int, count: int) -> None:
    send(runtime, workspace_id, *({"type": "track", "userId": f"u{n}", "event": "Viewed"} for n in range(count)))


def test_newest_event_id_from_recent_ids_and_from_the_index(runtime: Runtime, workspace, other_workspace,  # noqa: ANN001
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "RECENT", 3)  # the log's last three ids are looked at first
    with read(runtime.engine) as conn:
        assert store.newest_event_id(conn, workspace.id) == 0  # nothing yet
    _track(runtime, workspace.id, 2)
    with read(runtime.engine) as conn:
        mine = store.newest_event_id(conn, workspace.id)
        assert mine > 0 and mine == _max_id(conn, workspace.id)
    _track(runtime, other_workspace.id, 5)  # the other workspace writes the log's newest ids
    with read(runtime.engine) as conn:
        assert store.newest_event_id(conn, workspace.id) == mine  # not among the last three: from the index
        assert store.newest_event_id(conn, other_workspace.id) == _max_id(conn, other_workspace.id)
        assert store.newest_event_id(conn, 10**9) == 0


def _max_id(conn, workspace_id: int) -> int:  # noqa: ANN001
    from sqlalchemy import func, select

    from siyu.db.tables import events

    return int(conn.execute(select(func.max(events.c.id)).where(events.c.workspace_id == workspace_id)).scalar_one())
