"""Scenarios for the date-gift templates (anniversary, Spring Festival, Double 11 warm-up), run by
tests/journeys/test_templates.py with every other template on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu import clock
from siyu.runtime import Runtime
from tests.journeys.scenario import entries, person, queued, run, subject


def _subjects(runtime: Runtime, workspace: Any, journey: dict[str, Any]) -> list[str]:
    return [subject(m, "en") for m in queued(runtime, workspace, journey["id"])]


def _anniversary(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "loyal", member_since="2024-11-11", name="Lina")
    person(client, workspace, "joined-today", member_since="2026-11-11")  # no anniversary on the day itself
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Happy membership anniversary"]
    assert len(entries(runtime, workspace, journey["id"])) == 1


def _spring_festival(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "family")
    clock.freeze(datetime(2027, 2, 3, 1, 59, tzinfo=UTC))  # 09:59 in Shanghai, 3 days before 6 February 2027
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == []
    clock.advance(timedelta(minutes=1))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Happy Spring Festival"]


def _double_11(runtime: Runtime, client: Any, workspace: Any, journey: dict[str, Any]) -> None:
    person(client, workspace, "shopper")
    clock.freeze(datetime(2027, 11, 8, 12, 0, tzinfo=UTC))  # 20:00 in Shanghai on 8 November
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Double 11 warm-up: coupons first"]
    clock.advance(timedelta(days=2))
    run(runtime, workspace)
    assert _subjects(runtime, workspace, journey) == ["Double 11 warm-up: coupons first", "Tonight at midnight"]


DATE_GIFT_SCENARIOS: dict[str, Callable[[Runtime, Any, Any, dict[str, Any]], None]] = {
    "anniversary": _anniversary, "spring_festival": _spring_festival, "double_11_warmup": _double_11,
}
