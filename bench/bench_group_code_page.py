"""The group live code page (群活码, ``/g/{token}``) under load, against a real `siyu serve`.

    python bench/bench_group_code_page.py --database sqlite --seconds 15 [--clients 16]

A code with three groups (each with its uploaded QR); CLIENTS threads open the page over keep-alive
connections for SECONDS, as people scanning a code shared in a live stream would. Every view picks a
group with room, counts the view, and renders the mobile page. Reports pages/s and p50 / p99; the
floor, measured in the same run against the same server, is ``GET /api/health`` (one database
round trip through the same HTTP stack), so the ratio is what the page costs above a bare request.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import qrcode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_callbacks import cli  # noqa: E402
from bench_ingest import cpu_seconds, database_url, drop_database, free_port, start_server  # noqa: E402


def png(text: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(text).save(buffer, format="PNG")
    return buffer.getvalue()


def hammer(url: str, seconds: float, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        mine = []
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = client.get(url)
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: {response.status_code}")
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    latencies.sort()
    return {"requests": len(latencies), "per_second": len(latencies) / duration,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="siyu-bench-"))
    url = database_url(args.database, folder)
    env = {**os.environ, "SIYU_DATABASE_URL": url, "SIYU_DATA_DIR": str(folder), "SIYU_LOG_LEVEL": "warning"}
    try:
        workspace = json.loads(cli(env, "workspace", "create", "bench", "--json"))
        auth = {"Authorization": f"Bearer {workspace['secret_key']}"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(env, port)
        try:
            code = httpx.post(f"{base}/api/group-codes", json={"name": "直播间", "title": "完美日记直播福利群"},
                              headers=auth).json()
            for n in range(3):
                added = httpx.post(f"{base}/api/group-codes/{code['id']}/groups", headers=auth,
                                   data={"label": f"福利{n + 1}群"},
                                   files={"image": ("qr.png", png(f"https://weixin.qq.com/g/{n}"), "image/png")})
                if added.status_code != 201:
                    raise SystemExit(f"group: {added.status_code} {added.text}")
            cpu_before = cpu_seconds(server.pid)
            page = hammer(f"{base}/g/{code['token']}", args.seconds, args.clients)
            page_cpu = cpu_seconds(server.pid) - cpu_before
            bare = hammer(f"{base}/api/health", args.seconds, args.clients)
        finally:
            server.terminate()
            server.wait(timeout=60)
        print(json.dumps({"database": args.database, "clients": args.clients,
                          "page": {k: round(v, 1) for k, v in page.items()},
                          "floor_health": {k: round(v, 1) for k, v in bare.items()},
                          "ratio_to_floor": round(page["per_second"] / bare["per_second"], 3),
                          "server_cpu_us_per_page": round(page_cpu / page["requests"] * 1e6),
                          "load_average_1min_at_end": round(os.getloadavg()[0], 2)}, indent=2))
    finally:
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
