"""Random segment definitions over the generated population's vocabulary (for agreement tests)."""

from __future__ import annotations

import random
from typing import Any

from tests.segments.population import CITIES, EVENTS, ID_TYPES, RFM, TAGS

DATES = ["2026-01-01", "2026-10-01T08:00:00Z", {"ago": "30d"}, {"ago": "200d"}, {"ago": "12h"}]
DURATIONS = ["7d", "30d", "90d", "2w", "36h", "400d"]


def _number_comparison(rng: random.Random, choices: list[float]) -> dict[str, Any]:
    op = rng.choice(["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in"])
    if op == "between":
        low, high = sorted(rng.sample(choices, 2))
        return {"op": op, "value": [low, high]}
    if op in ("in", "not_in"):
        return {"op": op, "value": rng.sample(choices, 2)}
    return {"op": op, "value": rng.choice(choices)}


def _date_comparison(rng: random.Random, presence: bool = True) -> dict[str, Any]:
    op = rng.choice(["before", "after", "within_last", "not_within_last", "between"]
                    + (["exists", "not_exists"] if presence else []))
    if op in ("exists", "not_exists"):
        return {"op": op}
    if op in ("within_last", "not_within_last"):
        return {"op": op, "value": rng.choice(DURATIONS)}
    if op == "between":
        return {"op": op, "value": [{"ago": "300d"}, rng.choice(["2026-11-01", {"ago": "10d"}])]}
    return {"op": op, "value": rng.choice(DATES)}


def _trait(rng: random.Random) -> dict[str, Any]:
    key = rng.choice(["city", "age", "is_member", "signup_date", "skin", "missing"])
    if key == "age":
        return {"trait": key, **_number_comparison(rng, [18, 25, 30, 41])}
    if key == "is_member":
        return {"trait": key, "op": rng.choice(["eq", "ne"]), "value": rng.random() < 0.5}
    if key == "signup_date":
        return {"trait": key, **_date_comparison(rng)}
    op = rng.choice(["eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with", "exists", "not_exists"])
    if op in ("exists", "not_exists"):
        return {"trait": key, "op": op}
    if op in ("in", "not_in"):
        return {"trait": key, "op": op, "value": rng.sample(CITIES, 2)}
    return {"trait": key, "op": op, "value": rng.choice(CITIES + ["海", "oily", "Shang"])}


def _event(rng: random.Random) -> dict[str, Any]:
    node: dict[str, Any] = {"event": rng.choice(EVENTS)}
    roll = rng.random()
    if roll < 0.2:
        node["did"] = rng.random() < 0.5
    elif roll < 0.5:
        node.update(measure="count", **_number_comparison(rng, [0, 1, 2, 3]))
    elif roll < 0.7:
        node.update(measure=rng.choice(["sum", "avg"]), property=rng.choice(["revenue", "price"]),
                    **_number_comparison(rng, [0, 99, 199, 300]))
        if node["measure"] == "avg" and rng.random() < 0.2:
            node.update(op=rng.choice(["exists", "not_exists"]))
            node.pop("value")
    else:
        node.update(measure=rng.choice(["first", "last"]), **_date_comparison(rng))
    if rng.random() < 0.5:
        node["within"] = rng.choice(DURATIONS)
    elif rng.random() < 0.2:
        node["between"] = [{"ago": "100d"}, {"ago": "1d"}]
    if rng.random() < 0.3:
        node["where"] = [rng.choice([{"property": "channel", "op": "eq", "value": "tmall"},
                                     {"property": "price", "op": "gte", "value": 60},
                                     {"property": "sku", "op": "starts_with", "value": "LIP"},
                                     {"property": "channel", "op": "ne", "value": "store"}])]
    return node


def leaf(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["trait", "trait", "tag", "identifier", "consent", "event", "event", "rollup", "score",
                       "segment"])
    if kind == "trait":
        return _trait(rng)
    if kind == "tag":
        op = rng.choice(["has", "has_not", "any_of", "all_of", "none_of"])
        return {"tag": rng.choice(TAGS) if op in ("has", "has_not") else rng.sample(TAGS, 2), "op": op}
    if kind == "identifier":
        kinds = ID_TYPES + ["wechat_openid", "platform_buyer_id", "user_id"]
        return {"identifier": rng.choice(kinds), "op": rng.choice(["exists", "not_exists"])}
    if kind == "consent":
        return {"consent": rng.choice(["sms", "wechat", "any", "email"]),
                "purpose": rng.choice(["marketing", "transactional"]), "op": rng.choice(["granted", "not_granted"])}
    if kind == "event":
        return _event(rng)
    if kind == "rollup":
        name = rng.choice(["order_count", "total_spend", "last_order_at", "first_seen_at", "first_channel"])
        if name.endswith("_at"):
            return {"rollup": name, **_date_comparison(rng)}
        if name == "first_channel":
            op = rng.choice(["eq", "ne", "in", "exists", "not_exists"])
            value = {"eq": "store", "ne": "store", "in": ["store", "tmall_card"]}.get(op)
            return {"rollup": name, "op": op} | ({"value": value} if value else {})
        return {"rollup": name, **_number_comparison(rng, [0, 1, 2, 99, 500])}
    if kind == "score":
        if rng.random() < 0.5:
            op = rng.choice(["eq", "ne", "in", "not_in", "exists", "not_exists"])
            if op in ("exists", "not_exists"):
                return {"score": "rfm_segment", "op": op}
            return {"score": "rfm_segment", "op": op, "value": RFM[:2] if op.endswith("in") else rng.choice(RFM)}
        return {"score": rng.choice(["p_alive", "rfm_recency"]), **_number_comparison(rng, [0.1, 0.5, 1, 3, 5])}
    return {"segment": 9_001, "op": rng.choice(["member", "not_member"])}


def definition(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    if depth >= 3 or rng.random() < 0.45:
        return leaf(rng)
    kind = rng.choice(["all", "any", "not"])
    if kind == "not":
        return {"not": definition(rng, depth + 1)}
    return {kind: [definition(rng, depth + 1) for _ in range(rng.randint(1, 3))]}
