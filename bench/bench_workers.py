"""Two delivery workers on PostgreSQL against one: messages delivered per second from a backlog.

    python bench/bench_workers.py --messages 20000
    python bench/bench_workers.py --messages 20000 --database sqlite

For each worker count (1, then 2) a fresh workspace gets ``--messages`` people, each with one
transactional webhook message queued in the outbox (loaded in bulk, not timed), and a receiver on
loopback that answers each call after ``--receiver-ms`` milliseconds (a real endpoint is never
instant). Then that many real ``siyu worker`` processes are started and timed until every message
is ``sent``; the receiver checks that no message arrives twice (the outbox's claim with SKIP LOCKED
is what lets the workers share the backlog). Prints messages per second for each count, the speed-up,
and the load average. On SQLite the workers take turns on the one write lock: shown for comparison.

``--template`` queues each message as a template filled in for its person when sent (a broadcast's
``{{ profile.traits.name }}``), so the render's cost shows against the same backlog sent as written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import database_url, drop_database  # noqa: E402

from siyu.config import Config  # noqa: E402
from siyu.db import driver  # noqa: E402
from siyu.db.engine import read, write  # noqa: E402
from siyu.db.types import to_millis  # noqa: E402
from siyu.runtime import Runtime  # noqa: E402


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay = delay
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.server.delay)
        with self.server.lock:
            key = self.headers["X-Siyu-Delivery"]
            self.server.seen[key] = self.server.seen.get(key, 0) + 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def backlog(rt: Runtime, name: str, hook: str, count: int, template: bool = False) -> int:
    """A workspace with ``count`` named people and one queued webhook message each (``template``: to be
    filled in with the person's name); returns its id."""
    from datetime import UTC, datetime

    from siyu.workspaces import store

    now = to_millis(datetime.now(UTC))
    json_mark = "CAST(? AS JSONB)" if rt.engine.dialect.name == "postgresql" else "?"
    with write(rt.engine) as conn:
        workspace = store.create_workspace(conn, name)
        store.update_workspace_settings(conn, workspace.id, {"channels": {"webhook": {"url": hook, "secret": "b"}}})
        first = 1 + (conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM profiles").scalar_one())
        driver.execute_many(conn, f"INSERT INTO profiles (id, workspace_id, created_at, updated_at, traits, "
                                  f"trait_meta) VALUES (?, ?, ?, ?, {json_mark}, {json_mark})",
                            [(first + i, workspace.id, now, now, json.dumps({"name": f"顾客{i}"}), "{}")
                             for i in range(count)])
        driver.execute_many(conn, "INSERT INTO messages (workspace_id, profile_id, channel, purpose, source, "
                                  "idempotency_key, status, payload, due_at, attempts, created_at, updated_at) "
                                  f"VALUES (?, ?, 'webhook', 'transactional', 'bench', ?, 'queued', {json_mark}, "
                                  "?, 0, ?, ?)",
                            [(workspace.id, first + i, f"{name}:{i}", json.dumps(_payload(i, template)), now, now,
                              now) for i in range(count)])
    return workspace.id


def _payload(n: int, template: bool) -> dict[str, object]:
    if not template:
        return {"n": n, "greeting": f"顾客{n}，双11见"}
    return {"$template": {"body": {"n": str(n), "greeting": "{{ profile.traits.name }}，双11见"}}}


def sent(rt: Runtime, workspace_id: int) -> int:
    with read(rt.engine) as conn:
        return conn.exec_driver_sql(f"SELECT count(*) FROM messages WHERE workspace_id = {workspace_id} "
                                    "AND status = 'sent'").scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--receiver-ms", type=float, default=2.0)
    parser.add_argument("--template", action="store_true", help="Messages filled in for each person when sent.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-workers-"))
    url = database_url(args.database, folder)
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_DATA_DIR": str(folder), "SIYU_LOG_LEVEL": "warning"}
    rt = Runtime.from_config(Config(data_dir=folder, database_url=url, secret="bench"), migrate=True)
    receiver = Receiver(args.receiver_ms / 1000)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    rates = {}
    try:
        for workers in (1, 2):
            workspace_id = backlog(rt, f"bench-{workers}", hook, args.messages, args.template)
            started = time.monotonic()
            processes = [subprocess.Popen([sys.executable, "-m", "siyu", "worker", "--interval", "0.2"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                         for _ in range(workers)]
            try:
                while (done := sent(rt, workspace_id)) < args.messages:
                    if time.monotonic() - started > 1800:
                        raise SystemExit(f"{workers} worker(s): only {done:,} sent in 30 minutes")
                    time.sleep(0.2)
                seconds = time.monotonic() - started
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(60)
            rates[workers] = args.messages / seconds
            print(f"{args.database}{', templates' if args.template else ''}, {workers} worker(s): "
                  f"{args.messages:,} messages in {seconds:.1f} s = "
                  f"{rates[workers]:,.0f} messages/s  (load {'/'.join(f'{x:.1f}' for x in os.getloadavg())})")
        twice = sum(1 for count in receiver.seen.values() if count > 1)
        print(f"speed-up with two workers: {rates[2] / rates[1]:.2f}x; messages received twice: {twice}")
    finally:
        receiver.shutdown()
        rt.engine.dispose()
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
