"""Pure decisions of distribution: what a commission plan may say, who may be whose parent, what an
order is worth to each level.

Two levels at most, everywhere: a plan with a third level of rates and a promoter whose parent
already has a parent (or who would push their own recruits to a third level) are refused with
``distribution.too_many_levels`` and the legal reason (:mod:`siyu.growth.distribution_errors`).

Money is counted in fen (integers). A line's commission is ``round_half_up(amount × rate)``; an
order's lines are scaled down to its ``total`` when the total is lower than their sum (an order-level
discount), so nobody earns on money the buyer did not pay.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from siyu.growth.distribution_errors import DistributionError, TooManyLevels
from siyu.growth.distribution_models import Level, Line, Order, Plan, Rate, Share

MAX_LEVELS = 2
MAX_RATE = Decimal("0.5")
MAX_DAYS = 365
MAX_RATES_PER_LEVEL = 500


def _rate(value: Any, where: str) -> Decimal:
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DistributionError(f"{where}: {value!r} is not a number.", details={"field": where}) from None
    if isinstance(value, bool) or not rate.is_finite() or rate < 0 or rate > MAX_RATE:
        raise DistributionError(f"{where}: a rate is between 0 and {MAX_RATE} (e.g. 0.1 for 10%).",
                                details={"field": where, "value": str(value)})
    return rate


def _days(document: Mapping[str, Any], name: str, default: int) -> int:
    value = document.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise DistributionError(f"{name} is a whole number of days from 0 to {MAX_DAYS}.", details={"field": name})
    return value


def _level(document: Any, number: int) -> Level:
    if not isinstance(document, Mapping):
        raise DistributionError(f"levels[{number - 1}] must be an object with default_rate and rates.")
    rates = document.get("rates") or []
    if not isinstance(rates, list) or len(rates) > MAX_RATES_PER_LEVEL:
        raise DistributionError(f"levels[{number - 1}].rates is a list of at most {MAX_RATES_PER_LEVEL} rates.")
    parsed = []
    for index, item in enumerate(rates):
        where = f"levels[{number - 1}].rates[{index}]"
        if not isinstance(item, Mapping) or ("product_id" in item) == ("category" in item):
            raise DistributionError(f"{where} names either a product_id or a category, and a rate.",
                                    details={"field": where})
        key = item.get("product_id", item.get("category"))
        if not isinstance(key, str) or not key.strip() or len(key) > 200:
            raise DistributionError(f"{where}: the product_id or category is a non-empty text.",
                                    details={"field": where})
        rate = _rate(item.get("rate"), f"{where}.rate")
        parsed.append(Rate(rate, product_id=key.strip()) if "product_id" in item
                      else Rate(rate, category=key.strip()))
    return Level(_rate(document.get("default_rate", 0), f"levels[{number - 1}].default_rate"), tuple(parsed))


def parse_plan(document: Any) -> Plan:
    """A commission plan from its JSON: ``{"levels": [{"default_rate", "rates": [{"product_id" |
    "category", "rate"}]}, …], "attribution_days", "refund_days"}``; the first level is the promoter
    of the order's last touch, the second their parent. A third level is refused."""
    if not isinstance(document, Mapping):
        raise DistributionError("A commission plan is a JSON object.")
    unknown = set(document) - {"levels", "attribution_days", "refund_days"}
    if unknown:
        raise DistributionError(f"Unknown field(s) in the plan: {', '.join(sorted(unknown))}.",
                                details={"fields": sorted(unknown)})
    levels = document.get("levels")
    if not isinstance(levels, list) or not levels:
        raise DistributionError("levels is a list of one or two levels of rates.", details={"field": "levels"})
    if len(levels) > MAX_LEVELS:
        raise TooManyLevels(f"This plan has {len(levels)} levels of commission.", levels=len(levels))
    return Plan(levels=tuple(_level(level, n) for n, level in enumerate(levels, start=1)),
                attribution_days=_days(document, "attribution_days", 7),
                refund_days=_days(document, "refund_days", 7))


def check_parent(promoter_id: int | None, parent_id: int, parent_of_parent: int | None, has_recruits: bool) -> None:
    """May ``parent_id`` become the promoter's parent? Not themself, not someone who has a parent
    (their parent would earn on a third level), and not for a promoter with recruits of their own."""
    if promoter_id is not None and parent_id == promoter_id:
        raise DistributionError("A promoter cannot be their own parent.", details={"parent_id": parent_id})
    if parent_of_parent is not None:
        raise TooManyLevels(f"Promoter {parent_id} already has a parent ({parent_of_parent}).",
                            parent_id=parent_id, parent_of_parent=parent_of_parent)
    if has_recruits:
        raise TooManyLevels(f"Promoter {promoter_id} has recruits of their own; with a parent they would be a "
                            "third level.", promoter_id=promoter_id, parent_id=parent_id)


def fen(value: Any) -> int | None:
    """Yuan (a number or numeric text) as whole fen, half up; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _text(value: Any) -> str | None:
    return str(value).strip()[:200] or None if isinstance(value, str | int) and not isinstance(value, bool) else None


def _lines(products: Any) -> list[Line]:
    lines = []
    for item in products if isinstance(products, list) else []:
        if not isinstance(item, Mapping):
            continue
        price, quantity = fen(item.get("price")), item.get("quantity", 1)
        if price is None or price < 0 or isinstance(quantity, bool) or not isinstance(quantity, int | float) \
                or quantity <= 0:
            continue
        lines.append(Line(int(price * quantity), _text(item.get("product_id", item.get("sku"))),
                          _text(item.get("category"))))
    return lines


def order_of(event_id: int, at: datetime, properties: Mapping[str, Any], *, profile_id: int | None,
             anonymous_id: str | None) -> Order | None:
    """An ``Order Completed`` entry as an order (Segment's e-commerce spec: ``order_id``, ``total``
    else ``revenue``, ``products`` with ``product_id`` / ``sku``, ``category``, ``price``,
    ``quantity``); None without an order id or any amount."""
    order_id = _text(properties.get("order_id"))
    if order_id is None:
        return None
    lines = _lines(properties.get("products"))
    total = next((amount for key in ("total", "revenue") if (amount := fen(properties.get(key))) is not None), None)
    listed = sum(line.amount_fen for line in lines)
    if total is None:
        total = listed
    if total <= 0:
        return None
    if not lines or listed <= 0:
        lines = [Line(total)]
    elif total < listed:  # an order-level discount: the lines shrink to what was paid
        scaled = [Line(line.amount_fen * total // listed, line.product_id, line.category) for line in lines]
        lines = scaled
    ref = properties.get("siyu_ref")
    return Order(order_id[:128], event_id, at, total, tuple(lines), profile_id, anonymous_id,
                 ref[:32] if isinstance(ref, str) and ref else None)


def rate_for(level: Level, line: Line) -> tuple[Decimal, str]:
    """The line's rate at this level and what chose it: its product's, else its category's, else the default."""
    for rate in level.rates:
        if rate.product_id is not None and rate.product_id == line.product_id:
            return rate.rate, f"product:{rate.product_id}"
    for rate in level.rates:
        if rate.category is not None and rate.category == line.category:
            return rate.rate, f"category:{rate.category}"
    return level.default_rate, "default"


def shares(order: Order, chain: list[int], plan: Plan) -> list[Share]:
    """What each level earns on the order: ``chain`` is the attributed promoter, then their parent if
    any; a level the plan has no rates for earns nothing, and a zero amount writes no row."""
    found = []
    for number, (promoter_id, level) in enumerate(zip(chain[:MAX_LEVELS], plan.levels, strict=False), start=1):
        amount, lines = 0, []
        for line in order.lines:
            rate, chosen_by = rate_for(level, line)
            earned = int((line.amount_fen * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            amount += earned
            lines.append({"product_id": line.product_id, "category": line.category, "amount_fen": line.amount_fen,
                          "rate": str(rate), "by": chosen_by, "commission_fen": earned})
        if amount > 0:
            base = sum(line.amount_fen for line in order.lines)
            found.append(Share(promoter_id, number, amount, base, {"lines": lines}))
    return found
