"""CPU per event of the deferred resolver, in process, as a ratio to a bare insert floor.

    python bench/bench_resolver.py --database sqlite|postgres [--batches 200] [--rounds 3] [--profile FILE]

No HTTP and no server: wall-clock throughput on the shared 2-core machine is meaningless, CPU time is
not. A fixed, seeded data set: PEOPLE customers identified first (through the queue and the resolver,
as the server would), then ``--rounds`` rounds of ``--batches`` benchmark batches
(``bench_ingest.make_batch``: 100 track events each) queued exactly as the server's writer queues
them (validated, messageIds claimed, encoded) and timed through
:func:`siyu.ingest.resolver.resolve_queued`. Reports per round: CPU µs per event of this process
(``time.process_time``) and, on PostgreSQL, of the database backend serving it (``/proc/PID/stat``,
the server is on the same machine). The floor, in the same run: the same event rows inserted bare by
:func:`siyu.ingest.store.append_events`, 5,000 per commit (the resolver's batch), timed the same way.
``--profile FILE`` writes a cProfile (CPU time) of the last round and prints its top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_ingest import BATCH, drop_database, identify_bodies, make_batch  # noqa: E402

from siyu import clock  # noqa: E402
from siyu.config import Config, normalise_database_url  # noqa: E402
from siyu.db import driver  # noqa: E402
from siyu.db.engine import write  # noqa: E402
from siyu.db.types import to_millis  # noqa: E402
from siyu.identity.rules import IdentityRules  # noqa: E402
from siyu.ingest import queue, resolver  # noqa: E402
from siyu.ingest import store as ingest_store  # noqa: E402
from siyu.ingest.http import messages_of  # noqa: E402
from siyu.ingest.pipeline import claim  # noqa: E402
from siyu.runtime import Runtime  # noqa: E402
from siyu.workspaces import store as workspace_store  # noqa: E402


def backend_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(rt: Runtime) -> list[int]:
    """The PostgreSQL backends of the engine's pooled connections (the resolver uses one at a time)."""
    if rt.engine.dialect.name != "postgresql":
        return []
    with rt.engine.connect() as conn:
        return [r[0] for r in driver.rows(conn, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                                "AND pid <> pg_backend_pid()")] + [
            driver.rows(conn, "SELECT pg_backend_pid()")[0][0]]


def queue_bodies(rt: Runtime, workspace_id: int, rules: IdentityRules, bodies: list[bytes]) -> None:
    """What the server's writer does before it acknowledges (siyu.ingest.writer, deferred)."""
    for body in bodies:
        messages, identifiers = messages_of(orjson.loads(body), type_=None, body_size=len(body),
                                            received_at=clock.now(), rules=rules, region="CN")
        with write(rt.engine) as conn:
            _, batch = claim(conn, workspace_id, messages, identifiers, clock.now() + timedelta(days=7))
            ingest_store.enqueue(conn, workspace_id, [queue.encode(m, i) for m, i in batch])


def timed(rt: Runtime, work) -> tuple[float, float]:  # noqa: ANN001
    pids = backend_pids(rt)
    cpu, backend = time.process_time(), sum(backend_cpu(p) for p in pids)
    work()
    return time.process_time() - cpu, sum(backend_cpu(p) for p in backend_pids(rt)) - backend


def floor_rows(workspace_id: int, bodies: list[bytes], tag: str) -> list[tuple]:
    now = to_millis(clock.now())
    return [(workspace_id, 1, f"{m['messageId']}-{tag}", "track", m["event"], m["anonymousId"], m["userId"], now, now,
             now, "floor", orjson.dumps(m["properties"]).decode(), None, orjson.dumps(m["context"]).decode())
            for body in bodies for m in orjson.loads(body)["batch"]]


def bare_insert(rt: Runtime, rows: list[tuple]) -> None:
    for start in range(0, len(rows), resolver.BATCH):
        with write(rt.engine) as conn:
            ingest_store.append_events(conn, rows[0][0], rows[start:start + resolver.BATCH])


def run(args: argparse.Namespace, url: str, folder: Path) -> None:
    rt = Runtime.from_config(Config(data_dir=folder, database_url=normalise_database_url(url), secret="bench"),
                             migrate=True)
    with write(rt.engine) as conn:
        workspace = workspace_store.create_workspace(conn, "bench")
    rules = IdentityRules.from_settings(workspace.settings)
    queue_bodies(rt, workspace.id, rules, identify_bodies())
    resolver.resolve_queued(rt.engine)
    rnd = random.Random(args.seed)
    for number in range(args.rounds):
        bodies = [make_batch(rnd, number * args.batches + n) for n in range(args.batches)]
        queue_bodies(rt, workspace.id, rules, bodies)
        events = args.batches * BATCH
        profiler = cProfile.Profile(time.process_time) if args.profile and number == args.rounds - 1 else None
        if profiler:
            profiler.enable()
        cpu, backend = timed(rt, lambda: resolver.resolve_queued(rt.engine))
        if profiler:
            profiler.disable()
        rows = floor_rows(workspace.id, bodies, f"floor{number}")
        floor_cpu, floor_backend = timed(rt, lambda rows=rows: bare_insert(rt, rows))
        us, floor_us = (cpu + backend) / events * 1e6, (floor_cpu + floor_backend) / events * 1e6
        print(f"{args.database} round {number}{' (profiled)' if profiler else ''}: {events:,} events; resolver "
              f"{cpu / events * 1e6:.1f} µs/event in process + {backend / events * 1e6:.1f} in the backend; floor "
              f"{floor_cpu / events * 1e6:.1f} + {floor_backend / events * 1e6:.1f}; ratio floor/resolver "
              f"{floor_us / us:.3f}; load {os.getloadavg()[0]:.1f}", flush=True)
        if profiler:
            profiler.dump_stats(args.profile)
            pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(30)
    rt.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batches", type=int, default=200, help="benchmark batches of 100 events per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-resolver-"))
    if args.database == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        import psycopg

        url = f"postgresql://postgres@127.0.0.1:5432/siyu_bench_resolver_{os.getpid()}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    try:
        run(args, url, folder)
    finally:
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
