"""Pure rules of distribution: plans, the two-level limit, order amounts, rates, last touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from siyu.growth.distribution_attribution import last_touch
from siyu.growth.distribution_errors import DistributionError, TooManyLevels
from siyu.growth.distribution_models import Touch
from siyu.growth.distribution_rules import check_parent, fen, order_of, parse_plan, shares

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
PLAN = {"levels": [{"default_rate": "0.10", "rates": [{"category": "护肤", "rate": 0.15},
                                                      {"product_id": "P-LIP", "rate": "0.2"}]},
                   {"default_rate": "0.02"}], "attribution_days": 7, "refund_days": 10}


def test_a_plan_parses_with_its_levels_and_windows() -> None:
    plan = parse_plan(PLAN)
    assert [level.default_rate for level in plan.levels] == [Decimal("0.10"), Decimal("0.02")]
    assert (plan.attribution_days, plan.refund_days) == (7, 10)
    assert parse_plan(plan.to_dict()) == plan


def test_a_third_level_is_refused_with_the_legal_reason() -> None:
    with pytest.raises(TooManyLevels) as refused:
        parse_plan({"levels": [{"default_rate": 0.1}, {"default_rate": 0.02}, {"default_rate": 0.01}]})
    assert refused.value.code == "distribution.too_many_levels"
    assert "禁止传销条例" in refused.value.message and "Pyramid Selling" in refused.value.message
    assert refused.value.details["max_levels"] == 2 and "禁止传销条例" in refused.value.details["reason_zh"]


@pytest.mark.parametrize("document", [
    {"levels": []}, {"levels": [{"default_rate": 0.9}]}, {"levels": [{"default_rate": -0.1}]},
    {"levels": [{"default_rate": "ten"}]}, {"levels": [{"default_rate": True}]},
    {"levels": [{"default_rate": 0.1, "rates": [{"rate": 0.1}]}]},
    {"levels": [{"default_rate": 0.1, "rates": [{"product_id": "a", "category": "b", "rate": 0.1}]}]},
    {"levels": [{"default_rate": 0.1}], "refund_days": -1}, {"levels": [{"default_rate": 0.1}], "depth": 3},
    "not a plan",
])
def test_bad_plans_are_refused_with_a_message(document) -> None:  # noqa: ANN001
    with pytest.raises(DistributionError) as refused:
        parse_plan(document)
    assert refused.value.code == "distribution.invalid" and refused.value.message


def test_a_parent_may_not_have_a_parent_nor_a_promoter_with_recruits_get_one() -> None:
    check_parent(2, 1, None, False)  # fine: 1 is top-level, 2 has no recruits
    with pytest.raises(TooManyLevels):
        check_parent(3, 2, 1, False)
    with pytest.raises(TooManyLevels):
        check_parent(2, 1, None, True)
    with pytest.raises(DistributionError) as itself:
        check_parent(4, 4, None, False)
    assert itself.value.code == "distribution.invalid"


@pytest.mark.parametrize(("value", "expected"), [
    (1, 100), (1.005, 101), ("19.99", 1999), ("0.1", 10), (True, None), ("abc", None), (None, None), ("nan", None),
])
def test_yuan_become_whole_fen_half_up(value, expected) -> None:  # noqa: ANN001
    assert fen(value) == expected


def _order(**properties):  # noqa: ANN003, ANN202
    return order_of(7, T0, {"order_id": "O1", **properties}, profile_id=5, anonymous_id="a1")


def test_rates_by_product_then_category_then_default_on_each_level() -> None:
    order = _order(total=300, products=[
        {"product_id": "P-LIP", "category": "彩妆", "price": 100, "quantity": 1},
        {"product_id": "P-CREAM", "category": "护肤", "price": 50, "quantity": 2},
        {"sku": "P-BRUSH", "category": "工具", "price": "100"}])
    one, two = shares(order, [11, 22], parse_plan(PLAN))
    assert (one.promoter_id, one.level, one.amount_fen) == (11, 1, 2000 + 1500 + 1000)
    assert [line["by"] for line in one.detail["lines"]] == ["product:P-LIP", "category:护肤", "default"]
    assert (two.promoter_id, two.level, two.amount_fen, two.base_fen) == (22, 2, 600, 30000)


def test_a_one_level_plan_pays_no_parent_and_zero_amounts_write_nothing() -> None:
    order = _order(total=88)
    assert [(s.level, s.amount_fen) for s in shares(order, [1, 2], parse_plan({"levels": [{"default_rate": 0.1}]}))] \
        == [(1, 880)]
    assert shares(order, [1], parse_plan({"levels": [{"default_rate": 0}]})) == []


def test_an_order_level_discount_shrinks_the_lines() -> None:
    order = _order(total=150, products=[{"product_id": "A", "price": 100}, {"product_id": "B", "price": 100}])
    assert [line.amount_fen for line in order.lines] == [7500, 7500]
    assert sum(s.amount_fen for s in shares(order, [1], parse_plan({"levels": [{"default_rate": 0.1}]}))) == 1500


def test_orders_without_an_id_or_an_amount_are_not_orders_and_revenue_stands_in_for_total() -> None:
    assert order_of(1, T0, {"total": 10}, profile_id=None, anonymous_id=None) is None
    assert _order(total=0) is None
    assert _order(revenue="12.5").total_fen == 1250
    assert _order(products=[{"price": 10, "quantity": 3}]).total_fen == 3000
    assert _order(total=5, siyu_ref="abc").ref == "abc"


def _touch(id_: int, promoter: int, at: datetime) -> Touch:
    return Touch(id_, promoter, at)


@pytest.mark.parametrize(("touches", "active", "expected"), [
    ([], None, None),
    ([(1, 10, -DAY)], None, 1),
    ([(1, 10, -3 * DAY), (2, 20, -DAY)], None, 2),  # the last touch wins
    ([(1, 10, -8 * DAY)], None, None),  # outside the 7-day window
    ([(1, 10, -7 * DAY)], None, 1),  # the window's edge counts
    ([(1, 10, +timedelta(seconds=1))], None, None),  # after the order
    ([(1, 10, -DAY), (2, 20, -DAY)], None, 2),  # a tie goes to the later-written touch
    ([(1, 10, -3 * DAY), (2, 20, -DAY)], {10}, 1),  # a disabled promoter's touch does not count
])
def test_the_last_touch_within_the_window_wins(touches, active, expected) -> None:  # noqa: ANN001
    found = last_touch([_touch(i, p, T0 + offset) for i, p, offset in touches], T0, 7 * DAY, active)
    assert (found.id if found else None) == expected
