"""kill -9 of a real `siyu worker` in the middle of a journey, then a restart: every person gets
each of the journey's messages exactly once, and no due step is lost.

The journey sends, waits three seconds and sends again, to a few hundred people entered by
events. The first worker is killed as soon as the first messages are queued — somewhere in the
event pass or among the advances, between two of its transactions or inside one — so people are
left at every stage: not entered yet, entered but not advanced, waiting. A second worker then
runs until everyone has finished.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu import clock
from siyu.db.engine import make_engine, read, write
from siyu.db.migrate import upgrade
from siyu.db.tables import journey_entries, messages
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.journeys import lifecycle
from siyu.workspaces import store as workspace_store

pytestmark = pytest.mark.slow
PEOPLE = 300
MAIL = {"channel": "email", "content": {"subject": "s", "text": "t"}}
DEFINITION = {"trigger": {"event": "Joined"},
              "steps": [{"id": "hello", "send": MAIL}, {"id": "pause", "wait": "3s"}, {"id": "bye", "send": MAIL}]}


def _worker(database_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SIYU_DATABASE_URL": database_url, "SIYU_DATA_DIR": str(tmp_path),
           "SIYU_LOG_LEVEL": "warning"}
    return subprocess.Popen([sys.executable, "-m", "siyu", "worker", "--interval", "0.2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _state(engine: Any, workspace_id: int, journey_id: int) -> tuple[Counter[str], Counter[str]]:
    """(outbox keys' step part → count, entry status → count)."""
    with read(engine) as conn:
        keys = conn.execute(select(messages.c.idempotency_key).where(
            messages.c.workspace_id == workspace_id, messages.c.source == f"journey:{journey_id}")).scalars().all()
        statuses = Counter(dict(conn.execute(select(journey_entries.c.status, func.count()).where(
            journey_entries.c.workspace_id == workspace_id, journey_entries.c.journey_id == journey_id)
            .group_by(journey_entries.c.status)).all()))
    return Counter(key.split(":")[3] for key in keys), statuses


def _wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_kill_9_mid_journey_repeats_no_send_and_loses_no_step(own_database_url: str, tmp_path: Path) -> None:
    database_url = own_database_url  # the worker claims across workspaces: no other test's rows
    engine = make_engine(database_url)
    upgrade(engine)
    worker: subprocess.Popen[bytes] | None = None
    try:
        with write(engine) as conn:
            workspace = workspace_store.create_workspace(conn, f"journey-crash{os.getpid()}")
            journey = lifecycle.create(conn, workspace.id, name="crash", description=None, definition=DEFINITION,
                                       actor="test", now=clock.now())
            lifecycle.publish(conn, workspace.id, journey.id, actor="test", now=clock.now())
            joined = [parse_message({"type": "track", "userId": f"p{n}", "event": "Joined"}, received_at=clock.now())
                      for n in range(PEOPLE)]
            ingest(conn, workspace.id, joined, rules=DEFAULT_RULES)

        worker = _worker(database_url, tmp_path)
        try:
            assert _wait_for(lambda: _state(engine, workspace.id, journey.id)[0]["hello"] > 0, 60), \
                "the worker never started the journey"
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(30)
        sent, statuses = _state(engine, workspace.id, journey.id)
        assert sent["bye"] == 0 and statuses["completed"] == 0, (sent, statuses)  # killed mid-journey
        assert sent["hello"] < PEOPLE or sum(statuses.values()) < PEOPLE, (sent, statuses)

        worker = _worker(database_url, tmp_path)
        assert _wait_for(lambda: _state(engine, workspace.id, journey.id)[1]["completed"] == PEOPLE, 120), \
            _state(engine, workspace.id, journey.id)
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        worker = None

        sent, statuses = _state(engine, workspace.id, journey.id)
        assert sent == {"hello": PEOPLE, "bye": PEOPLE}  # each step's message once per person, none lost
        assert statuses == {"completed": PEOPLE}
        with read(engine) as conn:
            per_person = Counter(conn.execute(select(messages.c.profile_id).where(
                messages.c.workspace_id == workspace.id, messages.c.source == f"journey:{journey.id}")).scalars())
        assert set(per_person.values()) == {2} and len(per_person) == PEOPLE
    finally:
        if worker is not None and worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(30)
        engine.dispose()
