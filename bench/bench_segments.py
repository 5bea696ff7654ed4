"""Segment evaluation: batch evaluation against a hand-written SQL floor, and real-time cost per event.

    python bench/bench_segments.py --database sqlite --customers 20000
    python bench/bench_segments.py --database postgres --customers 20000

Generates the demo brand (seeded; not timed) into a fresh database, then:

1. batch — a typical 3-condition segment (ordered twice in the last year, has a phone, lives in
   上海) counted through the segment compiler, and the same question as the tightest SQL we could
   write by hand on the same database (the floor). Median of 5 runs each; the counts must agree.
2. real time — 50 saved segments (event, trait, tag, consent, score, rollup, identifier and
   segment-membership conditions), then new events from existing customers in three shapes, each
   timed through the worker's real-time step (``process_new_events``) and divided by the events
   sent: a burst of 2,000 events from 500 people, and 2,000 events from 2,000 different people,
   each drained to the end of the log (including reading back the Segment Entered / Exited events
   the pass wrote); and a trickle of 100 events that each arrive alone, each followed by one
   worker pass (which also reads the previous pass's Entered / Exited events): a quiet shop. The
   scheduled refresh (every segment for everyone, every 15 minutes whatever the traffic) is timed
   on its own: it is not real-time work, and before this file separated them it was counted in.
"""

from __future__ import annotations

import argparse
import json
import os
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
from siyu.segments import membership, realtime, store  # noqa: E402
from siyu.segments.parse import parse  # noqa: E402
from siyu.workspaces import store as workspace_store  # noqa: E402

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
TIMEZONE = "Asia/Shanghai"
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


def fifty_segments(first_saved: int) -> list[dict]:
    """The 50 live segments; ``first_saved`` is the id of the first one, which the last one tests."""
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
    found.append({"tag": ["高价值", "KOC"], "op": "any_of"})
    found.append({"consent": "sms", "purpose": "marketing"})
    found.append({"score": "rfm_segment", "op": "in", "value": ["champions", "loyal"]})
    found.append({"all": [{"segment": first_saved}, {"identifier": "phone"}]})
    assert len(found) == 50
    return found


def save_segments(rt: Runtime, workspace_id: int) -> None:
    with write(rt.engine) as conn:
        first = 0
        for number in range(50):
            saved = membership.save(conn, workspace_id, name=f"s{number}", description=None,
                                    definition=fifty_segments(first)[number], actor="bench", now=clock.now(),
                                    timezone=TIMEZONE)
            first = first or saved["id"]


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


def real_time(rt: Runtime, workspace_id: int) -> None:
    """The worker's real-time step (siyu.worker.run_pass without the scores and the scheduled
    refresh), until the log is drained."""
    while True:
        with write(rt.engine) as conn:
            if realtime.process_new_events(conn, workspace_id, clock.now(), TIMEZONE).events == 0:
                return


def send_events(rt: Runtime, workspace_id: int, people: list[str], count: int) -> None:
    """``count`` track calls from these known people (by anonymous id), in turn."""
    burst = [parse_message({"type": "track", "anonymousId": people[i % len(people)],
                            "event": ("Order Completed", "Product Viewed", "Cart Viewed")[i % 3],
                            "properties": {"revenue": 99}}, received_at=clock.now()) for i in range(count)]
    with write(rt.engine) as conn:
        ingest(conn, workspace_id, burst, rules=DEFAULT_RULES)


def measure_real_time(rt: Runtime, workspace_id: int, known: list[str], burst: int) -> dict[str, float]:
    """Milliseconds per event for the three shapes of traffic (see the module docstring)."""
    figures = {}
    for label, people in (("burst_500_people", known[:500]), (f"spread_{burst}_people", known[500:500 + burst])):
        clock.advance(timedelta(hours=1))
        send_events(rt, workspace_id, people, burst)
        start = time.perf_counter()
        real_time(rt, workspace_id)
        figures[f"realtime_{label}_ms_per_event"] = round((time.perf_counter() - start) * 1000 / burst, 3)
    clock.advance(timedelta(hours=1))
    trickle, took = known[500 + burst:600 + burst], 0.0
    for person in trickle:  # as the worker sees a quiet shop: one pass per event (and the last one's echoes)
        send_events(rt, workspace_id, [person], 1)
        start = time.perf_counter()
        with write(rt.engine) as conn:
            realtime.process_new_events(conn, workspace_id, clock.now(), TIMEZONE)
        took += time.perf_counter() - start
    figures["realtime_trickle_ms_per_event"] = round(took * 1000 / len(trickle), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--burst", type=int, default=2_000, help="new events for each real-time burst")
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

    save_segments(rt, ws.id)
    real_time(rt, ws.id)  # the cursor starts at the log's end: nothing to do
    with read(rt.engine) as conn:
        known = list(conn.execute(text("SELECT value FROM identities WHERE workspace_id = :ws "
                                       "AND type = 'anonymous_id' ORDER BY value LIMIT :n"),
                                  {"ws": ws.id, "n": 600 + args.burst}).scalars())
    load_before = os.getloadavg()
    realtime_figures = measure_real_time(rt, ws.id, known, args.burst)
    load_after = os.getloadavg()
    start = time.perf_counter()
    with write(rt.engine) as conn:
        membership.refresh(conn, ws.id, clock.now(), TIMEZONE)
    refresh_s = time.perf_counter() - start
    figures = {
        "database": args.database, "customers": args.customers, "profiles": profiles_total, "events": events_total,
        "generate_s": round(generated, 1),
        "batch_segment_ms": round(compiled_s * 1000, 1), "batch_floor_ms": round(floor_s * 1000, 1),
        "batch_ratio_to_floor": round(compiled_s / floor_s, 2), "batch_count": compiled_count,
        "realtime_segments": 50, **realtime_figures,
        "scheduled_refresh_of_50_segments_s": round(refresh_s, 2),
        "load_average_1_5_15": {"before_real_time": [round(x, 2) for x in load_before],
                                "after_real_time": [round(x, 2) for x in load_after]},
    }
    print(json.dumps(figures, ensure_ascii=False))
    rt.engine.dispose()
    if args.database == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{rt.engine.url.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
