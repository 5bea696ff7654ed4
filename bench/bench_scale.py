"""Segments and RFM at the issue's scale — 1M profiles, 20M events — on DuckDB, against hand-written DuckDB SQL.

    python bench/bench_scale.py
    python bench/bench_scale.py --profiles 1000000 --events 20000000 --runs 3 --operational sqlite

The data is the demo brand's (``demo_data.py``: the demo generator's people and stories, with extra
mini-program visits to reach 20 events per person, written straight into the mirror's format and
cached), or with ``--data synthetic`` ``bench_reports.generate``'s vectorised events in a temporary
directory. No operational database is involved. Then the profile-level snapshots a segment reads on
DuckDB — ``profiles`` with rollups derived from those very events (order count, spend, first and
last order and event, channels) and the city trait (from the people's own identify calls; synthetic:
by hash), and ``identities`` (the identifier types each person's messages carried; synthetic: a phone
for 60 % of people, a user id for everyone). Then, each in a fresh child process (peak RSS its own, imports not timed):

* **segment**: the typical 3-condition segment of ``bench_segments.py`` (ordered at least twice in
  the last 365 days, has a phone, lives in 上海), compiled by ``siyu.segments.compile`` and run on
  an :class:`~siyu.analytics.engine.AnalyticsEngine` — the count (the console's live count, a saved
  segment's size) and, separately, the member ids (what a batch refresh reads) — against the
  tightest SQL we write by hand over ``read_parquet`` of the same files.
* **RFM**: ``siyu.segments.score_store.rfm_ranking`` — the SELECT ``compute_rfm`` writes into
  ``profile_scores`` (quintile scores by ``rank() OVER`` over the profiles' rollups) — run on the
  engine, reduced to the distribution of (segment, R, F, M) so that no million-row transfer is
  timed. Two floors: the same ranking written by hand over the profiles file, and R, F and M
  aggregated from the raw order events (the "RFM aggregate over all purchases" of MEASURED.md).
* with ``--operational sqlite|postgres``: ``compute_rfm`` itself, as the worker runs it daily, on a
  fresh operational database holding the same 1M profiles (loaded in bulk, then ANALYZE).

Answers must agree. Prints the median of ``--runs``, the ratio to the floor, peak RSS, and the load
average (the machine is shared: 2 cores).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reports import END, WORKSPACE, ZONE, _peak_rss_mb, generate  # noqa: E402

from siyu.analytics.mirror_files import FileEntry, Manifest, MirrorDirectory  # noqa: E402

NOW = datetime(END.year, END.month, END.day, tzinfo=ZONE) + timedelta(days=1)  # just after the last event
NOW_MS = int(NOW.timestamp() * 1000)
TYPICAL = {
    "all": [
        {"event": "Order Completed", "measure": "count", "op": "gte", "value": 2, "within": "365d"},
        {"identifier": "phone"},
        {"trait": "city", "op": "eq", "value": "上海"},
    ]
}
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "武汉", "南京", "重庆", "西安"]


def _quote_list(paths: list[str]) -> str:
    return "[" + ", ".join(f"'{p}'" for p in paths) + "]"


def _connect(memory_limit: str, spill: Path) -> Any:
    import duckdb

    spill.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(config={"memory_limit": memory_limit, "threads": 2, "temp_directory": str(spill)})
    connection.execute("SET enable_progress_bar = false")
    return connection


def write_snapshots(
    directory: MirrorDirectory, manifest: Manifest, profiles: int, memory_limit: str, people: Path | None = None
) -> None:
    """``profiles`` (rollups from the events themselves) and ``identities`` snapshots, listed by the manifest.

    With ``people`` (the demo data's per-person file), the city trait and the identifier types are the
    ones the people's own messages gave; without, synthetic ones."""
    events = _quote_list([str(directory.file(p.file)) for p in manifest.parts])
    cities = "[" + ", ".join(f"'{c}'" for c in CITIES) + "]"
    # 上海 for one person in eight, the rest spread over the other cities, by a hash of the id.
    city = f"CASE WHEN hash(p.id) % 8 = 0 THEN '上海' ELSE {cities}[2 + CAST(hash(p.id * 7) % 9 AS INTEGER)] END"
    traits = f"""'{{"city": "' || {city} || '"}}'"""
    people_join = ""
    if people is not None:
        traits = "CASE WHEN pp.city IS NULL THEN '{}' ELSE CAST(json_object('city', pp.city) AS VARCHAR) END"
        # A person's row may come from several tasks (an inviter's Invite Sent is in the invitee's story).
        people_join = (f" LEFT JOIN (SELECT profile_id, max(city) AS city FROM read_parquet('{people}') "
                       "GROUP BY profile_id) pp ON pp.profile_id = p.id")
    queries = {
        "profiles": f"""
            WITH rollups AS (
                SELECT profile_id, min(timestamp) AS first_seen_at, max(timestamp) AS last_seen_at,
                       count(*) AS event_count, count(*) FILTER (WHERE name = 'Order Completed') AS order_count,
                       round(coalesce(sum(revenue) FILTER (WHERE name = 'Order Completed'), 0), 2) AS total_spend,
                       min(timestamp) FILTER (WHERE name = 'Order Completed') AS first_order_at,
                       max(timestamp) FILTER (WHERE name = 'Order Completed') AS last_order_at,
                       arg_min(channel, timestamp) FILTER (WHERE channel IS NOT NULL) AS first_channel,
                       arg_max(channel, timestamp) FILTER (WHERE channel IS NOT NULL) AS last_channel
                FROM read_parquet({events}) GROUP BY profile_id)
            SELECT p.id, CAST({WORKSPACE} AS BIGINT) AS workspace_id, r.first_seen_at AS created_at,
                   r.last_seen_at AS updated_at, CAST(NULL AS BIGINT) AS merged_into, CAST(NULL AS BIGINT) AS erased_at,
                   {traits} AS traits, '{{}}' AS trait_meta,
                   r.first_seen_at, r.last_seen_at, coalesce(r.event_count, 0) AS event_count,
                   coalesce(r.order_count, 0) AS order_count, coalesce(r.total_spend, 0.0) AS total_spend,
                   r.first_order_at, r.last_order_at, r.first_channel, r.last_channel
            FROM (SELECT CAST(range + 1 AS BIGINT) AS id FROM range({profiles})) p
            LEFT JOIN rollups r ON r.profile_id = p.id{people_join}
            ORDER BY p.id""",
        "identities": f"""
            SELECT CAST({WORKSPACE} AS BIGINT) AS workspace_id, type, id AS profile_id,
                   CAST({NOW_MS - 86_400_000 * 400} AS BIGINT) AS first_seen_at,
                   CAST({NOW_MS} AS BIGINT) AS last_seen_at,
                   'bench' AS source
            FROM (SELECT CAST(range + 1 AS BIGINT) AS id FROM range({profiles})) p,
                 (VALUES ('user_id'), ('phone')) t(type)
            WHERE type = 'user_id' OR hash(p.id * 13) % 10 < 6
            ORDER BY profile_id""",
    }
    if people is not None:
        queries["identities"] = f"""
            SELECT CAST({WORKSPACE} AS BIGINT) AS workspace_id, type, profile_id,
                   CAST({NOW_MS - 86_400_000 * 400} AS BIGINT) AS first_seen_at,
                   CAST({NOW_MS} AS BIGINT) AS last_seen_at, 'demo' AS source
            FROM (SELECT DISTINCT profile_id, unnest(identifiers) AS type FROM read_parquet('{people}'))
            ORDER BY profile_id"""
    connection = _connect(memory_limit, directory.path.parent / "duckdb-spill" / "snapshots")
    for name, query in queries.items():
        temporary = directory.new_temporary(name)
        rows = connection.execute(
            f"COPY ({query}) TO '{temporary}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 131072)"
        ).fetchone()[0]
        manifest.tables[name] = directory.publish(temporary, rows, written_at=NOW_MS)
    connection.close()
    manifest.generation += 1
    directory.write_manifest(manifest)


# --- the segment -----------------------------------------------------------------------------------------


def _siyu_segment(directory: MirrorDirectory, memory_limit: str, members: bool) -> object:
    from siyu.analytics.engine import AnalyticsEngine
    from siyu.segments.compile import Context, count_query, members_query
    from siyu.segments.parse import parse

    engine = AnalyticsEngine(directory, memory_limit=memory_limit)
    try:
        ctx = Context(WORKSPACE, NOW)
        if not members:
            return engine.scalar(count_query(parse(TYPICAL), ctx))
        ids = [row[0] for row in engine.execute(members_query(parse(TYPICAL), ctx))]
        return len(ids), sum(ids)
    finally:
        engine.close()


def siyu_segment_count(directory: MirrorDirectory, memory_limit: str) -> object:
    return _siyu_segment(directory, memory_limit, members=False)


def siyu_segment_members(directory: MirrorDirectory, memory_limit: str) -> object:
    return _siyu_segment(directory, memory_limit, members=True)


def _floor_segment(files: dict[str, Any], memory_limit: str, members: bool) -> object:
    since = NOW_MS - 365 * 86_400_000
    where = f"""
        p.merged_into IS NULL AND p.erased_at IS NULL AND p.traits ->> 'city' = '上海'
        AND p.id IN (SELECT profile_id FROM read_parquet('{files["identities"]}') WHERE type = 'phone')
        AND p.id IN (SELECT profile_id FROM read_parquet({files["events"]})
                     WHERE name = 'Order Completed' AND timestamp >= {since} AND timestamp <= {NOW_MS}
                     GROUP BY profile_id HAVING count(*) >= 2)"""
    connection = _connect(memory_limit, Path(files["spill"]))
    try:
        if not members:
            return connection.execute(
                f"SELECT count(*) FROM read_parquet('{files['profiles']}') p WHERE {where}"
            ).fetchone()[0]
        ids = [
            r[0]
            for r in connection.execute(
                f"SELECT p.id FROM read_parquet('{files['profiles']}') p WHERE {where}"
            ).fetchall()
        ]
        return len(ids), sum(ids)
    finally:
        connection.close()


def floor_segment_count(files: dict[str, Any], memory_limit: str) -> object:
    return _floor_segment(files, memory_limit, members=False)


def floor_segment_members(files: dict[str, Any], memory_limit: str) -> object:
    return _floor_segment(files, memory_limit, members=True)


# --- RFM -----------------------------------------------------------------------------------------------------


def siyu_rfm(directory: MirrorDirectory, memory_limit: str) -> object:
    from sqlalchemy import func, select

    from siyu.analytics.engine import AnalyticsEngine
    from siyu.segments.score_store import rfm_ranking

    ranking = rfm_ranking(WORKSPACE).subquery()
    _, r, f, m, segment = ranking.c
    grid = select(segment, r, f, m, func.count()).group_by(segment, r, f, m)
    engine = AnalyticsEngine(directory, memory_limit=memory_limit)
    try:
        return sorted(tuple(row) for row in engine.execute(grid))
    finally:
        engine.close()


def _rfm_grid_sql(buyers: str) -> str:
    """Quintile scores (1 + floor(5 (rank − 1) / n)) and the named segments of ``siyu.segments.scores``."""
    from siyu.segments.scores import rfm_segment

    names = " ".join(f"WHEN r = {r} AND f = {f} THEN '{rfm_segment(r, f)}'" for r in range(1, 6) for f in range(1, 6))
    return f"""
        WITH buyers AS ({buyers}),
        ranked AS (
            SELECT 1 + (5 * (rank() OVER (ORDER BY last_order_at) - 1)) // count(*) OVER () AS r,
                   1 + (5 * (rank() OVER (ORDER BY order_count) - 1)) // count(*) OVER () AS f,
                   1 + (5 * (rank() OVER (ORDER BY total_spend) - 1)) // count(*) OVER () AS m
            FROM buyers)
        SELECT CASE {names} END AS segment, r, f, m, count(*) FROM ranked GROUP BY ALL"""


def floor_rfm(files: dict[str, Any], memory_limit: str) -> object:
    buyers = f"""SELECT last_order_at, order_count, total_spend FROM read_parquet('{files["profiles"]}')
                 WHERE merged_into IS NULL AND erased_at IS NULL AND order_count > 0 AND last_order_at IS NOT NULL"""
    connection = _connect(memory_limit, Path(files["spill"]))
    rows = sorted(tuple(r) for r in connection.execute(_rfm_grid_sql(buyers)).fetchall())
    connection.close()
    return rows


def floor_rfm_events(files: dict[str, Any], memory_limit: str) -> object:
    buyers = f"""SELECT max(timestamp) AS last_order_at, count(*) AS order_count,
                        round(coalesce(sum(revenue), 0), 2) AS total_spend
                 FROM read_parquet({files["events"]}) WHERE name = 'Order Completed' GROUP BY profile_id"""
    connection = _connect(memory_limit, Path(files["spill"]))
    rows = sorted(tuple(r) for r in connection.execute(_rfm_grid_sql(buyers)).fetchall())
    connection.close()
    return rows


QUESTIONS = {
    "segment count": (siyu_segment_count, floor_segment_count, None),
    "segment members": (siyu_segment_members, floor_segment_members, None),
    "rfm": (siyu_rfm, floor_rfm, floor_rfm_events),
}


def _child(name: str, variant: str, root: str, memory_limit: str, files: dict, queue: multiprocessing.Queue) -> None:
    import duckdb  # noqa: F401 - imports are not what is measured
    import duckdb_engine  # noqa: F401 - imported by the first engine a process opens

    import siyu.analytics.engine  # noqa: F401
    import siyu.segments.compile  # noqa: F401
    import siyu.segments.score_store  # noqa: F401

    ours, floor, second = QUESTIONS[name]
    started = time.perf_counter()
    try:
        if variant == "siyu":
            answer = ours(MirrorDirectory(Path(root), WORKSPACE), memory_limit)
        else:
            answer = (floor if variant == "floor" else second)(files, memory_limit)  # type: ignore[misc]
    except BaseException:  # noqa: BLE001 - sent to the parent, which stops with it
        queue.put(("error", traceback.format_exc()))
        raise
    queue.put((time.perf_counter() - started, _peak_rss_mb(), answer))


def measure(
    name: str, variant: str, root: Path, memory_limit: str, files: dict, runs: int
) -> tuple[float, float, object]:
    context = multiprocessing.get_context("spawn")
    times, peaks, answer = [], [], None
    for _ in range(runs):
        queue = context.Queue()
        child = context.Process(target=_child, args=(name, variant, str(root), memory_limit, files, queue))
        child.start()
        result = queue.get()
        child.join()
        if result[0] == "error":
            raise SystemExit(f"{variant} {name} failed:\n{result[1]}")
        times.append(result[0])
        peaks.append(result[1])
        answer = result[2]
    return statistics.median(times), max(peaks), answer


def operational_rfm(snapshot: str, database: str, workdir: Path, runs: int) -> tuple[float, int, float]:
    """compute_rfm on a fresh operational database holding the profiles file: (median seconds, buyers, load s)."""
    import duckdb
    from sqlalchemy import insert

    from siyu.config import Config
    from siyu.db.engine import refresh_statistics, write
    from siyu.db.tables import profiles
    from siyu.runtime import Runtime
    from siyu.segments.score_store import compute_rfm
    from siyu.workspaces import store as workspace_store

    if database == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        import psycopg

        name = f"siyu_bench_{os.getpid()}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    runtime = Runtime.from_config(Config(data_dir=workdir, database_url=url, secret="bench"), migrate=True)
    try:
        started = time.perf_counter()
        with write(runtime.engine) as conn:
            workspace = workspace_store.create_workspace(conn, "bench", timezone=str(ZONE))
        columns = [c.name for c in profiles.columns]
        reader = duckdb.connect().execute(f"SELECT * FROM read_parquet('{snapshot}')")
        while batch := reader.fetchmany(50_000):
            rows = []
            for row in batch:
                values = dict(zip(columns, row, strict=True))
                values["workspace_id"] = workspace.id
                for key in (
                    "created_at",
                    "updated_at",
                    "first_seen_at",
                    "last_seen_at",
                    "first_order_at",
                    "last_order_at",
                ):
                    if values[key] is not None:
                        values[key] = datetime.fromtimestamp(values[key] / 1000, ZONE)
                values["created_at"] = values["created_at"] or NOW
                values["updated_at"] = values["updated_at"] or NOW
                values["traits"] = __import__("json").loads(values["traits"])
                values["trait_meta"] = {}
                rows.append(values)
            with write(runtime.engine) as conn:
                conn.execute(insert(profiles), rows)
        refresh_statistics(runtime.engine)
        loaded = time.perf_counter() - started
        times, buyers = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            with write(runtime.engine) as conn:
                buyers = compute_rfm(conn, workspace.id, NOW)
            times.append(time.perf_counter() - started)
        return statistics.median(times), buyers, loaded
    finally:
        runtime.engine.dispose()
        if database == "postgres":
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "siyu_bench_{os.getpid()}" WITH (FORCE)')


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _sizes(entries: list[FileEntry]) -> str:
    return f"{sum(e.bytes for e in entries) / 1e6:,.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GB", help="SIYU_ANALYTICS_MEMORY_LIMIT of the engine and the floor")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--operational", choices=["sqlite", "postgres"], help="also run compute_rfm on this database")
    parser.add_argument("--data", choices=["demo", "synthetic"], default="demo",
                        help="demo: the demo generator's brand (cached); synthetic: bench_reports.generate")
    parser.add_argument("--cache-dir", type=Path, default=Path("~/.cache/siyu-bench"), help="where demo data is kept")
    arguments = parser.parse_args()
    synthetic = arguments.data == "synthetic"
    root = Path(tempfile.mkdtemp(prefix="siyu-bench-scale-")) if synthetic else None
    try:
        started = time.perf_counter()
        if root is not None:
            directory = MirrorDirectory(root, WORKSPACE)
            manifest = generate(directory, arguments.events, arguments.profiles, arguments.days, arguments.seed)
            print(f"synthetic: {arguments.events:,} events ({_sizes(manifest.parts)}) of {arguments.profiles:,} people")
        else:
            import demo_data

            root, directory, manifest, line = demo_data.prepare(
                arguments.cache_dir, WORKSPACE, people=arguments.profiles, events=arguments.events,
                seed=arguments.seed, now=NOW)
            print(line)
        people = None if synthetic else demo_data.people_file(directory)  # snapshots always anew: code may change
        write_snapshots(directory, manifest, arguments.profiles, arguments.memory_limit, people)
        print(
            f"profiles ({_sizes([manifest.tables['profiles']])}), identities "
            f"({_sizes([manifest.tables['identities']])}) ready in {time.perf_counter() - started:.1f} s"
        )
        files = {
            "events": _quote_list([str(directory.file(p.file)) for p in manifest.parts]),
            "profiles": str(directory.file(manifest.tables["profiles"].file)),
            "identities": str(directory.file(manifest.tables["identities"].file)),
            "spill": str(root / "duckdb-spill" / "floor"),
        }
        print(f"memory limit {arguments.memory_limit}, 2 threads, median of {arguments.runs} runs")
        print(
            f"{'question':<46} {'siyu s':>7} {'floor s':>8} {'ratio':>6} {'siyu RSS':>9} {'floor RSS':>9}  load 1/5/15"
        )
        for name, label in (
            ("segment count", "segment, 3 conditions: count"),
            ("segment members", "segment, 3 conditions: member ids"),
            ("rfm", "RFM ranking of every buyer (grid of scores)"),
        ):
            ours, our_peak, our_answer = measure(name, "siyu", root, arguments.memory_limit, files, arguments.runs)
            floor, floor_peak, floor_answer = measure(
                name, "floor", root, arguments.memory_limit, files, arguments.runs
            )
            if our_answer != floor_answer:
                raise SystemExit(f"{name}: siyu and the floor disagree:\n{our_answer!r:.1500}\n{floor_answer!r:.1500}")
            print(
                f"{label:<46} {ours:>7.2f} {floor:>8.2f} {ours / floor:>6.2f} {our_peak:>6.0f} MB "
                f"{floor_peak:>6.0f} MB  {_load()}"
            )
            if name == "segment count":
                print(f"  members: {our_answer:,}")
            if QUESTIONS[name][2] is not None:
                second, second_peak, second_answer = measure(
                    name, "second", root, arguments.memory_limit, files, arguments.runs
                )
                if second_answer != our_answer:
                    raise SystemExit(f"{name}: the floor over events disagrees:\n{second_answer!r:.1500}")
                print(
                    f"  {'floor: R, F, M aggregated from order events':<44} {'':>7} {second:>8.2f} "
                    f"{ours / second:>6.2f} {'':>9} {second_peak:>6.0f} MB  {_load()}"
                )
        if arguments.operational:
            seconds, buyers, loaded = operational_rfm(files["profiles"], arguments.operational, root, arguments.runs)
            print(
                f"compute_rfm on {arguments.operational} ({arguments.profiles:,} profiles loaded in {loaded:.0f} s): "
                f"{seconds:.2f} s for {buyers:,} buyers  (load {_load()})"
            )
    finally:
        if synthetic and root is not None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
