"""The segment builder's options: every code has a label in both languages, and every option the builder
offers makes a definition the parser accepts."""

from __future__ import annotations

import pytest

from siyu.identity.models import IdentifierKind
from siyu.segments.models import Measure, Op, Rollup, Score, TagOp
from siyu.segments.parse import parse
from siyu.web.i18n import translations
from siyu.web.segment_vocabulary import (
    IDENTIFIER_LABELS,
    MEASURE_LABELS,
    OPERATOR_LABELS,
    ROLLUP_LABELS,
    SCORE_LABELS,
    builder_vocabulary,
)

SAMPLE_VALUES = {"within_last": "30d", "not_within_last": "30d", "before": {"ago": "7d"}, "after": "2024-01-01",
                 "in": [1], "contains": "a", "starts_with": "a"}


def _vocabulary(locale: str) -> dict:
    return builder_vocabulary(translations(locale).gettext, locale, ["VIP"])


def test_every_code_of_the_language_has_a_label() -> None:
    assert set(OPERATOR_LABELS) == set(Op) | set(TagOp)
    assert set(MEASURE_LABELS) == set(Measure)
    assert set(IDENTIFIER_LABELS) == set(IdentifierKind)
    assert set(ROLLUP_LABELS) == set(Rollup)
    assert set(SCORE_LABELS) == set(Score)


def test_labels_are_the_readers_words_and_values_stay_codes() -> None:
    zh, en = _vocabulary("zh_CN"), _vocabulary("en")
    assert zh["operators"]["gte"] == "大于或等于" and en["operators"]["gte"] == "at least"
    assert dict(zh["measures"])["sum"] == "合计" and dict(en["identifiers"])["wechat_unionid"] == "WeChat UnionID"
    assert dict(zh["identifiers"])["phone"] == "手机号" and dict(zh["kinds"])["tag"] == "标签"
    stage = next(s for s in zh["scores"] if s["code"] == "lifecycle_stage")
    assert stage["label"] == "生命周期阶段" and ["churned", "流失"] in stage["choices"]
    rfm = next(s for s in en["scores"] if s["code"] == "rfm_segment")
    assert rfm["label"] == "RFM segment" and ["champions", "Champions"] in rfm["choices"]
    spend = next(r for r in zh["rollups"] if r["code"] == "total_spend")
    assert spend["label"] == "累计消费" and spend["ops"][0] == "gte" and spend["choices"] is None
    assert all(label != code for code, label in zh["operators"].items())


def _offered() -> list[dict]:
    """One definition per option the builder offers: each field with each of its operators."""
    vocabulary = _vocabulary("en")
    nodes: list[dict] = []
    for kind in ("rollup", "score"):
        for field in vocabulary[f"{kind}s"]:
            for op in field["ops"]:
                node = {kind: field["code"], "op": op}
                sample = field["choices"][0][0] if field["choices"] else 1 if field["kind"] == "number" else "douyin"
                if op in ("in", "not_in"):
                    node["value"] = [sample]
                elif op not in ("exists", "not_exists"):
                    node["value"] = SAMPLE_VALUES.get(op, sample)
                nodes.append(node)
    nodes += [{"trait": "city", "op": op} if op in ("exists", "not_exists")
              else {"trait": "city", "op": op, "value": SAMPLE_VALUES.get(op, 1)} for op in vocabulary["ops"]["trait"]]
    nodes += [{"tag": "VIP", "op": op} for op in vocabulary["ops"]["tag"]]
    nodes += [{"identifier": code, "op": op}
              for code, _ in vocabulary["identifiers"] for op in vocabulary["ops"]["identifier"]]
    nodes += [{"event": "Order Completed", "measure": measure, "op": op, "value": 1,
               **({} if measure == "count" else {"property": "revenue"})}
              for measure, _ in vocabulary["measures"] for op in vocabulary["ops"]["event"]]
    return nodes


@pytest.mark.parametrize("node", _offered(), ids=lambda node: "-".join(str(v) for v in list(node.values())[:2]))
def test_every_option_the_builder_offers_is_a_valid_definition(node: dict) -> None:
    parse(node)
