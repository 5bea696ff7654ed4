"""Earning decisions, pure: points an order or an event earns (with the tier's multiplier), the
growth value it adds, and the local day a daily cap counts on."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from siyu.loyalty.models import ORDER_COMPLETED, TASK_COMPLETED, Programme

EPOCH = date(1970, 1, 1)


def yuan(value: Any) -> Decimal | None:
    """An order's revenue (yuan, as a number or a numeric string); None when missing or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def scaled(base: Decimal | int | float, rate: float, multiplier_percent: int = 100) -> int:
    """floor(base × rate × multiplier / 100): points are whole, and rounding never favours the member
    (a 0.99 yuan order at 1 point per yuan earns 0)."""
    value = Decimal(str(base)) * Decimal(str(rate)) * Decimal(multiplier_percent) / Decimal(100)
    return max(0, math.floor(value))


@dataclass(frozen=True)
class Earn:
    rule: str  # the cap's key: order | event:<name> | task:<task>
    points: int  # before the cap
    daily_cap: int | None


def points_for(programme: Programme, name: str, properties: dict[str, Any], multiplier: int) -> list[Earn]:
    """What one event earns under the programme's rules (possibly several rules at once)."""
    earned: list[Earn] = []
    rules = programme.earning
    if name == ORDER_COMPLETED:
        revenue = yuan(properties.get("revenue", properties.get("total")))
        if revenue is not None and rules.per_yuan > 0:
            earned.append(Earn("order", scaled(revenue, rules.per_yuan, multiplier), rules.order_daily_cap))
    for rule in rules.events:
        if rule.event == name:
            earned.append(Earn(f"event:{name}"[:100], scaled(rule.points, 1, multiplier), rule.daily_cap))
    if name == TASK_COMPLETED:
        for task in rules.tasks:
            if task.task == properties.get("task"):
                earned.append(Earn(f"task:{task.task}", scaled(task.points, 1, multiplier), task.daily_cap))
    return [e for e in earned if e.points > 0]


def growth_for(programme: Programme, name: str, properties: dict[str, Any]) -> int:
    """Growth value from spend and tasks (activity is counted once per local day, by the caller)."""
    weights = programme.weights
    if name == ORDER_COMPLETED:
        revenue = yuan(properties.get("revenue", properties.get("total")))
        return scaled(revenue, weights.spend_per_yuan) if revenue is not None else 0
    if name == TASK_COMPLETED:
        return weights.task
    return 0


def local_day(at: datetime, timezone: str) -> int:
    """Days since 1970-01-01 in the workspace's time zone: the day a daily cap counts on."""
    return (at.astimezone(ZoneInfo(timezone)).date() - EPOCH).days


def local_month(at: datetime, timezone: str) -> int:
    local = at.astimezone(ZoneInfo(timezone))
    return local.year * 100 + local.month
