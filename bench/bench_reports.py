"""Reports on a large mirror: retention by channel and a 4-step funnel, against hand-written DuckDB SQL.

    python bench/bench_reports.py --events 20000000
    python bench/bench_reports.py --events 2000000 --runs 5

Generates N synthetic events (seeded, vectorised with NumPy) straight into the mirror's format — Parquet
parts of 2,000,000 rows with the mirror's schema and settings, and a manifest — in a temporary directory;
no operational database is involved, so the reports' own sync (6 ms on an up-to-date mirror, see
docs/analytics.md) is not part of the figures. Then, each in a fresh child process so that its peak RSS is
its own, for each question:

* **siyu**: the report's store query and pure shaping (``retention_store`` + ``build_retention``,
  ``funnel_store`` + ``build_funnel``) on an :class:`AnalyticsEngine` over the mirror's views — the code
  behind ``/api/reports/retention?period=week&breakdown=channel`` and ``/api/reports/funnel``;
* **floor**: the same question as the tightest DuckDB SQL written by hand over ``read_parquet`` of the same
  files, with the same memory limit and threads.

The answers must agree; it prints the median seconds of ``--runs`` runs, the ratio to the floor and the
child's peak RSS (``VmHWM``, interpreter and imports included).

The data: people arrive uniformly over ``--days`` days (first event = first seen); each person's events
follow their arrival with exponentially spaced gaps (activity fades), in the proportions of a shop
(views, products, carts, checkouts, orders with amounts, a few accepted invitations). Half the events carry
the person's acquisition channel. Ids are in insertion order, timestamps are not (as with late events).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from siyu.analytics.mirror import PART_ROWS  # noqa: E402
from siyu.analytics.mirror_files import (  # noqa: E402
    DICTIONARY_COLUMNS,
    EVENT_SCHEMA,
    ROW_GROUP_ROWS,
    Manifest,
    MirrorDirectory,
    parquet_writer,
)

WORKSPACE = 1
ZONE = ZoneInfo("Asia/Shanghai")
END = date(2026, 3, 31)  # the last day of data and of both reports' ranges
NAMES = ["Page Viewed", "Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Invite Accepted"]
WEIGHTS = [0.50, 0.25, 0.12, 0.06, 0.05, 0.02]
CHANNELS = ["wechat", "wecom", "douyin", "xiaohongshu", "tmall_card", "store", "staff_link", "official_account"]
FUNNEL = ["Page Viewed", "Product Viewed", "Product Added", "Order Completed"]
RETENTION_FROM, FUNNEL_FROM = date(2026, 1, 5), date(2026, 3, 1)  # 12 Monday weeks; the last month


def generate(directory: MirrorDirectory, events: int, people: int, days: int, seed: int) -> Manifest:
    rng = np.random.default_rng(seed)
    end_ms = int(datetime(END.year, END.month, END.day, tzinfo=ZONE).timestamp() * 1000) + 86_400_000
    start_ms = end_ms - days * 86_400_000
    arrival = rng.integers(start_ms, end_ms, size=people, dtype=np.int64)
    channel_of = rng.integers(0, len(CHANNELS), size=people)
    skus = np.array([f'{{"sku": "SKU-{i:04d}"}}' for i in range(500)], dtype=object)
    manifest = Manifest(WORKSPACE)
    next_id = 1
    for offset in range(0, events, PART_ROWS):
        rows = min(PART_ROWS, events - offset)
        person = rng.integers(0, people, size=rows)
        # Each person's first event is at arrival; the rest follow at exponentially spaced gaps (mean 9 days).
        later = arrival[person] + rng.exponential(9 * 86_400_000, size=rows).astype(np.int64)
        first = rng.random(rows) < people / events
        timestamp = np.minimum(np.where(first, arrival[person], later), end_ms - 1)
        name_index = rng.choice(len(NAMES), size=rows, p=WEIGHTS)
        names = np.array(NAMES, dtype=object)[name_index]
        is_order = name_index == NAMES.index("Order Completed")
        revenue = np.where(is_order, np.round(rng.uniform(29, 2999, size=rows), 2), np.nan)
        channel = np.where(
            rng.random(rows) < 0.5, np.array(CHANNELS, dtype=object)[channel_of[person]], np.array(None, dtype=object)
        )
        properties = np.where(name_index == 1, skus[rng.integers(0, 500, size=rows)], "{}")
        ids = np.arange(next_id, next_id + rows, dtype=np.int64)
        batch = pa.RecordBatch.from_pydict(
            {
                "id": ids,
                "workspace_id": np.full(rows, WORKSPACE, dtype=np.int32),
                "profile_id": person.astype(np.int64) + 1,
                "type": np.full(rows, "track", dtype=object),
                "name": names,
                "timestamp": timestamp,
                "received_at": timestamp,
                "source": np.full(rows, "bench", dtype=object),
                "anonymous_id": pa.nulls(rows, pa.string()),
                "user_id": pa.nulls(rows, pa.string()),
                "properties": properties,
                "revenue": pa.array(revenue, from_pandas=True),
                "channel": channel,
            },
            schema=EVENT_SCHEMA,
        )
        temporary = directory.new_temporary("events")
        writer = parquet_writer(temporary, EVENT_SCHEMA, DICTIONARY_COLUMNS)
        writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
        writer.close()
        manifest.parts.append(directory.publish(temporary, rows, min_id=next_id, max_id=next_id + rows - 1))
        next_id += rows
    manifest.watermark = next_id - 1
    manifest.generation = 1
    directory.write_manifest(manifest)
    return manifest


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp() * 1000)


def siyu_retention(directory: MirrorDirectory, memory_limit: str) -> object:
    from siyu.analytics.engine import AnalyticsEngine
    from siyu.analytics.reports.models import parse_retention
    from siyu.analytics.reports.retention import build_retention
    from siyu.analytics.reports.retention_store import retention_counts

    query = parse_retention(
        start=RETENTION_FROM.isoformat(), end=END.isoformat(), period="week", event=None, breakdown="channel", today=END
    )
    engine = AnalyticsEngine(directory, memory_limit=memory_limit)
    engine.execute("SET enable_progress_bar = false")  # as run_report does
    try:
        report = build_retention(query, retention_counts(engine, WORKSPACE, query, ZONE), ZONE, _ms(END) + 86_400_000)
    finally:
        engine.close()
    return sorted(
        (r.cohort, r.breakdown, r.people, tuple(c.returned for c in r.cells), tuple(c.on_or_after for c in r.cells))
        for r in report.rows
    )


def floor_retention(directory: MirrorDirectory, memory_limit: str, files: list[str]) -> object:
    import duckdb

    start, end = _ms(RETENTION_FROM), _ms(END) + 86_400_000
    week = "((timestamp + 28800000) // 86400000 + 3) // 7"  # Shanghai has one offset, +08:00: no CASE
    sql = f"""
        WITH cohort AS (
            SELECT profile_id, ((min(timestamp) + 28800000) // 86400000 + 3) // 7 AS c,
                   coalesce(arg_min(channel, [timestamp, id]) FILTER (WHERE channel IS NOT NULL), 'unknown') AS ch
            FROM read_parquet({files}) GROUP BY profile_id HAVING min(timestamp) >= {start} AND min(timestamp) < {end}),
        weeks AS (SELECT DISTINCT profile_id, {week} AS w FROM read_parquet({files})
                  WHERE timestamp >= {start} AND timestamp < {end}),
        offsets AS (SELECT c, ch, profile_id, w - c AS n FROM cohort JOIN weeks USING (profile_id))
        SELECT 'people', c, ch, 0, count(*) FROM cohort GROUP BY ALL
        UNION ALL SELECT 'on', c, ch, n, count(*) FROM offsets GROUP BY ALL
        UNION ALL SELECT 'last', c, ch, m, count(*)
        FROM (SELECT c, ch, max(n) AS m FROM offsets GROUP BY c, ch, profile_id) GROUP BY ALL"""
    connection = duckdb.connect(config={"memory_limit": memory_limit, "threads": 2})
    connection.execute("SET enable_progress_bar = false")
    rows = connection.sql(sql).fetchall()
    connection.close()
    people: dict[Any, int] = {}
    on: dict[Any, int] = {}
    last: dict[Any, int] = {}
    for kind, cohort, channel, n, count in rows:
        {"people": people, "on": on, "last": last}[kind][
            (cohort, channel) if kind == "people" else (cohort, channel, n)
        ] = count
    final_week = ((_ms(END) + 28_800_000) // 86_400_000 + 3) // 7
    answer = []
    for (cohort, channel), size in people.items():
        weeks = range(final_week - cohort + 1)
        label = date.fromordinal(date(1970, 1, 1).toordinal() + cohort * 7 - 3).isoformat()
        after = tuple(sum(v for (c, h, m), v in last.items() if (c, h) == (cohort, channel) and m >= n) for n in weeks)
        answer.append((label, channel, size, tuple(on.get((cohort, channel, n), 0) for n in weeks), after))
    return sorted(answer)


def siyu_funnel(directory: MirrorDirectory, memory_limit: str) -> object:
    from siyu.analytics.engine import AnalyticsEngine
    from siyu.analytics.reports.funnel import build_funnel
    from siyu.analytics.reports.funnel_store import funnel_counts
    from siyu.analytics.reports.models import parse_funnel

    query = parse_funnel(
        start=FUNNEL_FROM.isoformat(), end=END.isoformat(), steps=FUNNEL, window="7d", breakdown=None, today=END
    )
    engine = AnalyticsEngine(directory, memory_limit=memory_limit)
    engine.execute("SET enable_progress_bar = false")  # as run_report does
    try:
        report = build_funnel(query, funnel_counts(engine, WORKSPACE, query, ZONE))
    finally:
        engine.close()
    return list(report.total.people)


def floor_funnel(directory: MirrorDirectory, memory_limit: str, files: list[str]) -> object:
    import duckdb

    start, end, window = _ms(FUNNEL_FROM), _ms(END) + 86_400_000, 7 * 86_400_000
    names = ", ".join(f"'{n}'" for n in FUNNEL)
    steps = [
        f"""s1 AS (SELECT profile_id, min([timestamp, id]) AS at, min(timestamp) AS t0 FROM e
                        WHERE name = '{FUNNEL[0]}' AND timestamp < {end} GROUP BY profile_id)"""
    ]
    for k in range(2, len(FUNNEL) + 1):
        steps.append(f"""s{k} AS (SELECT p.profile_id, min([e.timestamp, e.id]) AS at, any_value(p.t0) AS t0
                         FROM s{k - 1} p JOIN e ON e.profile_id = p.profile_id
                         WHERE e.name = '{FUNNEL[k - 1]}' AND [e.timestamp, e.id] > p.at
                           AND e.timestamp < p.t0 + {window} GROUP BY p.profile_id)""")
    counts = ", ".join(f"(SELECT count(*) FROM s{k})" for k in range(1, len(FUNNEL) + 1))
    sql = f"""
        WITH e AS MATERIALIZED (SELECT profile_id, id, timestamp, name FROM read_parquet({files})
                                WHERE name IN ({names}) AND timestamp >= {start} AND timestamp < {end + window}),
        {", ".join(steps)}
        SELECT {counts}"""
    connection = duckdb.connect(config={"memory_limit": memory_limit, "threads": 2})
    connection.execute("SET enable_progress_bar = false")
    row = connection.execute(sql).fetchall()[0]
    connection.close()
    return list(row)


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that across fork and exec, so a child
    spawned by a parent holding the generated data would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


QUESTIONS = {"siyu retention": siyu_retention, "siyu funnel": siyu_funnel}
FLOORS = {"floor retention": floor_retention, "floor funnel": floor_funnel}


def _child(question: str, root: str, memory_limit: str, files: list[str], queue: multiprocessing.Queue) -> None:
    import duckdb  # noqa: F401 - imports are not what is measured

    import siyu.analytics.engine  # noqa: F401
    import siyu.analytics.reports.run  # noqa: F401

    directory = MirrorDirectory(Path(root), WORKSPACE)
    started = time.perf_counter()
    try:
        if question in QUESTIONS:
            answer = QUESTIONS[question](directory, memory_limit)
        else:
            answer = FLOORS[question](directory, memory_limit, files)
    except BaseException:  # noqa: BLE001 - sent to the parent, which stops with it
        queue.put(("error", traceback.format_exc()))
        raise
    seconds = time.perf_counter() - started
    queue.put((seconds, _peak_rss_mb(), answer))


def measure(question: str, root: Path, memory_limit: str, files: list[str], runs: int) -> tuple[float, float, object]:
    context = multiprocessing.get_context("spawn")
    times, peaks, answer = [], [], None
    for _ in range(runs):
        queue = context.Queue()
        child = context.Process(target=_child, args=(question, str(root), memory_limit, files, queue))
        child.start()
        result = queue.get()
        child.join()
        if result[0] == "error":
            raise SystemExit(f"{question} failed:\n{result[1]}")
        seconds, peak_mb, answer = result
        times.append(seconds)
        peaks.append(peak_mb)
    return statistics.median(times), max(peaks), answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--people", type=int, default=0, help="default: one per 40 events")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GB", help="SIYU_ANALYTICS_MEMORY_LIMIT of the engine and the floor")
    parser.add_argument("--seed", type=int, default=42)
    arguments = parser.parse_args()
    people = arguments.people or max(arguments.events // 40, 1)
    root = Path(tempfile.mkdtemp(prefix="siyu-bench-reports-"))
    try:
        directory = MirrorDirectory(root, WORKSPACE)
        started = time.perf_counter()
        manifest = generate(directory, arguments.events, people, arguments.days, arguments.seed)
        size = sum(p.bytes for p in manifest.parts)
        print(
            f"generated {arguments.events:,} events of {people:,} people over {arguments.days} days: "
            f"{len(manifest.parts)} parts, {size / 1e6:,.0f} MB of Parquet, {time.perf_counter() - started:.1f} s"
        )
        files = [str(directory.file(p.file)) for p in manifest.parts]
        print(f"memory limit {arguments.memory_limit}, 2 threads, median of {arguments.runs} runs")
        print(f"{'question':<42} {'siyu s':>8} {'floor s':>8} {'ratio':>6} {'siyu RSS':>9} {'floor RSS':>9}")
        for label, name in (
            ("retention, weekly, by channel (12 weeks)", "retention"),
            ("funnel, 4 steps, 7-day window (1 month)", "funnel"),
        ):
            ours, our_peak, our_answer = measure(f"siyu {name}", root, arguments.memory_limit, files, arguments.runs)
            floor, floor_peak, floor_answer = measure(
                f"floor {name}", root, arguments.memory_limit, files, arguments.runs
            )
            if our_answer != floor_answer:
                raise SystemExit(f"{name}: siyu and the floor disagree:\n{our_answer!r:.2000}\n{floor_answer!r:.2000}")
            print(
                f"{label:<42} {ours:>8.2f} {floor:>8.2f} {ours / floor:>6.2f} {our_peak:>7.0f} MB {floor_peak:>7.0f} MB"
            )
            if name == "funnel":
                print(f"  funnel people per step: {our_answer}")
            else:
                print(f"  retention rows (cohort x channel): {len(our_answer)}, agree with the floor")  # type: ignore[arg-type]
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
