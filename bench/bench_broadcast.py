"""A broadcast to 1M people through every contact policy into the outbox: decisions per second.

    python bench/bench_broadcast.py --database sqlite --profiles 1000000
    python bench/bench_broadcast.py --database postgres --profiles 1000000

Builds a fresh database (not timed) with ``--profiles`` people in one segment, loaded in bulk: a
phone for 90 %, SMS marketing consent granted by 70 % and revoked by 3 %, and for 15 % one to three
marketing SMS already sent in the last ten days and for 2 % three today (so the daily and weekly caps
and the cooldown have work to do). Then a marketing SMS broadcast to the segment is fanned out by the
worker's own code (``siyu.messaging.broadcasts.fan_out_due``, chunks of 5,000 people: members and
facts read set-based, every person's verdict by ``policies.decide``, one outbox row per person —
queued, deferred or stopped with its reason — written with the cursor in one transaction per chunk
by a writer thread while the next chunk is decided). Timed from the first chunk to the last.

Floor: the rows the fan-out wrote (each person's status, reason, detail and due time), written again
under another source by the same ``broadcast_store.queue_many`` (COPY on PostgreSQL, one INSERT …
SELECT over a JSON array on SQLite) in transactions of the same size, with no members to read and
nothing to decide — what the fan-out would cost if the policy were free. Prints decisions per
second, the ratio to the floor, the verdicts by reason and the load average (the machine is shared:
2 cores).

``--goal``: the broadcast measures ``Order Completed`` with ``total >= 100`` within 7 days against a
10 % holdout (kept back at the fan-out). After the fan-out its messages are marked sent and orders
are loaded for about a tenth of the people over ten days (some outside the window, some too small);
then the broadcast's conversions (``siyu.messaging.broadcasts.conversions``, what ``GET
/api/broadcasts/{id}`` computes) are timed, best of three, against their floor: the same two reads
(the measured members, the goal events in the period) with nothing matched or counted.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siyu import clock  # noqa: E402
from siyu.config import Config  # noqa: E402
from siyu.db import driver  # noqa: E402
from siyu.db.engine import read, refresh_statistics, write  # noqa: E402
from siyu.db.types import to_millis  # noqa: E402
from siyu.runtime import Runtime  # noqa: E402

NOW = datetime(2026, 11, 11, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai: outside quiet hours
LOAD_ROWS = 50_000
SMS = {"sign_name": "完美日记", "template_code": "SMS_1111", "params": {"name": "亲"}}


def fresh_url(database: str, workdir: Path) -> str:
    if database == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    import psycopg

    name = f"siyu_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop(url: str) -> None:
    if url.startswith("postgresql"):
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cpu_seconds(url: str) -> tuple[float, float]:
    """CPU time so far of this process (every thread; SQLite's work included) and of the PostgreSQL
    backends serving the bench's database (/proc/PID/stat fields 14 and 15): the figures least
    distorted by other work on the machine."""
    database = 0.0
    if url.startswith("postgresql"):
        name = url.rsplit("/", 1)[1].encode()
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and name in (entry / "cmdline").read_bytes():
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    database += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                continue  # a backend that ended meanwhile
    return time.process_time(), database


def _load(rt: Runtime, sql: str, rows: list[tuple]) -> None:
    for start in range(0, len(rows), LOAD_ROWS):
        with write(rt.engine) as conn:
            driver.execute_many(conn, sql, rows[start:start + LOAD_ROWS])


GOAL = {"event": "Order Completed", "where": [{"property": "total", "op": "gte", "value": 100}], "within": "7d"}


def measure_goal(rt: Runtime, broadcast: dict, people: int, seed: int) -> None:
    """Mark the broadcast's messages sent, load orders, and time its conversions against their floor."""
    from siyu.messaging import broadcast_goals, broadcast_store, broadcasts

    rng = random.Random(seed + 1)
    workspace_id, source = broadcast["workspace_id"], f"broadcast:{broadcast['id']}"
    with write(rt.engine) as conn:
        conn.exec_driver_sql(f"UPDATE messages SET status = 'sent', sent_at = due_at WHERE workspace_id = "
                             f"{workspace_id} AND source = '{source}' AND status = 'queued'")
    json_mark = "CAST(? AS JSONB)" if rt.engine.dialect.name == "postgresql" else "?"
    orders = []
    for pid in range(1_000_001, 1_000_001 + people):
        if rng.random() < 0.1:
            at = to_millis(NOW + timedelta(hours=rng.uniform(1, 240)))
            total = rng.choice((59, 129, 199, 299))
            orders.append((workspace_id, pid, f"order-{pid}", at, at, f'{{"total": {total}}}'))
    _load(rt, f"INSERT INTO events (workspace_id, profile_id, message_id, type, name, timestamp, received_at, source, "
              f"properties) VALUES (?, ?, ?, 'track', 'Order Completed', ?, ?, 'bench', {json_mark})", orders)
    refresh_statistics(rt.engine)
    now = NOW + timedelta(days=10)
    with read(rt.engine) as conn:
        stored = broadcast_store.get(conn, workspace_id, broadcast["id"])
    assert stored is not None
    ours, base, measured = [], [], {}
    for _ in range(3):
        with read(rt.engine) as conn:
            started = time.perf_counter()
            measured = broadcasts.conversions(conn, stored, now)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            members = broadcast_store.measured_members(conn, workspace_id, broadcast["id"],
                                                       broadcast_goals.HOLDOUT_REASON)
            broadcast_store.goal_events(conn, workspace_id, "Order Completed", min(at for _, _, at in members),
                                        max(at for _, _, at in members) + timedelta(days=7))
            base.append(time.perf_counter() - started)
    treatment, holdout = measured["treatment"], measured["holdout"]
    print(f"goal: {len(orders):,} orders loaded; treatment {treatment['converted']:,}/{treatment['people']:,} "
          f"converted (revenue {treatment['revenue']:,.0f}), holdout {holdout['converted']:,}/{holdout['people']:,}, "
          f"lift {measured['lift']}")
    print(f"conversions: {min(ours):.2f} s (best of 3; {', '.join(f'{t:.2f}' for t in ours)}); floor, the two reads: "
          f"{min(base):.2f} s; ratio to the floor {min(base) / min(ours):.2f}")


def populate(rt: Runtime, workspace_id: int, people: int, seed: int) -> int:
    """Profiles, phones, consents, recent sends and one segment of everyone; returns the segment id."""
    from siyu.db.tables import segments

    rng = random.Random(seed)
    moment = to_millis(NOW)
    json_mark = "CAST(? AS JSONB)" if rt.engine.dialect.name == "postgresql" else "?"
    first = 1_000_001
    ids = range(first, first + people)
    _load(rt, f"INSERT INTO profiles (id, workspace_id, created_at, updated_at, traits, trait_meta) "
              f"VALUES (?, ?, ?, ?, {json_mark}, {json_mark})", [(pid, workspace_id, moment, moment, "{}", "{}")
                                                                 for pid in ids])
    _load(rt, "INSERT INTO identities (workspace_id, type, value, profile_id, first_seen_at, last_seen_at, source) "
              "VALUES (?, 'phone', ?, ?, ?, ?, 'bench')",
          [(workspace_id, f"+86138{pid:08d}", pid, moment, moment) for pid in ids if rng.random() < 0.9])
    consent = []
    for pid in ids:
        roll = rng.random()
        if roll < 0.73:
            consent.append((workspace_id, pid, "granted" if roll < 0.70 else "revoked", moment))
    _load(rt, "INSERT INTO consents (workspace_id, profile_id, channel, purpose, status, source, updated_at) "
              "VALUES (?, ?, 'sms', 'marketing', ?, 'bench', ?)", consent)
    sent = []
    for pid in ids:
        roll = rng.random()
        if roll < 0.17:  # 2 % had three today (the daily cap), 15 % one to three in ten days
            heavy = roll < 0.02
            for n in range(3 if heavy else rng.randint(1, 3)):
                at = to_millis(NOW - timedelta(hours=rng.uniform(0.5, 12 if heavy else 240)))
                sent.append((workspace_id, pid, f"history:{pid}:{n}", at, at, at, at))
    _load(rt, f"INSERT INTO messages (workspace_id, profile_id, channel, purpose, source, idempotency_key, status, "
              f"payload, due_at, attempts, created_at, updated_at, sent_at) "
              f"VALUES (?, ?, 'sms', 'marketing', 'history', ?, 'sent', {json_mark}, ?, 1, ?, ?, ?)",
          [(w, p, k, "{}", d, c, u, s) for w, p, k, d, c, u, s in sent])
    with write(rt.engine) as conn:
        segment_id = conn.execute(segments.insert().values(
            workspace_id=workspace_id, name="everyone", definition={"trait": "cohort", "op": "eq", "value": "bench"},
            status="active",
            created_at=NOW, updated_at=NOW).returning(segments.c.id)).scalar_one()
    _load(rt, "INSERT INTO segment_members (workspace_id, segment_id, profile_id, entered_at) VALUES (?, ?, ?, ?)",
          [(workspace_id, segment_id, pid, moment) for pid in ids])
    refresh_statistics(rt.engine)
    return segment_id


def floor(rt: Runtime, broadcast: dict, people: int, chunk: int) -> tuple[float, float, float]:
    """The outbox rows alone: the rows the fan-out wrote (each person's status, reason, detail and
    due time), written again under another source by the same ``queue_many`` in transactions of
    the same size — nothing read or decided."""
    from siyu.messaging import broadcast_store

    with read(rt.engine) as conn:
        rows = driver.rows(conn, "SELECT profile_id, status, reason, detail, due_at FROM messages "
                                 "WHERE workspace_id = ? AND source = ? ORDER BY profile_id",
                           [broadcast["workspace_id"], f"broadcast:{broadcast['id']}"])
    assert len(rows) == people
    again = {**broadcast, "id": f"{broadcast['id']}-floor"}
    url = rt.engine.url.render_as_string(hide_password=False)
    cpu_before, started = cpu_seconds(url), time.perf_counter()
    for start in range(0, people, chunk):
        with write(rt.engine) as conn:
            broadcast_store.queue_many(conn, again, rows[start:start + chunk], NOW)
    elapsed, cpu_after = time.perf_counter() - started, cpu_seconds(url)
    return elapsed, cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--goal", action="store_true", help="Measure a goal against a 10 %% holdout, and time it.")
    arguments = parser.parse_args()
    from sqlalchemy import func, select

    from siyu.db.tables import messages
    from siyu.messaging import broadcasts
    from siyu.messaging.models import Channel, Purpose
    from siyu.workspaces import store as workspace_store

    workdir = Path(tempfile.mkdtemp(prefix="siyu-bench-broadcast-"))
    url = fresh_url(arguments.database, workdir)
    rt = Runtime.from_config(Config(data_dir=workdir, database_url=url, secret="bench"), migrate=True)
    try:
        clock.freeze(NOW)
        started = time.perf_counter()
        with write(rt.engine) as conn:
            workspace = workspace_store.create_workspace(conn, "bench")
        segment_id = populate(rt, workspace.id, arguments.profiles, arguments.seed)
        print(f"{arguments.database}: {arguments.profiles:,} people loaded in {time.perf_counter() - started:.0f} s")
        with write(rt.engine) as conn:
            broadcast = broadcasts.create(conn, workspace.id, name="双11", segment_id=segment_id, channel=Channel.SMS,
                                          purpose=Purpose.MARKETING, content=SMS, send_at=None, rate_per_minute=None,
                                          created_by="bench", now=NOW, goal=GOAL if arguments.goal else None,
                                          holdout_percent=10 if arguments.goal else 0)
        load_before = "/".join(f"{x:.1f}" for x in os.getloadavg())
        cpu_before, started = cpu_seconds(url), time.perf_counter()
        decided = broadcasts.fan_out_due(rt.engine, workspace_id=workspace.id)
        ours, cpu_after = time.perf_counter() - started, cpu_seconds(url)
        base, base_python, base_database = floor(rt, broadcast, arguments.profiles, broadcasts.CHUNK)
        load_after = "/".join(f"{x:.1f}" for x in os.getloadavg())
        with read(rt.engine) as conn:
            verdicts = conn.execute(select(messages.c.status, messages.c.reason, func.count()).where(
                messages.c.source == f"broadcast:{broadcast['id']}").group_by(messages.c.status, messages.c.reason)
                .order_by(func.count().desc())).all()
        assert decided == arguments.profiles == sum(v[2] for v in verdicts), (decided, verdicts)
        print(f"fan-out with every policy: {decided:,} decisions in {ours:.1f} s = {decided / ours:,.0f} decisions/s")
        print(f"floor (the same rows, nothing decided): {base:.1f} s = {arguments.profiles / base:,.0f} rows/s; "
              f"ratio to the floor {base / ours:.2f}")
        python, database = (after - before for after, before in zip(cpu_after, cpu_before, strict=True))
        print(f"CPU per person: fan-out {python / decided * 1e6:.1f} µs in Python (SQLite included) + "
              f"{database / decided * 1e6:.1f} µs in PostgreSQL; floor {base_python / decided * 1e6:.1f} + "
              f"{base_database / decided * 1e6:.1f} µs")
        print("verdicts: " + ", ".join(f"{status}{':' + reason if reason else ''} {count:,}"
                                       for status, reason, count in verdicts))
        print(f"load average 1/5/15 before {load_before}, after {load_after}")
        if arguments.goal:
            measure_goal(rt, broadcast, arguments.profiles, arguments.seed)
    finally:
        rt.engine.dispose()
        drop(url)


if __name__ == "__main__":
    main()
