"""WeChat official-account callbacks against a real `siyu serve`: throughput and reply latency.

    python bench/bench_callbacks.py --database sqlite --seconds 20 [--mode plaintext|safe] [--clients 16]
    python bench/bench_callbacks.py --database postgres --seconds 20

A fixed, seeded load: FOLLOWERS people follow the account first (steady state: known openids), then
CLIENTS threads push text messages from random followers, signed like WeChat (and encrypted in safe
mode), half of them matching a keyword rule whose passive reply must come back in the response.
Every push is verified, decrypted, ingested (deduped, resolved to the follower's profile), handed to
the handlers (keyword rules, welcome, receipts) and answered, as in production. Reports callbacks/s,
p50 / p99 of the time to the reply, the server's CPU time per callback and its peak RSS.

The floor, measured in the same run on the same database: one event row inserted and committed per
callback (a callback must be durable before it is answered, so one commit each is the least a server
that does not batch can do).
"""

from __future__ import annotations

import argparse
import itertools
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
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_ingest import cpu_seconds, database_url, drop_database, free_port, start_server, vm_hwm_kb  # noqa: E402
from http_load import percentile, post_request, run_load  # noqa: E402

from siyu.channels.fakes.callbacks import FakeCallbacks  # noqa: E402

APPID = "wx1f2e3d4c5b6a7980"
TOKEN = "siyuBench2026"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
FOLLOWERS = 20_000
KEYWORD, REPLY = "色号", "小完子推荐：#520 元气番茄"


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "siyu", *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"siyu {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def pusher(client: httpx.Client, workspace_id: int, mode: str, number: int = 0) -> FakeCallbacks:
    """One client's pusher; each numbers its MsgIds apart, as WeChat's are unique."""
    return FakeCallbacks(client, f"/callbacks/wechat/{workspace_id}", "wechat", TOKEN, APPID,
                         aes_key=AES_KEY if mode != "plaintext" else None, mode=mode,
                         _msg_ids=itertools.count(24_000_000_000_000_001 + number * 1_000_000_000))


def tree_cpu_seconds(pid: int) -> dict[int, tuple[bool, float]]:
    """CPU seconds of the server and of its children by pid, each marked whether it is the
    ``siyu worker`` (the rest serve: one process, or uvicorn's supervisor and its processes)."""
    is_worker = b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    found = {pid: (is_worker, cpu_seconds(pid))}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found.update(tree_cpu_seconds(int(child)))
    return found


def prepare(workspace_id: int, mode: str, bodies: list[tuple[str, bool]], host: str) -> list[bytes]:
    """Every push signed (and encrypted) before the clock starts, as the platform's servers would send it."""
    platform = pusher(None, workspace_id, mode)  # type: ignore[arg-type] - only signs, never sends
    requests = []
    for openid, matches in bodies:
        query, body = platform.signed(platform.text(openid, f"请问{KEYWORD}推荐" if matches else "你好"))
        requests.append(post_request(host, platform.path, query, body))
    return requests


def load(port: int, workspace_id: int, mode: str, bodies: list[tuple[str, bool]], seconds: float,
         clients: int) -> dict[str, float]:
    requests = prepare(workspace_id, mode, bodies, f"127.0.0.1:{port}")
    outcome = run_load("127.0.0.1", port, requests, connections=clients, seconds=seconds)
    failed = [(status, body[:200]) for _, status, body in outcome.answers if status != 200]
    if failed:
        raise SystemExit(f"{len(failed)} callbacks failed, e.g. {failed[0]}")
    checker = pusher(None, workspace_id, mode)  # type: ignore[arg-type]
    wrong = sum(1 for index, _, body in outcome.answers
                if bodies[index][1] and REPLY not in checker.reply(_Answer(body.decode())).get("Content", ""))
    latencies = sorted(outcome.latencies)
    return {"callbacks": len(latencies), "seconds": outcome.seconds,
            "callbacks_per_second": len(latencies) / outcome.seconds,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "missing_replies": wrong}


@dataclass(frozen=True)
class _Answer:
    text: str


def floor(url: str, workspace_id: int, count: int) -> float:
    """One event row committed per callback: the durability a non-batching server pays."""
    from datetime import UTC, datetime

    from siyu.db.engine import make_engine, write
    from siyu.db.types import to_millis
    from siyu.ingest import store

    engine = make_engine(url)
    now = to_millis(datetime.now(UTC))
    started = time.perf_counter()
    for n in range(count):
        with write(engine) as conn:
            store.append_events(conn, workspace_id, [(workspace_id, 1, f"floor-{n}", "track", "Message Received",
                                                      None, None, now, None, now, "floor",
                                                      '{"content": "你好"}', None, None)])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--mode", choices=["plaintext", "safe"], default="safe")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--followers", type=int, default=FOLLOWERS)
    parser.add_argument("--processes", type=int, default=1, help="server processes (PostgreSQL only)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-"))
    url = database_url(args.database, folder)
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_DATA_DIR": str(folder), "SIYU_LOG_LEVEL": "warning"}
    try:
        workspace = json.loads(cli(env, "workspace", "create", "bench", "--json"))
        cli(env, "channels", "add", "wechat-oa", "--workspace", "bench", "--app-id", APPID, "--token", TOKEN,
            "--aes-key", AES_KEY)
        rule = folder / "rule.json"
        rule.write_text(json.dumps({"name": "色号", "trigger": "keyword", "match": "contains", "patterns": [KEYWORD],
                                    "reply": {"msgtype": "text", "text": {"content": REPLY}}}, ensure_ascii=False))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(env, port, "--processes", str(args.processes))
        try:
            auth = {"Authorization": f"Bearer {workspace['secret_key']}"}
            created = httpx.post(f"{base}/api/replies/rules", json=json.loads(rule.read_text()), headers=auth)
            if created.status_code != 201:
                raise SystemExit(f"rule: {created.status_code} {created.text}")
            print(f"{FOLLOWERS:,} followers follow ...", flush=True)
            def follow(first: int) -> None:
                with httpx.Client(base_url=base, timeout=30) as client:
                    platform = pusher(client, workspace["workspace_id"], args.mode)
                    for n in range(first, args.followers, 8):
                        platform.push(platform.follow(f"oBench{n:07d}"))

            followers = [threading.Thread(target=follow, args=(n,)) for n in range(8)]
            for thread in followers:
                thread.start()
            for thread in followers:
                thread.join()
            rnd = random.Random(args.seed)
            bodies = [(f"oBench{rnd.randrange(args.followers):07d}", rnd.random() < 0.5)
                      for _ in range(int(args.seconds * 5000))]
            print(f"pushing for {args.seconds:.0f} s with {args.clients} clients ({args.mode}) ...", flush=True)
            cpu_before = tree_cpu_seconds(server.pid)
            result = load(port, workspace["workspace_id"], args.mode, bodies, args.seconds, args.clients)
            cpu_after = tree_cpu_seconds(server.pid)
            spent = {pid: (worker, cpu - cpu_before.get(pid, (worker, 0.0))[1])
                     for pid, (worker, cpu) in cpu_after.items()}
            server_cpu = sum(cpu for worker, cpu in spent.values() if not worker)
            worker_cpu = sum(cpu for worker, cpu in spent.values() if worker)
            peak = sum(vm_hwm_kb(pid) for pid, (worker, _) in cpu_after.items() if not worker) / 1024
        finally:
            server.terminate()
            server.wait(timeout=60)
        bare = floor(url, workspace["workspace_id"], min(int(result["callbacks"]), 20_000))
        print(json.dumps({"database": args.database, "mode": args.mode, "clients": args.clients,
                          "processes": args.processes, "followers": args.followers,
                          **{k: round(v, 1) for k, v in result.items()},
                          "floor_commits_per_second": round(bare),
                          "ratio_to_floor": round(result["callbacks_per_second"] / bare, 3),
                          "server_cpu_us_per_callback": round(server_cpu / result["callbacks"] * 1e6),
                          "worker_cpu_us_per_callback": round(worker_cpu / result["callbacks"] * 1e6),
                          "server_peak_rss_mb": round(peak, 1),
                          "load_average_1min_at_end": round(os.getloadavg()[0], 2)}, indent=2))
    finally:
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
