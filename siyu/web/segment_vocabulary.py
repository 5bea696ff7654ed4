"""What the segment builder offers, in the reader's words.

Every code the builder can send — condition kinds, operators, measures, identifier types, rollups,
scores and the values of the two named scores — with the label the operator reads. The values
sent stay the codes of the segment language (docs/segments.md); only what is shown is translated.
English labels are the msgids of the console catalogues, as in ``i18n.TERMS``. RFM segment and
lifecycle stage names come from ``siyu.segments.scores``, which holds both languages already, so
the builder says 重要价值客户 exactly as the scores page does.

The operators offered for a field are those the parser accepts for what the field holds
(``ValueKind``), so the builder cannot compose "first channel ≥ 3"; a test parses every pairing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from siyu.identity.models import IdentifierKind
from siyu.segments.models import (
    ROLLUP_KINDS,
    SCORE_KINDS,
    LoyaltyField,
    Measure,
    Op,
    Rollup,
    Score,
    TagOp,
    ValueKind,
)
from siyu.segments.scores import LIFECYCLE_STAGES, RFM_SEGMENT_NAMES

KIND_LABELS = {"trait": "Trait", "tag": "Tag", "event": "Event", "rollup": "Rollup", "score": "Score",
               "identifier": "Identifier", "loyalty": "Loyalty"}

OPERATOR_LABELS = {
    Op.EQ: "equals", Op.NE: "does not equal", Op.GT: "greater than", Op.GTE: "at least", Op.LT: "less than",
    Op.LTE: "at most", Op.BETWEEN: "between", Op.IN: "is one of", Op.NOT_IN: "is none of",
    Op.CONTAINS: "contains", Op.NOT_CONTAINS: "does not contain", Op.STARTS_WITH: "starts with",
    Op.EXISTS: "is present", Op.NOT_EXISTS: "is missing", Op.BEFORE: "before", Op.AFTER: "after",
    Op.WITHIN_LAST: "within the last", Op.NOT_WITHIN_LAST: "not within the last",
    TagOp.HAS: "has the tag", TagOp.HAS_NOT: "does not have the tag", TagOp.ANY_OF: "has any of the tags",
    TagOp.ALL_OF: "has all of the tags", TagOp.NONE_OF: "has none of the tags",
}

MEASURE_LABELS = {Measure.COUNT: "number of times", Measure.SUM: "sum of", Measure.AVG: "average of",
                  Measure.FIRST: "time of the first", Measure.LAST: "time of the last"}

IDENTIFIER_LABELS = {
    IdentifierKind.USER_ID: "User ID", IdentifierKind.ANONYMOUS_ID: "Anonymous ID", IdentifierKind.PHONE: "Phone",
    IdentifierKind.EMAIL: "E-mail", IdentifierKind.WECHAT_UNIONID: "WeChat UnionID",
    IdentifierKind.WECHAT_OPENID: "WeChat OpenID (any app)",
    IdentifierKind.WECOM_EXTERNAL_USERID: "WeCom external contact ID",
    IdentifierKind.WECOM_USER: "WeCom member ID",
    IdentifierKind.PLATFORM_BUYER_ID: "Marketplace buyer ID (any platform)", IdentifierKind.MEMBER_ID: "Member ID",
}

ROLLUP_LABELS = {
    Rollup.FIRST_SEEN_AT: "First seen", Rollup.LAST_SEEN_AT: "Last seen", Rollup.CREATED_AT: "Profile created",
    Rollup.EVENT_COUNT: "Number of events", Rollup.ORDER_COUNT: "Orders", Rollup.TOTAL_SPEND: "Total spend",
    Rollup.FIRST_ORDER_AT: "First order time", Rollup.LAST_ORDER_AT: "Last order time",
    Rollup.FIRST_CHANNEL: "First channel", Rollup.LAST_CHANNEL: "Last channel",
}

SCORE_LABELS = {
    Score.RFM_RECENCY: "RFM recency score (R)", Score.RFM_FREQUENCY: "RFM frequency score (F)",
    Score.RFM_MONETARY: "RFM monetary score (M)", Score.RFM_SEGMENT: "RFM segment",
    Score.LIFECYCLE_STAGE: "Lifecycle stage", Score.KOC_SCORE: "KOC score",
    Score.P_ALIVE: "Probability still a customer (p_alive)", Score.EXPECTED_PURCHASES: "Expected purchases",
    Score.EXPECTED_ORDER_VALUE: "Expected order value", Score.CLV: "Customer lifetime value (CLV)",
    Score.CHURN_RISK: "Churn risk",
}

LOYALTY_LABELS = {LoyaltyField.TIER: "Tier", LoyaltyField.POINTS_BALANCE: "Points balance",
                  LoyaltyField.GROWTH_VALUE: "Growth value"}
# A tier is compared by rank, so "at least 金卡" reads naturally; the value is a tier's name or rank.
TIER_BUILDER_OPS = (Op.GTE, Op.LTE, Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.EXISTS, Op.NOT_EXISTS)

# The named scores hold one of a fixed set of codes: the builder offers them as choices.
SCORE_CHOICES: dict[Score, dict[str, tuple[str, str]]] = {
    Score.RFM_SEGMENT: RFM_SEGMENT_NAMES, Score.LIFECYCLE_STAGE: LIFECYCLE_STAGES,
}

# Operators offered, by what a field holds; every one is accepted by the parser for that kind.
FIELD_OPS: dict[ValueKind, tuple[Op, ...]] = {
    ValueKind.NUMBER: (Op.GTE, Op.LTE, Op.EQ, Op.NE, Op.GT, Op.LT),
    ValueKind.DATE: (Op.WITHIN_LAST, Op.NOT_WITHIN_LAST, Op.BEFORE, Op.AFTER, Op.EXISTS, Op.NOT_EXISTS),
    ValueKind.TEXT: (Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.CONTAINS, Op.STARTS_WITH, Op.EXISTS, Op.NOT_EXISTS),
    ValueKind.ANY: (Op.EQ, Op.NE, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.CONTAINS, Op.IN, Op.EXISTS, Op.NOT_EXISTS,
                    Op.WITHIN_LAST, Op.BEFORE, Op.AFTER),
}
CHOICE_OPS = (Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.EXISTS, Op.NOT_EXISTS)
CONDITION_OPS: dict[str, tuple[str, ...]] = {
    "trait": tuple(FIELD_OPS[ValueKind.ANY]),
    "tag": (TagOp.HAS, TagOp.HAS_NOT),
    "identifier": (Op.EXISTS, Op.NOT_EXISTS),
    "event": (Op.GTE, Op.EQ, Op.LTE, Op.GT, Op.LT),
}
BUILDER_MEASURES = (Measure.COUNT, Measure.SUM, Measure.AVG)


def messages() -> set[str]:
    """Every msgid above, for the catalogue test."""
    tables: list[dict[Any, str]] = [KIND_LABELS, OPERATOR_LABELS, MEASURE_LABELS, IDENTIFIER_LABELS, ROLLUP_LABELS,
                                    SCORE_LABELS, LOYALTY_LABELS]
    return {label for table in tables for label in table.values()}


def builder_vocabulary(gettext: Callable[[str], str], locale: str, tags: list[str],
                       tiers: list[str] | None = None) -> dict[str, Any]:
    """The builder's options for ``segments.js``: ``[code, label]`` pairs in the order offered; rollups and
    scores also say what they hold (``kind``: number, date or text), which operators apply and, for the
    named scores, the ``choices``."""

    def pairs(codes: Any, labels: dict[Any, str]) -> list[list[str]]:
        return [[str(code), gettext(labels[code])] for code in codes]

    def named(names: dict[str, tuple[str, str]]) -> list[list[str]]:
        return [[code, zh if locale == "zh_CN" else en] for code, (zh, en) in names.items()]

    def score(code: Score) -> dict[str, Any]:
        choices = SCORE_CHOICES.get(code)
        return {"code": code.value, "label": gettext(SCORE_LABELS[code]), "kind": SCORE_KINDS[code].value,
                "ops": [op.value for op in (CHOICE_OPS if choices else FIELD_OPS[SCORE_KINDS[code]])],
                "choices": named(choices) if choices else None}

    return {
        "kinds": pairs(KIND_LABELS, KIND_LABELS),
        "operators": {str(code): gettext(label) for code, label in OPERATOR_LABELS.items()},
        "ops": {kind: [str(op) for op in ops] for kind, ops in CONDITION_OPS.items()},
        "measures": pairs(BUILDER_MEASURES, MEASURE_LABELS),
        "identifiers": pairs(IdentifierKind, IDENTIFIER_LABELS),
        "rollups": [{"code": r.value, "label": gettext(ROLLUP_LABELS[r]), "kind": ROLLUP_KINDS[r].value,
                     "ops": [op.value for op in FIELD_OPS[ROLLUP_KINDS[r]]], "choices": None} for r in Rollup],
        "scores": [score(s) for s in Score],
        "tags": tags,
        "loyalty": [loyalty_field(field, gettext, tiers) for field in LoyaltyField],
    }


def loyalty_field(field: LoyaltyField, gettext: Callable[[str], str], tiers: list[str] | None) -> dict[str, Any]:
    """A loyalty field for the builder: the tier is offered as the ladder's names when the page knows
    them (``tiers``), else typed — a name or a rank; balances and growth are numbers."""
    if field is LoyaltyField.TIER:
        return {"code": field.value, "label": gettext(LOYALTY_LABELS[field]), "kind": "tier",
                "ops": [op.value for op in TIER_BUILDER_OPS],
                "choices": [[name, name] for name in tiers] if tiers else None}
    return {"code": field.value, "label": gettext(LOYALTY_LABELS[field]), "kind": ValueKind.NUMBER.value,
            "ops": [op.value for op in FIELD_OPS[ValueKind.NUMBER]], "choices": None}
