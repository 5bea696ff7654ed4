"""Trigger-to-send latency: an event arrives over HTTP, a journey sends a message, the receiver has it.

    python bench/bench_latency.py --database sqlite --samples 200
    python bench/bench_latency.py --database postgres --samples 200 --background 500

Starts a real ``siyu serve`` (which starts ``siyu worker`` as its child, as in production) on a fresh
database, a webhook receiver on loopback, and publishes a journey through the API: trigger
``Order Completed``, one step sending a transactional webhook whose body is rendered for the person
(``{{ profile.traits.seq }}``). Then, one at a time at random 0.2-0.6 s intervals, ``--samples``
customers each send one ``Order Completed`` to ``/v1/batch``; the time from sending the request to
the receiver getting that customer's message is the latency (ingest, the worker's journey round,
the outbox, delivery, the webhook call). ``--background`` adds that many other events per second
(existing customers browsing) in another thread, so the worker has other work too.

Floor: the ingest request alone (sending to acknowledgement), measured on the same requests — what
a send could cost if the journey and the delivery were free. Prints p50 / p95 / max, the floor's, and
the load average. The goal of the issue is p95 ≤ 2 s.
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import database_url, drop_database, free_port, start_server  # noqa: E402

JOURNEY = {
    "trigger": {"event": "Order Completed"},
    "entry": {"rule": "every_time"},
    "steps": [{"id": "notify", "send": {"channel": "webhook", "purpose": "transactional",
                                        "template": {"body": {"seq": "{{ profile.traits.seq }}"}}}}],
}


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrivals: dict[int, float] = {}
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        arrived = time.monotonic()
        payload = body["payload"]
        seq = int(payload["body"]["seq"] if "body" in payload else payload["seq"])
        with self.server.lock:
            self.server.arrivals.setdefault(seq, arrived)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def background(url: str, auth: dict[str, str], rate: int, stop: threading.Event) -> None:
    """Other customers browsing: ``rate`` events per second in batches of ten."""
    with httpx.Client(timeout=30, headers=auth) as client:
        while not stop.is_set():
            started = time.monotonic()
            batch = [{"type": "track", "event": "Product Viewed", "userId": f"browser-{random.randrange(5000)}",
                      "messageId": str(uuid.uuid4()), "properties": {"sku": "LIP-01"}} for _ in range(10)]
            client.post(url, json={"batch": batch})
            stop.wait(max(0.0, 10 / rate - (time.monotonic() - started)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--background", type=int, default=0, help="other events per second")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-latency-"))
    url = database_url(args.database, folder)
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_DATA_DIR": str(folder), "SIYU_LOG_LEVEL": "warning"}
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    server = None
    stop = threading.Event()
    try:
        created = subprocess.run([sys.executable, "-m", "siyu", "workspace", "create", "bench", "--json"], env=env,
                                 capture_output=True, text=True, check=True)
        keys = json.loads(created.stdout)
        port = free_port()
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        admin = {"Authorization": f"Bearer {keys['secret_key']}"}
        write = {"Authorization": "Basic " + base64.b64encode(f"{keys['write_key']}:".encode()).decode()}
        hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        answer = httpx.patch(f"{base}/api/workspace/settings", headers=admin,
                             json={"channels": {"webhook": {"url": hook, "secret": "bench"}}})
        answer.raise_for_status()
        journey = httpx.post(f"{base}/api/journeys", headers=admin, json={"name": "latency", "definition": JOURNEY})
        journey.raise_for_status()
        httpx.post(f"{base}/api/journeys/{journey.json()['id']}/publish", headers=admin).raise_for_status()
        if args.background:
            threading.Thread(target=background, args=(f"{base}/v1/batch", write, args.background, stop),
                             daemon=True).start()
        sent: dict[int, float] = {}
        acks: list[float] = []
        with httpx.Client(timeout=30, headers=write) as client:
            for seq in range(args.samples):
                event = {"type": "track", "event": "Order Completed", "userId": f"buyer-{seq}",
                         "messageId": str(uuid.uuid4()), "properties": {"total": 99.0},
                         "context": {"traits": {"seq": seq}}}
                started = time.monotonic()
                client.post(f"{base}/v1/batch", json={"batch": [event]}).raise_for_status()
                acks.append(time.monotonic() - started)
                sent[seq] = started
                time.sleep(random.uniform(0.2, 0.6))
        deadline = time.monotonic() + 60
        while len(receiver.arrivals) < args.samples and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        latencies = [receiver.arrivals[s] - sent[s] for s in sent if s in receiver.arrivals]
        missing = args.samples - len(latencies)
        print(f"{args.database}: {args.samples} journeys triggered over HTTP, {missing} not delivered within 60 s"
              + (f", {args.background} background events/s" if args.background else ""))
        print(f"trigger to send  p50 {statistics.median(latencies):.3f} s  p95 {_percentile(latencies, 0.95):.3f} s"
              f"  max {max(latencies):.3f} s")
        print(f"floor: ingest ack  p50 {statistics.median(acks):.3f} s  p95 {_percentile(acks, 0.95):.3f} s; "
              f"p95 ratio {_percentile(latencies, 0.95) / _percentile(acks, 0.95):.1f}")
        print("load average 1/5/15 " + "/".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        stop.set()
        if server is not None:
            server.terminate()
            server.wait(30)
        receiver.shutdown()
        drop_database(url)
        if not os.environ.get("SIYU_BENCH_KEEP"):
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")


if __name__ == "__main__":
    main()
