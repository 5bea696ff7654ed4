"""The nightly loyalty evaluation over many members: period close, grace settlement (downgrades),
points expiry, expiring-points reminders and the events they write.

    python bench/bench_loyalty.py --database sqlite|postgres [--members 1000000]

Fixed generated data, written by bulk SQL (``INSERT … SELECT`` over a generated series, no Python
row loop): ``--members`` members of a three-tier ladder (0 / 1,000 / 5,000) with growth values
spread over 0-7,999 and tiers 0-2 by profile id, one lot of 100 points each (a quarter already
expired, the rest expiring over the next 30 days) with its ``earn`` entry. The programme's first
evaluation period has just ended and the grace is 0 days, so one nightly run closes the period,
downgrades everyone short of their tier, expires a quarter of the lots and reminds the members
whose points expire within 7 days.

The floor, measured in the same run on the same rows: one bare ``UPDATE`` of every member row and
one of every lot row (what touching the same rows can't be cheaper than). Reported: each step's
seconds, the total, the ratio to the floor. Checks, exiting non-zero when one fails: the downgrades
equal the pure rule's count (:func:`siyu.loyalty.tiers.on_period_close`) over the same values;
balances equal the ledger and the lots; the expired lots are empty.
Goal (issue 7): 1M members in ≤ 60 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_ingest import database_url, drop_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from siyu.config import Config, normalise_database_url  # noqa: E402
from siyu.db.engine import read, refresh_statistics, write  # noqa: E402
from siyu.db.types import to_millis  # noqa: E402
from siyu.loyalty import service, tiers  # noqa: E402
from siyu.loyalty.nightly import run_nightly  # noqa: E402
from siyu.runtime import Runtime  # noqa: E402
from siyu.workspaces import store as workspace_store  # noqa: E402

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 02:00 in Beijing
THRESHOLDS = [0, 1000, 5000]
DAY = 86_400_000


def series(dialect: str, count: int) -> str:
    if dialect == "postgresql":
        return f"(SELECT generate_series(1, {count}) AS i) AS s"
    return f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) SELECT i FROM n) AS s"


def generate(engine, workspace_id: int, members: int) -> None:  # noqa: ANN001
    now = to_millis(NOW)
    with write(engine) as conn:
        source = series(conn.dialect.name, members)
        conn.execute(text(
            "INSERT INTO loyalty_members (workspace_id, profile_id, growth_value, previous_growth, tier_rank, "
            "tier_since, points_balance, points_debt, created_at, updated_at) "
            f"SELECT :ws, i, (CAST(i AS BIGINT) * 7919) % 8000, 0, i % 3, :old, 100, 0, :old, :old FROM {source}"),
            {"ws": workspace_id, "old": now - 400 * DAY})
        conn.execute(text(
            "INSERT INTO points_entries (workspace_id, profile_id, idempotency_key, kind, points, reason, created_at) "
            f"SELECT :ws, i, 'bench:' || CAST(i AS TEXT), 'earn', 100, 'bench', :old FROM {source}"),
            {"ws": workspace_id, "old": now - 30 * DAY})
        conn.execute(text(
            "INSERT INTO points_lots (workspace_id, profile_id, entry_id, earned, remaining, expired_points, "
            "expires_at, created_at) "
            "SELECT :ws, i, i, 100, 100, 0, CASE WHEN i % 4 = 0 THEN :now - :day "
            f"ELSE :now + CAST(i % 30 AS BIGINT) * :day + 1 END, :old FROM {source}"),
            {"ws": workspace_id, "now": now, "day": DAY, "old": now - 30 * DAY})
    refresh_statistics(engine)


def floor(engine, workspace_id: int) -> float:  # noqa: ANN001
    started = time.perf_counter()
    with write(engine) as conn:
        conn.execute(text("UPDATE loyalty_members SET updated_at = updated_at + 1 WHERE workspace_id = :ws"),
                     {"ws": workspace_id})
        conn.execute(text("UPDATE points_lots SET reminded_at = NULL WHERE workspace_id = :ws"), {"ws": workspace_id})
    return time.perf_counter() - started


def check(engine, workspace_id: int, members: int, result) -> list[str]:  # noqa: ANN001
    failures = []
    expected = sum(1 for i in range(1, members + 1)
                   if tiers.on_period_close(THRESHOLDS, i % 3, (i * 7919) % 8000, NOW, 0).downgrade_to is not None)
    if result.downgrades != expected:
        failures.append(f"downgrades {result.downgrades} != {expected} by the pure rule")
    with read(engine) as conn:
        balance, ledger, lots, left = conn.execute(text(
            "SELECT (SELECT SUM(points_balance) FROM loyalty_members WHERE workspace_id = :ws), "
            "(SELECT SUM(points) FROM points_entries WHERE workspace_id = :ws), "
            "(SELECT SUM(remaining) FROM points_lots WHERE workspace_id = :ws), "
            "(SELECT COUNT(*) FROM points_lots WHERE workspace_id = :ws AND expires_at <= :now AND remaining > 0)"),
            {"ws": workspace_id, "now": to_millis(NOW)}).one()
    if not balance == ledger == lots:
        failures.append(f"balances {balance}, ledger {ledger}, lots {lots} disagree")
    if left:
        failures.append(f"{left} expired lots still hold points")
    if result.lots_expired != members // 4:
        failures.append(f"{result.lots_expired} lots expired, expected {members // 4}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-loyalty-"))
    url = database_url(args.database, folder)
    try:
        rt = Runtime.from_config(Config(data_dir=folder, database_url=normalise_database_url(url), secret="bench"),
                                 migrate=True)
        with write(rt.engine) as conn:
            workspace = workspace_store.create_workspace(conn, "bench-loyalty")
            service.set_programme(conn, workspace.id, {
                "tiers": [{"name": n, "threshold": t}
                          for n, t in zip(("普卡", "银卡", "金卡"), THRESHOLDS, strict=True)],
                "evaluation_days": 365, "grace_days": 0, "remind_days": 7}, now=NOW - timedelta(days=366))
        started = time.perf_counter()
        generate(rt.engine, workspace.id, args.members)
        print(f"generated {args.members:,} members, lots and entries in {time.perf_counter() - started:.1f} s")
        floor_seconds = floor(rt.engine, workspace.id)
        started = time.perf_counter()
        result = run_nightly(rt.engine, workspace.id, "Asia/Shanghai", NOW)
        total = time.perf_counter() - started
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in result.seconds.items())
        print(f"{args.database}: nightly over {args.members:,} members in {total:.2f} s ({steps}); "
              f"{result.downgrades:,} downgrades, {result.lots_expired:,} lots expired, "
              f"{result.reminders:,} reminders, {result.events:,} events")
        print(f"floor (bare UPDATE of the same member and lot rows): {floor_seconds:.2f} s; "
              f"nightly / floor = {total / floor_seconds:.1f}×")
        failures = check(rt.engine, workspace.id, args.members, result)
    finally:
        if "rt" in locals():
            rt.engine.dispose()
        drop_database(url)
    if failures:
        raise SystemExit("FAILED: " + "; ".join(failures))
    print("checks passed")


if __name__ == "__main__":
    main()
