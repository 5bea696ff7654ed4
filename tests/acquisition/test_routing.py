"""Routing of WeCom channel codes: which members a contact way offers, as a pure decision."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time

import pytest

from siyu.acquisition.routing import Candidate, Load, Routed, Rule, Strategy, parse_rule, route, within_hours

TZ = "Asia/Shanghai"
NOON = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
NIGHT = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
OFFICE = (time(9), time(18))


def _rule(strategy: Strategy, *staff: Candidate, fallback: tuple[str, ...] = ()) -> Rule:
    return Rule(strategy, tuple(staff), fallback)


def test_round_robin_moves_to_the_member_after_the_last_add() -> None:
    rule = _rule(Strategy.ROUND_ROBIN, Candidate("a"), Candidate("b"), Candidate("c"))
    picked, last = [], None
    for _ in range(6):
        routed = route(rule, Load(last_assigned=last), NOON, TZ)
        last = routed.users[0]
        picked.append(last)
    assert picked == ["a", "b", "c", "a", "b", "c"]


def test_round_robin_skips_a_member_who_is_full() -> None:
    rule = _rule(Strategy.ROUND_ROBIN, Candidate("a"), Candidate("b", daily_cap=2), Candidate("c"))
    routed = route(rule, Load(added_today={"b": 2}, last_assigned="a"), NOON, TZ)
    assert routed == Routed(("c",), excluded={"b": "routing.full"})


def test_weighted_gives_each_member_its_share_of_the_day() -> None:
    rule = _rule(Strategy.WEIGHTED, Candidate("a", weight=3), Candidate("b", weight=1))
    counts: Counter[str] = Counter()
    for _ in range(40):
        counts[route(rule, Load(added_today=dict(counts)), NOON, TZ).users[0]] += 1
    assert counts == {"a": 30, "b": 10}


def test_least_loaded_picks_the_member_with_fewest_customers() -> None:
    rule = _rule(Strategy.LEAST_LOADED, Candidate("a"), Candidate("b"), Candidate("c"))
    assert route(rule, Load(owned={"a": 120, "b": 80, "c": 95}), NOON, TZ).users == ("b",)
    assert route(rule, Load(owned={"a": 5, "b": 5, "c": 5}), NOON, TZ).users == ("a",)  # ties: the rule's order


def test_all_offers_every_available_member() -> None:
    rule = _rule(Strategy.ALL, Candidate("a", hours=OFFICE), Candidate("b"), Candidate("c"))
    assert route(rule, Load(departed=frozenset({"c"})), NIGHT, TZ) == Routed(
        ("b",), excluded={"a": "routing.off_hours", "c": "routing.left"})


def test_outside_working_hours_the_fallback_takes_over() -> None:
    rule = _rule(Strategy.ROUND_ROBIN, Candidate("a", hours=OFFICE), Candidate("b", hours=OFFICE),
                 fallback=("night_shift", "gone"))
    assert route(rule, Load(departed=frozenset({"gone"})), NIGHT, TZ) == Routed(
        ("night_shift",), fallback=True, excluded={"a": "routing.off_hours", "b": "routing.off_hours"})
    assert route(rule, Load(), NOON, TZ).users == ("a",)


def test_nobody_available_and_no_fallback_leaves_the_list_empty() -> None:
    rule = _rule(Strategy.WEIGHTED, Candidate("a", daily_cap=0))
    assert route(rule, Load(), NOON, TZ) == Routed((), excluded={"a": "routing.full"})


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("hour", range(0, 24, 3))
def test_never_a_full_or_off_hours_member_while_another_is_available(strategy: Strategy, hour: int) -> None:
    now = datetime(2026, 11, 30, hour, 0, tzinfo=UTC)
    rule = _rule(strategy, Candidate("full", daily_cap=1), Candidate("day", hours=OFFICE),
                 Candidate("night", hours=(time(22), time(6))), Candidate("left"))
    load = Load(added_today={"full": 1}, departed=frozenset({"left"}), last_assigned="day")
    routed = route(rule, load, now, TZ)
    open_now = {"day"} if within_hours(OFFICE, now, TZ) else set()
    open_now |= {"night"} if within_hours((time(22), time(6)), now, TZ) else set()
    assert set(routed.users) <= open_now
    assert bool(routed.users) == bool(open_now)


def test_hours_spanning_midnight() -> None:
    night = (time(22), time(6))
    assert within_hours(night, NIGHT, TZ) and not within_hours(night, NOON, TZ)


@pytest.mark.parametrize(("raw", "problem"), [
    ({"staff": []}, "at least one member"), ({"strategy": "random", "staff": [{"userid": "a"}]}, "random"),
    ({"staff": [{"userid": "a", "weight": 0}]}, "weight"), ({"staff": [{"userid": "a"}, {"userid": "a"}]}, "twice"),
    ({"staff": [{"userid": "a", "hours": ["9:00"]}]}, "hours"), ({"staff": [{}]}, "userid")])
def test_a_bad_rule_says_what_is_wrong(raw: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_rule(raw)


def test_a_rule_from_json() -> None:
    rule = parse_rule({"strategy": "weighted", "staff": [{"userid": "a", "weight": 2, "daily_cap": 50,
                                                          "hours": ["09:00", "18:00"]}], "fallback": ["b"]})
    assert rule == Rule(Strategy.WEIGHTED, (Candidate("a", 2, 50, OFFICE),), ("b",))
