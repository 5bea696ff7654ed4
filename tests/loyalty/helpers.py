"""A programme set up and points moved directly through the service, for this package's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from siyu import clock
from siyu.db.engine import read, write
from siyu.loyalty import points, points_store, service, store
from siyu.loyalty.models import Expiry

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
TZ = "Asia/Shanghai"
LADDER = [{"name": "普卡", "threshold": 0}, {"name": "银卡", "threshold": 1000, "points_multiplier": 150},
          {"name": "金卡", "threshold": 5000, "points_multiplier": 200, "priority_service": True}]


def make_programme(runtime: Any, workspace: Any, **values: Any) -> Any:
    template: dict[str, Any] = {"tiers": LADDER, "evaluation_days": 365, "grace_days": 30,
                                "weights": {"spend_per_yuan": 1, "activity_per_day": 5, "task": 20}}
    with write(runtime.engine) as conn:
        return service.set_programme(conn, workspace.id, {**template, **values}, now=clock.now())


def earn(runtime: Any, workspace: Any, profile_id: int, amount: int, key: str, **more: Any) -> Any:
    more.setdefault("expiry", Expiry())
    with write(runtime.engine) as conn:
        return points.earn(conn, workspace.id, profile_id, amount, key=key, reason="test", now=clock.now(),
                           timezone=TZ, **more)


def spend(runtime: Any, workspace: Any, profile_id: int, amount: int, key: str) -> Any:
    """The entry, or the refusal's code (rolled back, as the API does)."""
    try:
        with write(runtime.engine) as conn:
            return points.spend(conn, workspace.id, profile_id, amount, key=key, reason="test", now=clock.now())
    except Exception as error:  # noqa: BLE001 - the code is the answer under test
        return getattr(error, "code", repr(error))


def balances(runtime: Any, workspace: Any, profile_id: int) -> tuple[int, int, int]:
    """(balance, ledger sum, lots sum): all three must agree."""
    with read(runtime.engine) as conn:
        member = store.get_member(conn, workspace.id, profile_id)
        ledger, lots = points_store.ledger_totals(conn, workspace.id, profile_id)
    return member.points_balance, ledger, lots
