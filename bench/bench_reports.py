"""Reports on a large mirror: retention by channel and a 4-step funnel, against hand-written DuckDB SQL.

    python bench/bench_reports.py --events 20000000
    python bench/bench_reports.py --events 2000000 --runs 5

The data is the demo brand's (``demo_data.py``: the demo generator's people and stories, with extra
mini-program visits to reach the requested number of events, written straight into the mirror's format
and cached), or with ``--data synthetic`` N synthetic events (seeded, vectorised with NumPy) straight
into the mirror's format — Parquet parts of 2,000,000 rows with the mirror's schema and settings, and a
manifest — in a temporary directory. No operational database is involved, so the reports' own sync
(6 ms on an up-to-date mirror, see docs/analytics.md) is not part of the figures. Then, each in a fresh
child process so that its peak RSS is its own, for each question:

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
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from datetime import date, datetime, timedelta
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
# The demo's shop visits are ``page`` calls (the mini program's home page); the synthetic data names them.
FUNNEL = (["page", "Product Viewed", "Product Added", "Order Completed"]
          if os.environ.get("SIYU_BENCH_DATA", "demo") == "demo"
          else ["Page Viewed", "Product Viewed", "Product Added", "Order Completed"])
RETENTION_FROM, FUNNEL_FROM = date(2026, 1, 5), date(2026, 3, 1)  # 12 Monday weeks; the last month
ACTIVITY_FROM, CHANNELS_FROM = date(2026, 3, 2), date(2026, 1, 1)  # the last 30 days; the last quarter


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
        # Rows in a part are ordered by (name, timestamp, id), as the mirror writes every part spanning row groups.
        name_rank = np.argsort(np.argsort(np.array(NAMES, dtype=object)))  # a name's place in sorted order
        order = np.lexsort((ids, timestamp, name_rank[name_index]))
        person, timestamp, names, revenue, channel, properties, ids = (
            column[order] for column in (person, timestamp, names, revenue, channel, properties, ids)
        )
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


def build_aggregates(directory: MirrorDirectory, manifest: Manifest, memory_limit: str) -> float:
    """The mirror's aggregates of every part, by the code a rebuild (or a time-zone change) runs; seconds taken."""
    from siyu.analytics import mirror_aggregates

    started = time.perf_counter()
    mirror_aggregates.build_all(directory, manifest, ZONE, _ms(END) + DAY, memory_limit)
    manifest.generation += 1
    directory.write_manifest(manifest)
    return time.perf_counter() - started


DAY = 86_400_000
SHANGHAI_MS = 28_800_000  # Shanghai has one offset, +08:00, over the data: no CASE in the floors


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp() * 1000)


def _day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _engine(directory: MirrorDirectory, memory_limit: str) -> Any:
    from siyu.analytics.engine import AnalyticsEngine

    engine = AnalyticsEngine(directory, memory_limit=memory_limit)
    engine.execute("SET enable_progress_bar = false")  # as run_report does
    assert engine.aggregates_ready(ZONE), "the generated mirror's aggregates should be complete"
    return engine


def _floor(sql: str, memory_limit: str) -> list[tuple[Any, ...]]:
    import duckdb

    connection = duckdb.connect(config={"memory_limit": memory_limit, "threads": 2})
    connection.execute("SET enable_progress_bar = false")
    rows = connection.sql(sql).fetchall()
    connection.close()
    return rows


# --- retention: weekly cohorts by first channel, 12 weeks ----------------------------------------------


def siyu_retention(directory: MirrorDirectory, memory_limit: str) -> object:
    from siyu.analytics.reports.models import parse_retention
    from siyu.analytics.reports.retention import build_retention
    from siyu.analytics.reports.retention_store import retention_counts

    query = parse_retention(
        start=RETENTION_FROM.isoformat(), end=END.isoformat(), period="week", event=None, breakdown="channel", today=END
    )
    engine = _engine(directory, memory_limit)
    try:
        report = build_retention(query, retention_counts(engine, WORKSPACE, query, ZONE), ZONE, _ms(END) + DAY)
    finally:
        engine.close()
    return sorted(
        (r.cohort, r.breakdown, r.people, tuple(c.returned for c in r.cells), tuple(c.on_or_after for c in r.cells))
        for r in report.rows
    )


def _retention_answer(rows: list[tuple[Any, ...]]) -> object:
    people: dict[Any, int] = {}
    on: dict[Any, int] = {}
    last: dict[Any, int] = {}
    for kind, cohort, channel, n, count in rows:
        {"people": people, "on": on, "last": last}[kind][
            (cohort, channel) if kind == "people" else (cohort, channel, n)
        ] = count
    final_week = ((_ms(END) + SHANGHAI_MS) // DAY + 3) // 7
    answer = []
    for (cohort, channel), size in people.items():
        weeks = range(final_week - cohort + 1)
        label = date.fromordinal(date(1970, 1, 1).toordinal() + cohort * 7 - 3).isoformat()
        after = tuple(sum(v for (c, h, m), v in last.items() if (c, h) == (cohort, channel) and m >= n) for n in weeks)
        answer.append((label, channel, size, tuple(on.get((cohort, channel, n), 0) for n in weeks), after))
    return sorted(answer)


_RETENTION_TAIL = """
        offsets AS (SELECT c, ch, profile_id, w - c AS n FROM cohort JOIN weeks USING (profile_id) WHERE w >= c)
        SELECT 'people', c, ch, 0, count(*) FROM cohort GROUP BY ALL
        UNION ALL SELECT 'on', c, ch, n, count(*) FROM offsets GROUP BY ALL
        UNION ALL SELECT 'last', c, ch, m, count(*)
        FROM (SELECT c, ch, max(n) AS m FROM offsets GROUP BY c, ch, profile_id) GROUP BY ALL"""


def floor_retention(memory_limit: str, files: dict[str, list[str]]) -> object:
    events = f"read_parquet({files['events']})"
    start, end = _ms(RETENTION_FROM), _ms(END) + DAY
    sql = (
        f"""
        WITH cohort AS (
            SELECT profile_id, ((min(timestamp) + {SHANGHAI_MS}) // {DAY} + 3) // 7 AS c,
                   coalesce(arg_min(channel, [timestamp, id]) FILTER (WHERE channel IS NOT NULL), 'unknown') AS ch
            FROM {events} GROUP BY profile_id HAVING min(timestamp) >= {start} AND min(timestamp) < {end}),
        weeks AS (SELECT DISTINCT profile_id, ((timestamp + {SHANGHAI_MS}) // {DAY} + 3) // 7 AS w FROM {events}
                  WHERE timestamp >= {start} AND timestamp < {end}),"""
        + _RETENTION_TAIL
    )
    return _retention_answer(_floor(sql, memory_limit))


def floor_retention_aggregates(memory_limit: str, files: dict[str, list[str]]) -> object:
    start, end = _ms(RETENTION_FROM), _ms(END) + DAY
    key = "CAST(channel_ms AS HUGEINT) * 9223372036854775808 + channel_id"
    sql = (
        f"""
        WITH cohort AS (
            SELECT profile_id, ((min(first_ms) + {SHANGHAI_MS}) // {DAY} + 3) // 7 AS c,
                   coalesce(arg_min(channel, {key}) FILTER (WHERE channel IS NOT NULL), 'unknown') AS ch
            FROM read_parquet({files["first_touch"]}) GROUP BY profile_id
            HAVING min(first_ms) >= {start} AND min(first_ms) < {end}),
        weeks AS (SELECT DISTINCT profile_id, (day + 3) // 7 AS w FROM read_parquet({files["person_days"]})
                  WHERE day >= {_day(RETENTION_FROM)} AND day < {_day(END) + 1}),"""
        + _RETENTION_TAIL
    )
    return _retention_answer(_floor(sql, memory_limit))


# --- funnel: 4 steps, 7-day window, one month -----------------------------------------------------------


def siyu_funnel(directory: MirrorDirectory, memory_limit: str) -> object:
    from siyu.analytics.reports.funnel import build_funnel
    from siyu.analytics.reports.funnel_store import funnel_counts
    from siyu.analytics.reports.models import parse_funnel

    query = parse_funnel(
        start=FUNNEL_FROM.isoformat(), end=END.isoformat(), steps=FUNNEL, window="7d", breakdown=None, today=END
    )
    engine = _engine(directory, memory_limit)
    try:
        report = build_funnel(query, funnel_counts(engine, WORKSPACE, query, ZONE))
    finally:
        engine.close()
    return list(report.total.people)


def floor_funnel(memory_limit: str, files: dict[str, list[str]]) -> object:
    start, end, window = _ms(FUNNEL_FROM), _ms(END) + DAY, 7 * DAY
    names = ", ".join(f"'{n}'" for n in FUNNEL)
    # (timestamp, id) as one HUGEINT that orders like the pair, as siyu does: lists compare several times slower.
    steps = [
        f"""s1 AS (SELECT profile_id, min(k) AS k, min(timestamp) AS t0 FROM e
                        WHERE name = '{FUNNEL[0]}' AND timestamp < {end} GROUP BY profile_id)"""
    ]
    for k in range(2, len(FUNNEL) + 1):
        steps.append(f"""s{k} AS (SELECT p.profile_id, min(e.k) AS k, any_value(p.t0) AS t0
                         FROM s{k - 1} p JOIN e ON e.profile_id = p.profile_id
                         WHERE e.name = '{FUNNEL[k - 1]}' AND e.k > p.k
                           AND e.timestamp < p.t0 + {window} GROUP BY p.profile_id)""")
    counts = ", ".join(f"(SELECT count(*) FROM s{k})" for k in range(1, len(FUNNEL) + 1))
    sql = f"""
        WITH e AS MATERIALIZED (SELECT profile_id, CAST(timestamp AS HUGEINT) * 9223372036854775808 + id AS k,
                                       timestamp, name FROM read_parquet({files["events"]})
                                WHERE name IN ({names}) AND timestamp >= {start} AND timestamp < {end + window}),
        {", ".join(steps)}
        SELECT {counts}"""
    return list(_floor(sql, memory_limit)[0])


# --- activity: DAU, rolling WAU and MAU for each day of the last 30 ---------------------------------------


def siyu_activity(directory: MirrorDirectory, memory_limit: str) -> object:
    from siyu.analytics.reports.activity import build_activity
    from siyu.analytics.reports.activity_store import active_day_changes
    from siyu.analytics.reports.models import parse_activity

    query = parse_activity(start=ACTIVITY_FROM.isoformat(), end=END.isoformat(), event=None, today=END)
    engine = _engine(directory, memory_limit)
    try:
        report = build_activity(query, active_day_changes(engine, WORKSPACE, query, ZONE))
    finally:
        engine.close()
    return [(d.day.isoformat(), d.dau, d.wau, d.mau) for d in report.days]


def _activity_answer(days_sql: str, memory_limit: str) -> object:
    """Each person-day opens the part of each window the person's previous active day did not (see activity.py)."""
    sql = f"""
        WITH d AS ({days_sql}),
        o AS (SELECT day, lag(day) OVER (PARTITION BY profile_id ORDER BY day) AS previous FROM d),
        w(name, width) AS (VALUES ('dau', 1), ('wau', 7), ('mau', 30))
        SELECT name, greatest(day, coalesce(previous + width, day)), count(*) FROM o, w GROUP BY ALL
        UNION ALL SELECT name, day + width, -count(*) FROM o, w GROUP BY ALL"""
    changes: dict[str, dict[int, int]] = {"dau": {}, "wau": {}, "mau": {}}
    for name, day, delta in _floor(sql, memory_limit):
        changes[name][day] = changes[name].get(day, 0) + delta
    first, last = _day(ACTIVITY_FROM), _day(END)
    series = {}
    for name, points in changes.items():
        running = sum(v for k, v in points.items() if k < first)
        series[name] = []
        for day in range(first, last + 1):
            running += points.get(day, 0)
            series[name].append(running)
    return [
        (
            (date(1970, 1, 1) + timedelta(days=first + i)).isoformat(),
            series["dau"][i],
            series["wau"][i],
            series["mau"][i],
        )
        for i in range(last - first + 1)
    ]


def floor_activity(memory_limit: str, files: dict[str, list[str]]) -> object:
    lookback = ACTIVITY_FROM - timedelta(days=29)
    days = f"""SELECT DISTINCT profile_id, (timestamp + {SHANGHAI_MS}) // {DAY} AS day
               FROM read_parquet({files["events"]})
               WHERE timestamp >= {_ms(lookback)} AND timestamp < {_ms(END) + DAY}"""
    return _activity_answer(days, memory_limit)


def floor_activity_aggregates(memory_limit: str, files: dict[str, list[str]]) -> object:
    lookback = ACTIVITY_FROM - timedelta(days=29)
    days = f"""SELECT DISTINCT profile_id, day FROM read_parquet({files["person_days"]})
               WHERE day >= {_day(lookback)} AND day < {_day(END) + 1}"""
    return _activity_answer(days, memory_limit)


# --- channels: new customers of a quarter by first channel; AARRR: the last month -------------------------


def _channel_figures(directory: MirrorDirectory, memory_limit: str, first: date) -> Any:
    from siyu.analytics.reports.channel_store import new_customer_figures
    from siyu.analytics.reports.models import DateRange

    engine = _engine(directory, memory_limit)
    try:
        now = datetime.fromtimestamp((_ms(END) + DAY) / 1000, ZONE)
        return engine, new_customer_figures(engine, WORKSPACE, DateRange(first, END), ZONE, now)
    except BaseException:
        engine.close()
        raise


def siyu_channels(directory: MirrorDirectory, memory_limit: str) -> object:
    from siyu.analytics.reports.channels import build_channels
    from siyu.analytics.reports.models import parse_channels

    query = parse_channels(start=CHANNELS_FROM.isoformat(), end=END.isoformat(), today=END)
    engine, (figures, total, _) = _channel_figures(directory, memory_limit, CHANNELS_FROM)
    engine.close()
    report = build_channels(query, figures, total, {})
    return sorted(
        (r.channel, r.new_customers, r.matured_30d, r.returned_30d, r.buyers_90d, round(r.revenue_90d, 2))
        for r in (*report.rows, report.total)
    )


def _channels_sql(files: dict[str, list[str]], first: date, aggregates: bool) -> str:
    """(channel or 'all', new, matured, returned, buyers, revenue, activated) for people first seen from ``first``."""
    start, end, today = _ms(first), _ms(END) + DAY, _day(END) + 1
    events = f"read_parquet({files['events']})"
    if aggregates:
        key = "CAST(channel_ms AS HUGEINT) * 9223372036854775808 + channel_id"
        people = f"""SELECT profile_id, min(first_ms) AS f,
                            arg_min(channel, {key}) FILTER (WHERE channel IS NOT NULL) AS ch
                     FROM read_parquet({files["first_touch"]}) GROUP BY profile_id
                     HAVING min(first_ms) >= {start} AND min(first_ms) < {end}"""
        returned = f"""SELECT DISTINCT t.profile_id
                       FROM t JOIN read_parquet({files["person_days"]}) d USING (profile_id)
                       WHERE t.fd + 30 < {today} AND d.day BETWEEN t.fd + 1 AND t.fd + 30
                         AND d.day > {_day(first)} AND d.day < {today + 30}"""
    else:
        people = f"""SELECT profile_id, min(timestamp) AS f,
                            arg_min(channel, [timestamp, id]) FILTER (WHERE channel IS NOT NULL) AS ch
                     FROM {events} GROUP BY profile_id HAVING min(timestamp) >= {start} AND min(timestamp) < {end}"""
        returned = f"""SELECT DISTINCT t.profile_id FROM t JOIN {events} e USING (profile_id)
                       WHERE t.fd + 30 < {today} AND e.timestamp >= {start} AND e.timestamp < {end + 31 * DAY}
                         AND (e.timestamp + {SHANGHAI_MS}) // {DAY} BETWEEN t.fd + 1 AND t.fd + 30"""
    return f"""
        WITH p AS ({people}),
        t AS (SELECT profile_id, f, (f + {SHANGHAI_MS}) // {DAY} AS fd, coalesce(ch, 'unknown') AS ch FROM p),
        r AS ({returned}),
        b AS (SELECT t.profile_id, sum(coalesce(e.revenue, 0)) AS revenue,
                     min(e.timestamp) < any_value(t.f) + {7 * DAY} AS a
              FROM t JOIN {events} e USING (profile_id)
              WHERE e.name = 'Order Completed' AND e.timestamp >= {start} AND e.timestamp < {end + 90 * DAY}
                AND e.timestamp >= t.f AND e.timestamp < t.f + {90 * DAY}
              GROUP BY t.profile_id)
        SELECT coalesce(t.ch, 'all'), count(*), count(*) FILTER (WHERE fd + 30 < {today}), count(r.profile_id),
               count(b.profile_id), round(coalesce(sum(b.revenue), 0), 2), count(*) FILTER (WHERE b.a)
        FROM t LEFT JOIN r USING (profile_id) LEFT JOIN b USING (profile_id)
        GROUP BY ROLLUP (t.ch)"""


def floor_channels(memory_limit: str, files: dict[str, list[str]]) -> object:
    return sorted(tuple(row[:6]) for row in _floor(_channels_sql(files, CHANNELS_FROM, False), memory_limit))


def floor_channels_aggregates(memory_limit: str, files: dict[str, list[str]]) -> object:
    return sorted(tuple(row[:6]) for row in _floor(_channels_sql(files, CHANNELS_FROM, True), memory_limit))


def siyu_aarrr(directory: MirrorDirectory, memory_limit: str) -> object:
    from siyu.analytics.reports.aarrr import build_overview
    from siyu.analytics.reports.aarrr_store import referral_figures
    from siyu.analytics.reports.calendar import Period
    from siyu.analytics.reports.models import parse_overview
    from siyu.analytics.reports.revenue_store import revenue_by_period

    query = parse_overview(start=FUNNEL_FROM.isoformat(), end=END.isoformat(), today=END)
    engine, (figures, total, activated) = _channel_figures(directory, memory_limit, FUNNEL_FROM)
    try:
        _, revenue = revenue_by_period(engine, WORKSPACE, query.range, Period.MONTH, ZONE)
        referrals = referral_figures(engine, WORKSPACE, query.range, ZONE)
    finally:
        engine.close()
    report = build_overview(query, figures, total, activated, revenue, referrals)
    return [(s.stage, s.measure, s.value) for s in report.stages]


def _aarrr_floor(memory_limit: str, files: dict[str, list[str]], aggregates: bool) -> object:
    start, end = _ms(FUNNEL_FROM), _ms(END) + DAY
    channels = {row[0]: row for row in _floor(_channels_sql(files, FUNNEL_FROM, aggregates), memory_limit)}
    _, new, matured, returned, _, _, activated = channels["all"]
    ((amount, orders, buyers, invites, inviters),) = _floor(
        f"""SELECT coalesce(sum(revenue) FILTER (WHERE name = 'Order Completed'), 0),
                   count(*) FILTER (WHERE name = 'Order Completed'),
                   count(DISTINCT profile_id) FILTER (WHERE name = 'Order Completed'),
                   count(*) FILTER (WHERE name = 'Invite Accepted'),
                   count(DISTINCT profile_id) FILTER (WHERE name = 'Invite Accepted')
            FROM read_parquet({files["events"]})
            WHERE name IN ('Order Completed', 'Invite Accepted') AND timestamp >= {start} AND timestamp < {end}""",
        memory_limit,
    )
    return [
        ("acquisition", "new_customers", new),
        ("activation", "first_order_within_7_days", activated),
        ("retention", "returned_within_30_days", returned),
        ("revenue", "revenue", round(amount, 2)),
        ("revenue", "orders", orders),
        ("revenue", "buyers", buyers),
        ("revenue", "average_order_value", round(amount / orders, 2) if orders else 0.0),
        ("referral", "invites_accepted", invites),
        ("referral", "inviting_customers", inviters),
    ]


def floor_aarrr(memory_limit: str, files: dict[str, list[str]]) -> object:
    return _aarrr_floor(memory_limit, files, False)


def floor_aarrr_aggregates(memory_limit: str, files: dict[str, list[str]]) -> object:
    return _aarrr_floor(memory_limit, files, True)


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that across fork and exec, so a child
    spawned by a parent holding the generated data would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# label, siyu, floor over raw events, floor over the aggregate files (None: the report reads no aggregate)
REPORTS = {
    "retention": (
        "retention, weekly, by channel (12 weeks)",
        siyu_retention,
        floor_retention,
        floor_retention_aggregates,
    ),
    "funnel": ("funnel, 4 steps, 7-day window (1 month)", siyu_funnel, floor_funnel, None),
    "activity": ("activity, DAU/WAU/MAU (30 days)", siyu_activity, floor_activity, floor_activity_aggregates),
    "channels": ("channels (new customers of 1 quarter)", siyu_channels, floor_channels, floor_channels_aggregates),
    "aarrr": ("AARRR overview (1 month)", siyu_aarrr, floor_aarrr, floor_aarrr_aggregates),
}


def _child(report: str, variant: str, root: str, memory_limit: str, files: dict, queue: multiprocessing.Queue) -> None:
    import duckdb  # noqa: F401 - imports are not what is measured
    import duckdb_engine  # noqa: F401 - imported by the first engine a process opens

    import siyu.analytics.engine  # noqa: F401
    import siyu.analytics.reports.run  # noqa: F401

    _, ours, raw, aggregated = REPORTS[report]
    started = time.perf_counter()
    try:
        if variant == "siyu":
            answer = ours(MirrorDirectory(Path(root), WORKSPACE), memory_limit)
        else:
            answer = (raw if variant == "raw" else aggregated)(memory_limit, files)
    except BaseException:  # noqa: BLE001 - sent to the parent, which stops with it
        queue.put(("error", traceback.format_exc()))
        raise
    seconds = time.perf_counter() - started
    queue.put((seconds, _peak_rss_mb(), answer))


def measure(
    report: str, variant: str, root: Path, memory_limit: str, files: dict, runs: int
) -> tuple[float, float, object]:
    context = multiprocessing.get_context("spawn")
    times, peaks, answer = [], [], None
    for _ in range(runs):
        queue = context.Queue()
        child = context.Process(target=_child, args=(report, variant, str(root), memory_limit, files, queue))
        child.start()
        result = queue.get()
        child.join()
        if result[0] == "error":
            raise SystemExit(f"{variant} {report} failed:\n{result[1]}")
        seconds, peak_mb, answer = result
        times.append(seconds)
        peaks.append(peak_mb)
    return statistics.median(times), max(peaks), answer


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--people", type=int, default=0, help="default: one per 40 events")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GB", help="SIYU_ANALYTICS_MEMORY_LIMIT of the engine and the floor")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", nargs="*", choices=sorted(REPORTS), help="measure only these reports")
    parser.add_argument("--data", choices=["demo", "synthetic"], default="demo",
                        help="demo: the demo generator's brand (demo_data.py, cached); synthetic: generate() above")
    parser.add_argument("--cache-dir", type=Path, default=Path("~/.cache/siyu-bench"), help="where demo data is kept")
    arguments = parser.parse_args()
    os.environ["SIYU_BENCH_DATA"] = arguments.data  # read by the spawned children (FUNNEL)
    people = arguments.people or max(arguments.events // 40, 1)
    synthetic = arguments.data == "synthetic"
    root = Path(tempfile.mkdtemp(prefix="siyu-bench-reports-")) if synthetic else None
    try:
        started = time.perf_counter()
        if root is not None:
            directory = MirrorDirectory(root, WORKSPACE)
            manifest = generate(directory, arguments.events, people, arguments.days, arguments.seed)
            size = sum(p.bytes for p in manifest.parts)
            print(
                f"synthetic: {arguments.events:,} events of {people:,} people over {arguments.days} days: "
                f"{len(manifest.parts)} parts, {size / 1e6:,.0f} MB of Parquet, {time.perf_counter() - started:.1f} s"
            )
        else:
            import demo_data

            now = datetime(END.year, END.month, END.day, tzinfo=ZONE) + timedelta(days=1)
            root, directory, manifest, line = demo_data.prepare(
                arguments.cache_dir, WORKSPACE, people=people, events=arguments.events, seed=arguments.seed, now=now)
            print(line)
        seconds = build_aggregates(directory, manifest, arguments.memory_limit)
        aggregates = manifest.aggregates
        assert aggregates is not None
        print(
            f"aggregates built in {seconds:.1f} s: person_days {sum(e.rows for e in aggregates.person_days):,} rows, "
            f"first_touch {sum(e.rows for e in aggregates.first_touch):,} rows, {aggregates.bytes() / 1e6:,.1f} MB"
        )
        files = {
            "events": [str(directory.file(p.file)) for p in manifest.parts],
            "person_days": [str(directory.file(e.file)) for e in aggregates.person_days],
            "first_touch": [str(directory.file(e.file)) for e in aggregates.first_touch],
        }
        print(
            f"memory limit {arguments.memory_limit}, 2 threads, median of {arguments.runs} runs; "
            "load average 1/5/15 min"
        )
        print(
            f"{'question':<42} {'siyu s':>7} {'floor s':>8} {'ratio':>6} {'agg. floor':>11} {'ratio':>6} "
            f"{'siyu RSS':>9} {'floor RSS':>9}  load"
        )
        for name in arguments.only or REPORTS:
            label, _, _, aggregated = REPORTS[name]
            ours, our_peak, our_answer = measure(name, "siyu", root, arguments.memory_limit, files, arguments.runs)
            floor, floor_peak, floor_answer = measure(name, "raw", root, arguments.memory_limit, files, arguments.runs)
            if our_answer != floor_answer:
                raise SystemExit(f"{name}: siyu and the floor disagree:\n{our_answer!r:.2000}\n{floor_answer!r:.2000}")
            agg_text = f"{'-':>11} {'-':>6}"
            if aggregated is not None:
                agg, _, agg_answer = measure(name, "aggregates", root, arguments.memory_limit, files, arguments.runs)
                if agg_answer != our_answer:
                    raise SystemExit(
                        f"{name}: the aggregate floor disagrees:\n{our_answer!r:.2000}\n{agg_answer!r:.2000}"
                    )
                agg_text = f"{agg:>10.2f}s {ours / agg:>6.2f}"
            print(
                f"{label:<42} {ours:>7.2f} {floor:>8.2f} {ours / floor:>6.2f} {agg_text} "
                f"{our_peak:>6.0f} MB {floor_peak:>6.0f} MB  {_load()}"
            )
            if name == "funnel":
                print(f"  funnel people per step: {our_answer}")
    finally:
        if synthetic and root is not None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
