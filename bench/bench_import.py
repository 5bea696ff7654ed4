"""Bulk import of a Tmall order export: rows/s and peak memory of `siyu import orders`.

    python bench/bench_import.py --rows 1000000
    python bench/bench_import.py --rows 100000 --database-url postgresql://postgres@127.0.0.1:5432/bench_import

Generates a seeded Tmall-style order report (GB18030, Chinese headers; 1 order per row, each buyer
with one stable phone and about three orders, so identity resolution finds returning buyers; one
row in 1,000 has an invalid phone and must land in the error report), then runs the real CLI in a subprocess under
`/usr/bin/time -v` (for the peak resident set and the CPU time, user + sys, of the import and its
conversion child, which load on a shared machine distorts far less than wall time) on a fresh SQLite
database, or a fresh PostgreSQL database with ``--database-url`` (the server's own CPU is not
counted then). The floor is the time to read and parse the same file with the csv module alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = ["订单编号", "买家会员名", "买家应付货款", "总金额", "买家实际支付金额", "订单状态", "收货人姓名", "收货地址",
          "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝总数量", "商家编码"]
PREFIXES = ("138", "139", "150", "151", "186", "187", "188", "135")  # valid mobile prefixes for phonenumbers
BAD_EVERY = 1000  # one row in a thousand has an invalid phone: the error report has work to do


def generate(path: Path, rows: int, seed: int) -> None:
    rnd = random.Random(seed)
    buyers = max(1, rows // 3)
    with path.open("w", newline="", encoding="gb18030") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            buyer = rnd.randrange(buyers)
            amount = f"{rnd.choice((69.9, 89.9, 129.0, 179.8, 299.0)):.2f}"
            day = f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
            when = f"{day} {rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:00"
            phone = f"{PREFIXES[buyer % len(PREFIXES)]}{buyer:08d}" if n % BAD_EVERY else "1234"
            writer.writerow([f'="{2400000000000 + n}"', f"tb_buyer_{buyer}", amount, amount, amount, "交易成功",
                             "李娜", "上海市静安区南京西路 1 号", phone, when, when, "小细跟口红 #01 复古红", "1",
                             "LIP-01"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--database-url", default=None,
                        help="import into this (empty) database instead of a fresh SQLite file, e.g. "
                             "postgresql://postgres@127.0.0.1:5432/bench_import (created if missing, dropped after)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="siyu-import-bench-"))
    path = folder / "tmall-orders.csv"
    generate(path, args.rows, args.seed)
    started = time.perf_counter()
    with path.open(encoding="gb18030", newline="") as handle:
        floor_rows = sum(1 for _ in csv.reader(handle)) - 1
    floor_seconds = time.perf_counter() - started
    database_url = args.database_url or f"sqlite:///{folder / 'import.db'}"
    if args.database_url:
        _create_database(args.database_url)
    env = {**os.environ, "SIYU_DATA_DIR": str(folder), "SIYU_DATABASE_URL": database_url}
    subprocess.run([sys.executable, "-m", "siyu", "workspace", "create", "bench"], env=env, check=True,
                   capture_output=True)
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "siyu", "import", "orders", str(path),
                             "--workspace", "bench", "--preset", "tmall", "--json"], env=env, capture_output=True,
                            text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", result.stderr).group(1))
              for kind in ("User", "System"))
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps({"rows": args.rows, "database": database_url.split(":")[0],
                      "file_mb": round(path.stat().st_size / 1e6, 1), "seconds": round(seconds, 1),
                      "rows_per_second": round(args.rows / seconds),
                      "cpu_seconds": round(cpu, 1), "cpu_us_per_row": round(cpu / args.rows * 1e6, 1),
                      "peak_rss_mb": round(peak_kb / 1024, 1),
                      "csv_parse_floor_rows_per_second": round(floor_rows / floor_seconds),
                      "imported": outcome["rows_ok"], "failed": outcome["rows_failed"]}, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    if args.database_url:
        _create_database(args.database_url, drop_only=True)


def _create_database(url: str, drop_only: bool = False) -> None:
    """A fresh PostgreSQL database for the run (dropped first if a previous run left it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from siyu.config import normalise_database_url

    target = make_url(normalise_database_url(url))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


if __name__ == "__main__":
    main()
