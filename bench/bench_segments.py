"""Segment evaluation: batch evaluation against a hand-written SQL floor, and real-time cost per event.

    python bench/bench_segments.py --database sqlite --customers 20000
    python bench/bench_segments.py --database postgres --customers 20000

Generates the demo brand (seeded; not timed) into a fresh database, then:

1. batch — a typical 3-condition segment (ordered twice in the last year, has a phone, lives in
   上海) counted through the segment compiler, and the same question as the tightest SQL we could
   write by hand on the same database (the floor). Median of 5 runs each; the counts must agree.
2. real time — 50 saved segments (a mix of event, trait, tag, rollup and identifier conditions),
   then a burst of new events from existing customers; the worker's pass over them is timed and
   divided by the number of events.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from siyu import clock  # noqa: E402
from siyu.config import Config  # noqa: E402
from siyu.db.engine import read, write  # noqa: E402
from siyu.demo.generate import generate  # noqa: E402
from siyu.identity.rules import DEFAULT_RULES  # noqa: E402
from siyu.ingest.pipeline import ingest  # noqa: E402
from siyu.ingest.spec import parse_message  # noqa: E402
from siyu.runtime import Runtime  # noqa: E402
from siyu.segments import membership, store  # noqa: E402
from siyu.segments.parse import parse  # noqa: E402
from siyu.worker import run_pass  # noqa: E402
from siyu.workspaces import store as workspace_store  # noqa: E402

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
TYPICAL = {"all": [
    {"event": "Order Completed", "measure": "count", "op": "gte", "value": 2, "within": "365d"},
    {"identifier": "phone"},
    {"trait": "city", "op": "eq", "value": "上海"},
]}
FLOOR_SQL = """
SELECT count(*) FROM profiles p
WHERE p.workspace_id = :ws AND p.merged_into IS NULL AND p.erased_at IS NULL
  AND {city} = '上海'
  AND p.id IN (SELECT profile_id FROM identities WHERE workspace_id = :ws AND type = 'phone')
  AND p.id IN (SELECT profile_id FROM events WHERE workspace_id = :ws AND name = 'Order Completed'
               AND timestamp >= :since AND timestamp <= :now GROUP BY profile_id HAVING count(*) >= 2)
"""


def fifty_segments() -> list[dict]:
    found = []
    for days in (7, 30, 90, 180, 365):
        found.append({"event": "Order Completed", "within": f"{days}d"})
        found.append({"event": "Product Viewed", "measure": "count", "op": "gte", "value": 3, "within": f"{days}d"})
        found.append({"event": "Order Completed", "measure": "sum", "property": "revenue", "op": "gte",
                      "value": 100 * days // 7, "within": f"{days}d"})
        found.append({"all": [{"event": "Followed"}, {"rollup": "order_count", "op": "gte", "value": days // 60}]})
    for city in ("上海", "北京", "广州", "深圳", "杭州", "成都", "武汉", "南京", "重庆", "西安"):
        found.append({"trait": "city", "op": "eq", "value": city})
    for channel in ("xiaohongshu", "tmall_card", "store", "staff_link", "search", "invite"):
        found.append({"rollup": "first_channel", "op": "eq", "value": channel})
    for kind in ("phone", "email", "wechat_unionid", "member_id"):
        found.append({"identifier": kind})
    found.append({"not": {"event": "Order Completed", "within": "90d"}})
    found.append({"rollup": "last_seen_at", "op": "not_within_last", "value": "60d"})
    found.append({"any": [{"trait": "city", "op": "eq", "value": "上海"}, {"event": "Invite Sent"}]})
    found.append({"event": "Cart Viewed", "within": "30d"})
    found.append(TYPICAL)
    found.append({"rollup": "total_spend", "op": "gte", "value": 1000})
    return found[:50]


def fresh_url(database: str, workdir: Path) -> str:
    if database == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    import psycopg

    name = f"siyu_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def timed(function, runs: int = 5) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--burst", type=int, default=2_000, help="new events for the real-time measurement")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="siyu-bench-segments-"))
    url = fresh_url(args.database, workdir)
    rt = Runtime.from_config(Config(data_dir=workdir, database_url=url, secret="bench"), migrate=True)
    clock.freeze(NOW)
    with write(rt.engine) as conn:
        ws = workspace_store.create_workspace(conn, "bench")
    started = time.perf_counter()
    generate(rt, ws.id, customers=args.customers, seed=7, now=NOW)
    generated = time.perf_counter() - started
    with read(rt.engine) as conn:
        events_total = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        profiles_total = conn.execute(text("SELECT count(*) FROM profiles WHERE merged_into IS NULL")).scalar_one()

    tree = parse(TYPICAL)
    city = "json_extract(p.traits, '$.city')" if args.database == "sqlite" else "p.traits ->> 'city'"
    floor_sql = text(FLOOR_SQL.format(city=city))
    since = int((NOW - timedelta(days=365)).timestamp() * 1000)
    with read(rt.engine) as conn:
        compiled_s, compiled_count = timed(lambda: store.count(conn, ws.id, tree, NOW))
        floor_s, floor_count = timed(lambda: conn.execute(floor_sql, {"ws": ws.id, "since": since,
                                                                      "now": int(NOW.timestamp() * 1000)}).scalar_one())
    assert compiled_count == floor_count, (compiled_count, floor_count)

    with write(rt.engine) as conn:
        for number, definition in enumerate(fifty_segments()):
            membership.save(conn, ws.id, name=f"s{number}", description=None, definition=definition, actor="bench",
                            now=NOW, timezone="Asia/Shanghai")
    run_pass(rt)  # drain: the cursor starts at the log's end, so this is cheap
    clock.freeze(NOW + timedelta(hours=1))
    with read(rt.engine) as conn:
        known = list(conn.execute(text("SELECT value FROM identities WHERE workspace_id = :ws "
                                       "AND type = 'anonymous_id' ORDER BY value LIMIT 500"), {"ws": ws.id}).scalars())
    burst = [parse_message({"type": "track", "anonymousId": known[i % len(known)],
                            "event": ("Order Completed", "Product Viewed", "Cart Viewed")[i % 3],
                            "properties": {"revenue": 99}}, received_at=clock.now()) for i in range(args.burst)]
    with write(rt.engine) as conn:
        ingest(conn, ws.id, burst, rules=DEFAULT_RULES)
    start = time.perf_counter()
    result = run_pass(rt)
    realtime_s = time.perf_counter() - start
    figures = {
        "database": args.database, "customers": args.customers, "profiles": profiles_total, "events": events_total,
        "generate_s": round(generated, 1),
        "batch_segment_ms": round(compiled_s * 1000, 1), "batch_floor_ms": round(floor_s * 1000, 1),
        "batch_ratio_to_floor": round(compiled_s / floor_s, 2), "batch_count": compiled_count,
        "realtime_events": result.events, "realtime_segments": 50,
        "realtime_ms_per_event": round(realtime_s * 1000 / max(result.events, 1), 3),
    }
    print(json.dumps(figures, ensure_ascii=False))
    rt.engine.dispose()
    if args.database == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{rt.engine.url.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
