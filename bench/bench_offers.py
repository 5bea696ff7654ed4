"""The flash campaign: many clients claiming one hot coupon over HTTP against a real `siyu serve`.

    python bench/bench_offers.py --database sqlite|postgres [--claims 10000] [--stock 1000] [--clients 16]
                                 [--processes N]

A fixed, seeded load: PEOPLE people are identified first (claims / 4 by default, so each tries about
four times), one coupon with ``--stock`` units and a per-person limit of ``--limit`` is created, and
``--clients`` keep-alive connections send ``--claims`` claim requests (``POST /api/offers/{id}/claims``,
each with its own idempotency key, people drawn at random) as fast as the server answers. Reports
claims/s (every request answered: granted or refused), p50 / p99, and CPU time per claim of the server
(all its processes), of the PostgreSQL backends serving the bench database and of the load generator.

Checks, and exits non-zero when one fails: exactly ``--stock`` requests got 201; every other answer is
409 ``offers.out_of_stock`` or ``offers.limit_reached`` (never a 5xx); nobody got more than the
limit; all codes are distinct; the offer says claimed = stock, remaining = 0; and the first
``--retries`` requests sent again answer exactly as the first time (same code or same refusal).

The floor, measured in the same run on the same database: the single guarded
``UPDATE offers SET claimed = claimed + 1 WHERE claimed < stock`` committed per claim, in-process,
one connection (what the claim can't be cheaper than).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_callbacks import tree_cpu_seconds  # noqa: E402
from bench_ingest import cpu_seconds, database_url, drain, drop_database, free_port, start_server  # noqa: E402
from http_load import percentile, run_load  # noqa: E402

IDENTIFY_BATCH = 100


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "siyu", *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"siyu {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def framed(host: str, path: str, secret: str, body: dict) -> bytes:
    """One POST with the secret key, framed as bytes on the wire."""
    raw = orjson.dumps(body)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Length: {len(raw)}\r\n\r\n")
    return head.encode() + raw


def identify(base: str, workspace: dict, people: int) -> dict[str, int]:
    """Every person identified (a user id each), then their profile ids read back."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"{workspace['write_key']}:".encode()).decode()}
    with httpx.Client(base_url=base, timeout=60, headers=auth) as client:
        for start in range(0, people, IDENTIFY_BATCH):
            batch = [{"type": "identify", "userId": f"flash-{p}", "traits": {"name": f"客户{p}"}}
                     for p in range(start, min(start + IDENTIFY_BATCH, people))]
            client.post("/v1/batch", json={"batch": batch}).raise_for_status()
    drain(int(base.rsplit(":", 1)[1]), workspace["secret_key"])
    return profile_ids(workspace)


def profile_ids(workspace: dict) -> dict[str, int]:
    from sqlalchemy import select

    from siyu.db.engine import make_engine, read
    from siyu.db.tables import identities

    engine = make_engine(os.environ["SIYU_DATABASE_URL"])
    with read(engine) as conn:
        rows = conn.execute(select(identities.c.value, identities.c.profile_id).where(
            identities.c.workspace_id == workspace["workspace_id"], identities.c.type == "user_id")).all()
    engine.dispose()
    return {value: int(profile) for value, profile in rows}


def check(answers: list[tuple[int, int, bytes]], jobs: list[tuple[int, str]], stock: int, limit: int
          ) -> dict[str, object]:
    """The exact outcome, or SystemExit naming what broke."""
    statuses: Counter[object] = Counter()
    per_person: Counter[int] = Counter()
    codes: set[str] = set()
    by_key: dict[str, object] = {}
    for index, status, body in answers:
        payload = orjson.loads(body) if body else {}
        if status == 201:
            statuses["granted"] += 1
            per_person[jobs[index][0]] += 1
            codes.add(payload["code"])
            by_key[jobs[index][1]] = payload["code"]
        elif status == 409 and payload["error"]["code"] in ("offers.out_of_stock", "offers.limit_reached"):
            statuses[payload["error"]["code"]] += 1
            by_key[jobs[index][1]] = payload["error"]["code"]
        else:
            raise SystemExit(f"unexpected answer {status}: {body[:300]!r}")
    if statuses["granted"] != stock:
        raise SystemExit(f"{statuses['granted']} granted, not exactly the stock of {stock}")
    if per_person and max(per_person.values()) > limit:
        raise SystemExit(f"someone got {max(per_person.values())}, above the per-person limit of {limit}")
    if len(codes) != stock:
        raise SystemExit(f"{len(codes)} distinct codes for {stock} claims")
    return {"answers": dict(statuses), "by_key": by_key, "most_per_person": max(per_person.values(), default=0)}


def server_seconds(pid: int) -> float:
    """CPU seconds of the server: its process and, with ``--processes``, uvicorn's processes."""
    return sum(cpu for _, cpu in tree_cpu_seconds(pid).values())


def commits(url: str) -> int:
    """Transactions committed so far in the bench database (0 on SQLite): claims per commit is the group size."""
    if not url.startswith("postgresql"):
        return 0
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                                ).fetchone()[0])


def backends_cpu(url: str) -> float:
    """CPU seconds so far of the PostgreSQL backends connected to the bench database (0 on SQLite)."""
    if not url.startswith("postgresql"):
        return 0.0
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                               "AND pid <> pg_backend_pid()")]
    total = 0.0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):  # gone meanwhile
            total += cpu_seconds(pid)
    return total


def floor(url: str, workspace_id: int, count: int) -> float:
    """One guarded stock UPDATE committed per claim, in-process on one connection."""
    from siyu.clock import now
    from siyu.db.engine import make_engine, write
    from siyu.offers import service, store

    engine = make_engine(url)
    with write(engine) as conn:
        offer = service.create_offer(conn, workspace_id, {"name": "floor", "kind": "points", "points": 1,
                                                          "stock": count, "per_person_limit": 1}, now=now())
    started = time.perf_counter()
    for _ in range(count):
        with write(engine) as conn:
            store.take_stock(conn, workspace_id, offer.id, now())
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count / elapsed


def run(args: argparse.Namespace, url: str, env: dict[str, str]) -> dict[str, object]:
    workspace = json.loads(cli(env, "workspace", "create", "bench", "--json"))
    port = free_port()
    host, base = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
    server = start_server(env, port, *(("--processes", str(args.processes)) if args.processes > 1 else ()))
    try:
        people = max(1, args.people or args.claims // 4)
        print(f"identifying {people:,} people ...", flush=True)
        ids = identify(base, workspace, people)
        secret = workspace["secret_key"]
        created = httpx.post(f"{base}/api/offers", headers={"Authorization": f"Bearer {secret}"}, timeout=30,
                             json={"name": "限时秒杀 满100减50", "kind": "threshold", "threshold_fen": 10000,
                                   "amount_fen": 5000, "stock": args.stock, "per_person_limit": args.limit,
                                   "valid_days": 7})
        created.raise_for_status()
        offer_id = created.json()["id"]
        rnd = random.Random(args.seed)
        jobs = [(ids[f"flash-{rnd.randrange(people)}"], f"flash-{n}") for n in range(args.claims)]
        path = f"/api/offers/{offer_id}/claims"
        requests = [framed(host, path, secret, {"profile_id": p, "idempotency_key": k}) for p, k in jobs]
        print(f"{args.claims:,} claims on {args.stock:,} units with {args.clients} clients ...", flush=True)
        commits_before = commits(url)
        cpu_before, backends_before, load_before = server_seconds(server.pid), backends_cpu(url), time.process_time()
        outcome = run_load("127.0.0.1", port, requests, connections=args.clients, seconds=3600)
        server_cpu = server_seconds(server.pid) - cpu_before
        backend_cpu, load_cpu = backends_cpu(url) - backends_before, time.process_time() - load_before
        transactions = commits(url) - commits_before
        if len(outcome.answers) != args.claims:
            raise SystemExit(f"only {len(outcome.answers)} of {args.claims} claims answered")
        checked = check(outcome.answers, jobs, args.stock, args.limit)
        retried = run_load("127.0.0.1", port, requests[:args.retries], connections=args.clients, seconds=3600)
        for index, status, body in retried.answers:
            payload = orjson.loads(body)
            again = payload.get("code") if status == 201 else payload["error"]["code"]
            if again != checked["by_key"][jobs[index][1]]:
                raise SystemExit(f"key {jobs[index][1]} answered {again}, first {checked['by_key'][jobs[index][1]]}")
        shown = httpx.get(f"{base}/api/offers/{offer_id}", headers={"Authorization": f"Bearer {secret}"}).json()
        if (shown["claimed"], shown["remaining"]) != (args.stock, 0):
            raise SystemExit(f"the offer says claimed {shown['claimed']}, remaining {shown['remaining']}")
    finally:
        server.terminate()
        server.wait(timeout=60)
    bare = floor(url, workspace["workspace_id"], min(args.claims, 5000))
    latencies = sorted(outcome.latencies)
    rate = len(latencies) / outcome.seconds
    return {"database": args.database, "claims": args.claims, "stock": args.stock, "per_person_limit": args.limit,
            "clients": args.clients, "processes": args.processes, "people": people, **checked["answers"],
            "most_claims_of_one_person": checked["most_per_person"], "retried_keys_same_answer": args.retries,
            "seconds": round(outcome.seconds, 2), "claims_per_second": round(rate),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "server_cpu_us_per_claim": round(server_cpu / len(latencies) * 1e6),
            "database_cpu_us_per_claim": round(backend_cpu / len(latencies) * 1e6),
            "load_generator_cpu_us_per_claim": round(load_cpu / len(latencies) * 1e6),
            "claims_per_transaction": round(len(latencies) / transactions, 1) if transactions else None,
            "floor_guarded_updates_per_second": round(bare), "ratio_to_floor": round(rate / bare, 3),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--stock", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=2, help="the per-person limit")
    parser.add_argument("--people", type=int, default=0, help="default: claims / 4")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--processes", type=int, default=1, help="server processes (PostgreSQL only)")
    parser.add_argument("--retries", type=int, default=500, help="requests sent again to check idempotency")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.retries = min(args.retries, args.claims)
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-"))
    url = database_url(args.database, folder)
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_DATA_DIR": str(folder), "SIYU_LOG_LEVEL": "warning"}
    os.environ["SIYU_DATABASE_URL"] = url
    try:
        print(json.dumps(run(args, url, env), indent=2))
    finally:
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
