"""HTTP ingest throughput against a real `siyu serve`, as a ratio to a bare insert floor.

    python bench/bench_ingest.py --database sqlite --seconds 30 [--resolve deferred|inline]
    python bench/bench_ingest.py --database postgres --seconds 30

A fixed, seeded data set: PEOPLE customers (identified first, so the run measures steady state),
then /v1/batch requests of 100 realistic track events with unique messageIds, sent by CLIENTS
threads in a separate process over keep-alive connections. Identity resolution, rollups and
deduplication are on, as in production. Reports events/s sustained, request latency p50/p99, and
the server's peak resident memory (VmHWM). The floor is a bare `executemany` of the same event
rows into the same `events` table of the same database, measured in the same run.

With ``--resolve deferred`` (the default, as `siyu serve` runs) the server acknowledges once a
batch is queued and its worker child resolves the queue: the script reports the acknowledged
rate, and the **sustained** rate: events divided by the time from the start of the load until the
queue is empty again (identity resolution, rollups and the event log all done), with both
processes' CPU time per event and the largest backlog seen.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 50_000
BATCH = 100


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_batch(rnd: random.Random, number: int) -> bytes:
    events = []
    for i in range(BATCH):
        person = rnd.randrange(PEOPLE)
        name = rnd.choice(["Product Viewed", "Product Viewed", "Product Added", "Page Viewed", "Order Completed"])
        events.append({
            "type": "track", "event": name, "userId": f"member-{person}", "anonymousId": f"device-{person}",
            "messageId": f"bench-{number}-{i}-{uuid.UUID(int=rnd.getrandbits(128))}",
            "timestamp": datetime.now(UTC).isoformat(),
            "properties": {"sku": f"LIP-{rnd.randrange(40):02d}", "price": 89.9, "name": "小细跟口红",
                           "category": "lipstick", "total": 179.8 if name == "Order Completed" else None},
            "context": {"library": {"name": "analytics-python", "version": "2.3.3"}, "ip": "10.0.0.1",
                        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0"},
        })
    return orjson.dumps({"batch": events, "sentAt": datetime.now(UTC).isoformat()})


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (/proc/PID/stat fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_url(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}"
    import psycopg

    name = f"siyu_bench_{os.getpid()}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def queued(port: int, secret: str) -> int:
    response = httpx.get(f"http://127.0.0.1:{port}/api/ingest/status", headers={"Authorization": f"Bearer {secret}"},
                         timeout=30)
    response.raise_for_status()
    return int(response.json()["queued"])


def drain(port: int, secret: str, limit: float = 3600) -> tuple[float, int]:
    """Wait until the resolver has emptied the queue; returns when (monotonic) and the largest backlog seen."""
    deadline, largest = time.monotonic() + limit, 0
    while time.monotonic() < deadline:
        waiting = queued(port, secret)
        largest = max(largest, waiting)
        if waiting == 0:
            return time.monotonic(), largest
        time.sleep(0.05)
    raise SystemExit("the resolver did not drain the queue")


def start_server(env: dict[str, str], port: int, *more: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "siyu", "serve", "--port", str(port), *more], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def load(url: str, auth: dict[str, str], bodies: list[bytes], seconds: float, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    sent = [0]
    lock = threading.Lock()
    cursor = [0]
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(timeout=60, headers={**auth, "Content-Type": "application/json"}) as client:
            while time.monotonic() < deadline:
                with lock:
                    if cursor[0] >= len(bodies):
                        return
                    body = bodies[cursor[0]]
                    cursor[0] += 1
                started = time.perf_counter()
                response = client.post(url, content=body)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"ingest failed: {response.status_code} {response.text[:200]}")
                with lock:
                    latencies.append(elapsed)
                    sent[0] += BATCH

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    latencies.sort()
    return {"events": sent[0], "seconds": duration, "events_per_second": sent[0] / duration,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000}


def floor(url: str, workspace_id: int, bodies: list[bytes], per_transaction: int, tag: str) -> float:
    """Bare executemany of the same event rows into the same table: no HTTP, no resolution, no dedupe.

    ``per_transaction`` rows per commit: 100 is one request's batch; 5,000 is the server's largest
    group commit (siyu.ingest.writer.MAX_GROUP_EVENTS), the fairer floor under load.
    """
    sys.path.insert(0, str(ROOT))
    from siyu.db.engine import make_engine, write
    from siyu.db.types import to_millis
    from siyu.ingest import store

    engine = make_engine(url)
    rows = []
    now = to_millis(datetime.now(UTC))
    for body in bodies:
        for m in orjson.loads(body)["batch"]:
            rows.append((workspace_id, 1, f"{m['messageId']}-{tag}", "track", m["event"], m["anonymousId"],
                         m["userId"], now, now, now, "floor", orjson.dumps(m["properties"]).decode(), None,
                         orjson.dumps(m["context"]).decode()))
    started = time.perf_counter()
    for start in range(0, len(rows), per_transaction):
        with write(engine) as conn:
            store.append_events(conn, workspace_id, rows[start:start + per_transaction])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(rows) / elapsed


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--resolve", choices=["deferred", "inline"], default="deferred",
                        help="SIYU_INGEST_RESOLVE of the server (deferred: as `siyu serve` runs by default).")
    parser.add_argument("--profile", type=Path, help="Record the server under py-spy during the load into this "
                        "file, and its worker children into FILE.workerN (collapsed stacks: one line per stack "
                        "with its sample count).")
    return parser.parse_args()


def identify_bodies() -> list[bytes]:
    """Every person identified once (user id, device id, phone) before the timed load."""
    return [orjson.dumps({"batch": [{"type": "identify", "userId": f"member-{p}", "anonymousId": f"device-{p}",
                                     "traits": {"phone": f"1380{p:07d}", "name": f"客户{p}"}}
                                    for p in range(start, min(start + BATCH, PEOPLE))]})
            for start in range(0, PEOPLE, BATCH)]


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"')


def run(args: argparse.Namespace, url: str, env: dict[str, str]) -> dict[str, object]:
    created = subprocess.run([sys.executable, "-m", "siyu", "workspace", "create", "bench", "--json"], env=env,
                             capture_output=True, text=True, check=True)
    workspace = json.loads(created.stdout)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{workspace['write_key']}:".encode()).decode()}
    port = free_port()
    server = start_server(env, port)
    try:
        print(f"identifying {PEOPLE:,} people ...", flush=True)
        warm = load(f"http://127.0.0.1:{port}/v1/batch", auth, identify_bodies(), 600, args.clients)
        drain(port, workspace["secret_key"])
        rnd = random.Random(args.seed)
        bodies = [make_batch(rnd, n) for n in range(int(args.seconds * 40_000 / BATCH))]
        print(f"loading for {args.seconds:.0f} s with {args.clients} clients ({args.resolve}) ...", flush=True)
        profiler = subprocess.Popen(["py-spy", "record", "--pid", str(server.pid), "--format", "raw", "--threads",
                                     "--output", str(args.profile), "--duration", str(int(args.seconds))],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if args.profile else None
        workers = children(server.pid)
        worker_profilers = [subprocess.Popen(["py-spy", "record", "--pid", str(w), "--format", "raw",
                                              "--output", f"{args.profile}.worker{n}", "--duration",
                                              str(int(args.seconds))],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                            for n, w in enumerate(workers)] if args.profile else []
        cpu_before = cpu_seconds(server.pid)
        worker_before = sum(cpu_seconds(w) for w in workers)
        started = time.monotonic()
        result = load(f"http://127.0.0.1:{port}/v1/batch", auth, bodies, args.seconds, args.clients)
        server_cpu = cpu_seconds(server.pid) - cpu_before
        drained_at, backlog = drain(port, workspace["secret_key"])
        worker_cpu = sum(cpu_seconds(w) for w in workers) - worker_before
        peak_mb = vm_hwm_kb(server.pid) / 1024
        worker_peak_mb = max((vm_hwm_kb(w) for w in workers), default=0) / 1024
        for recording in ([profiler] if profiler is not None else []) + worker_profilers:
            recording.wait(timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=60)
    floor_sample = bodies[: max(1, int(result["events"]) // BATCH // 2)]
    floor_100 = floor(url, workspace["workspace_id"], floor_sample, BATCH, "floor100")
    floor_5000 = floor(url, workspace["workspace_id"], floor_sample, 5000, "floor5000")
    rate = result["events"] / (drained_at - started)  # sustained: acknowledged AND resolved
    return {"database": args.database, "resolve": args.resolve, "clients": args.clients, "people": PEOPLE,
            "identify_events_per_second": round(warm["events_per_second"]),
            **{k: round(v, 1) for k, v in result.items()},
            "acknowledged_events_per_second": round(result["events_per_second"]),
            "sustained_events_per_second": round(rate), "largest_backlog": backlog,
            "drained_seconds_after_load": round(drained_at - started - result["seconds"], 1),
            "floor_events_per_second_100_per_commit": round(floor_100),
            "floor_events_per_second_5000_per_commit": round(floor_5000),
            "ratio_to_floor_100": round(rate / floor_100, 3), "ratio_to_floor_5000": round(rate / floor_5000, 3),
            "server_cpu_seconds": round(server_cpu, 1),
            "server_cpu_us_per_event": round(server_cpu / result["events"] * 1e6, 1),
            "worker_cpu_us_per_event": round(worker_cpu / result["events"] * 1e6, 1),
            "server_peak_rss_mb": round(peak_mb, 1), "worker_peak_rss_mb": round(worker_peak_mb, 1),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2)}


def main() -> None:
    args = arguments()
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-"))
    url = database_url(args.database, folder)
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_DATA_DIR": str(folder), "SIYU_LOG_LEVEL": "warning",
           "SIYU_INGEST_RESOLVE": args.resolve}
    try:
        print(json.dumps(run(args, url, env), indent=2))
    finally:
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
