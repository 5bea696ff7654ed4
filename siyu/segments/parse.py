"""Read a segment definition from JSON into the typed tree, and write it back.

Every refusal names the node (a JSON path such as ``$.all[2].where[0].op``) and says why and
what would be accepted, because operators build definitions by hand in YAML and in the console
and a bare "invalid definition" sends them hunting. ``dump(parse(x))`` is the canonical form that
is stored; ``parse(dump(tree)) == tree`` (a property test checks it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from siyu.identity.models import IdentifierKind
from siyu.segments.errors import InvalidDefinition
from siyu.segments.models import (
    DATE_OPS,
    NUMBER_OPS,
    PRESENCE_OPS,
    ROLLUP_KINDS,
    SCORE_KINDS,
    TEXT_OPS,
    TIER_OPS,
    Ago,
    All,
    Any_,
    Comparison,
    ConsentCondition,
    Duration,
    EventCondition,
    IdentifierCondition,
    LoyaltyCondition,
    LoyaltyField,
    Measure,
    Node,
    Not,
    Op,
    PropertyFilter,
    Rollup,
    RollupCondition,
    Score,
    ScoreCondition,
    SegmentCondition,
    TagCondition,
    TagOp,
    TraitCondition,
    ValueKind,
    Window,
)

MAX_DEPTH = 12
MAX_NODES = 200
MAX_LIST = 1000
KINDS = ("all", "any", "not", "trait", "tag", "identifier", "consent", "event", "rollup", "score", "segment",
         "loyalty")
CHANNELS = ("wechat", "wecom", "sms", "email", "webhook", "any")
PURPOSES = ("marketing", "transactional")
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")
_KEY = re.compile(r"^[^\x00-\x1f\"\\]{1,200}$")


def parse(definition: Any) -> Node:
    counter = [0]
    return _node(definition, "$", 0, counter)


def _fail(path: str, reason: str) -> InvalidDefinition:
    return InvalidDefinition(f"{path}: {reason}", details={"path": path, "reason": reason})


def _node(raw: Any, path: str, depth: int, counter: list[int]) -> Node:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise _fail(path, f"a definition may have at most {MAX_NODES} nodes; split it into saved segments")
    if depth > MAX_DEPTH:
        raise _fail(path, f"nesting deeper than {MAX_DEPTH} levels; flatten it or use saved segments")
    if not isinstance(raw, dict):
        raise _fail(path, f"expected an object with one of {', '.join(KINDS)}; got {_type(raw)}")
    kinds = [key for key in KINDS if key in raw]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else ", ".join(map(str, raw)) or "nothing"
        raise _fail(path, f"a node has exactly one of {', '.join(KINDS)}; found {found}")
    kind = kinds[0]
    if kind in ("all", "any"):
        _only(raw, {kind}, path)
        items = raw[kind]
        if not isinstance(items, list) or not items:
            raise _fail(f"{path}.{kind}", "expected a non-empty list of conditions")
        nodes = tuple(_node(item, f"{path}.{kind}[{i}]", depth + 1, counter) for i, item in enumerate(items))
        return All(nodes) if kind == "all" else Any_(nodes)
    if kind == "not":
        _only(raw, {"not"}, path)
        return Not(_node(raw["not"], f"{path}.not", depth + 1, counter))
    return LEAVES[kind](raw, path)


def _only(raw: dict[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise _fail(f"{path}.{extra[0]}", f"unknown field; this node takes {', '.join(sorted(allowed))}")


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _text(raw: Any, path: str, what: str = "text") -> str:
    if not isinstance(raw, str) or not _KEY.match(raw):
        raise _fail(path, f"expected {what} (1–200 characters, no control characters); got {_type(raw)}")
    return raw


# --- values and comparisons ----------------------------------------------------------------------

def duration(raw: Any, path: str) -> Duration:
    match = _DURATION.match(raw) if isinstance(raw, str) else None
    if not match or int(match.group(1)) == 0:
        raise _fail(path, f"expected a duration such as \"30d\", \"12h\", \"4w\" or \"90m\"; got {raw!r}")
    return Duration(int(match.group(1)), match.group(2))


def instant(raw: Any, path: str) -> datetime | Ago:
    if isinstance(raw, dict) and set(raw) == {"ago"}:
        return Ago(duration(raw["ago"], f"{path}.ago"))
    if isinstance(raw, str):
        try:
            if len(raw) == 10:
                return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    raise _fail(path, "expected a date (\"2026-06-18\"), a date-time with offset, or {\"ago\": \"30d\"}; "
                f"got {raw!r}")


def _number(raw: Any, path: str) -> float | int:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != raw or abs(raw) > 1e15:
        raise _fail(path, f"expected a number; got {_type(raw)}")
    return raw


def _scalar(raw: Any, path: str, kind: ValueKind) -> Any:
    if kind is ValueKind.NUMBER:
        return _number(raw, path)
    if kind is ValueKind.TEXT:
        if not isinstance(raw, str) or len(raw) > 1000:
            raise _fail(path, f"expected text (at most 1000 characters); got {_type(raw)}")
        return raw
    if isinstance(raw, bool) or raw is None or isinstance(raw, dict | list):
        raise _fail(path, f"expected text or a number; got {_type(raw)}")
    if isinstance(raw, str) and len(raw) > 1000:
        raise _fail(path, "text longer than 1000 characters")
    return _number(raw, path) if isinstance(raw, int | float) else raw


def comparison(raw: dict[str, Any], path: str, kind: ValueKind) -> Comparison:
    """``op`` and ``value`` of a leaf, checked against what the field holds."""
    if "op" not in raw:
        raise _fail(path, "missing \"op\"")
    try:
        op = Op(raw["op"])
    except ValueError:
        raise _fail(f"{path}.op", f"unknown operator {raw['op']!r}; one of {', '.join(Op)}") from None
    allowed = {ValueKind.NUMBER: NUMBER_OPS | PRESENCE_OPS, ValueKind.TEXT: TEXT_OPS | PRESENCE_OPS,
               ValueKind.DATE: DATE_OPS | PRESENCE_OPS, ValueKind.ANY: set(Op)}[kind]
    if op not in allowed:
        raise _fail(f"{path}.op", f"{op.value!r} does not apply to a {kind.value} field; use one of "
                    f"{', '.join(o.value for o in Op if o in allowed)}")
    value = raw.get("value")
    vpath = f"{path}.value"
    if op in PRESENCE_OPS:
        if "value" in raw:
            raise _fail(vpath, f"{op.value!r} takes no value")
        return Comparison(op)
    if "value" not in raw:
        raise _fail(path, f"{op.value!r} needs a \"value\"")
    if op in (Op.WITHIN_LAST, Op.NOT_WITHIN_LAST):
        return Comparison(op, duration(value, vpath))
    if op in (Op.BEFORE, Op.AFTER):
        return Comparison(op, instant(value, vpath))
    if op is Op.BETWEEN:
        if not isinstance(value, list) or len(value) != 2:
            raise _fail(vpath, "\"between\" takes a list of two bounds, low first (both included)")
        if kind is ValueKind.DATE or (kind is ValueKind.ANY and isinstance(value[0], str | dict)):
            return Comparison(op, (instant(value[0], f"{vpath}[0]"), instant(value[1], f"{vpath}[1]")))
        return Comparison(op, (_number(value[0], f"{vpath}[0]"), _number(value[1], f"{vpath}[1]")))
    if op in (Op.IN, Op.NOT_IN):
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            raise _fail(vpath, f"{op.value!r} takes a non-empty list of at most {MAX_LIST} values")
        return Comparison(op, tuple(_scalar(item, f"{vpath}[{i}]", kind) for i, item in enumerate(value)))
    if op in (Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH):
        return Comparison(op, _scalar(value, vpath, ValueKind.TEXT))
    if op in (Op.GT, Op.GTE, Op.LT, Op.LTE):
        return Comparison(op, _number(value, vpath))
    if kind is ValueKind.ANY and isinstance(value, bool):
        return Comparison(op, value)  # true / false traits ("is_member": true)
    return Comparison(op, _scalar(value, vpath, kind))


# --- leaves -----------------------------------------------------------------------------------

def _trait(raw: dict[str, Any], path: str) -> TraitCondition:
    _only(raw, {"trait", "op", "value"}, path)
    return TraitCondition(_text(raw["trait"], f"{path}.trait", "a trait name"), comparison(raw, path, ValueKind.ANY))


def _tag(raw: dict[str, Any], path: str) -> TagCondition:
    _only(raw, {"tag", "op"}, path)
    try:
        op = TagOp(raw.get("op", "has"))
    except ValueError:
        raise _fail(f"{path}.op", f"unknown tag operator {raw['op']!r}; one of {', '.join(TagOp)}") from None
    names = raw["tag"]
    if op in (TagOp.HAS, TagOp.HAS_NOT):
        return TagCondition(op, (_text(names, f"{path}.tag", "a tag name"),))
    if not isinstance(names, list) or not names or len(names) > MAX_LIST:
        raise _fail(f"{path}.tag", f"{op.value!r} takes a non-empty list of tag names")
    return TagCondition(op, tuple(_text(n, f"{path}.tag[{i}]", "a tag name") for i, n in enumerate(names)))


def _identifier(raw: dict[str, Any], path: str) -> IdentifierCondition:
    _only(raw, {"identifier", "op"}, path)
    op = raw.get("op", "exists")
    if op not in ("exists", "not_exists"):
        raise _fail(f"{path}.op", "an identifier condition takes op \"exists\" or \"not_exists\"")
    type_ = _text(raw["identifier"], f"{path}.identifier", "an identifier type such as phone or wechat_openid")
    kind = type_.partition(":")[0]
    if kind not in {k.value for k in IdentifierKind}:
        raise _fail(f"{path}.identifier", f"unknown identifier type {kind!r}; one of "
                    f"{', '.join(k.value for k in IdentifierKind)}")
    return IdentifierCondition(type_, op == "exists")


def _consent(raw: dict[str, Any], path: str) -> ConsentCondition:
    _only(raw, {"consent", "purpose", "op"}, path)
    channel, purpose, op = raw["consent"], raw.get("purpose", "marketing"), raw.get("op", "granted")
    if channel not in CHANNELS:
        raise _fail(f"{path}.consent", f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
    if purpose not in PURPOSES:
        raise _fail(f"{path}.purpose", f"unknown purpose {purpose!r}; one of {', '.join(PURPOSES)}")
    if op not in ("granted", "not_granted"):
        raise _fail(f"{path}.op", "a consent condition takes op \"granted\" or \"not_granted\"")
    return ConsentCondition(channel, purpose, op == "granted")


def _window(raw: dict[str, Any], path: str) -> Window:
    if "within" in raw and "between" in raw:
        raise _fail(path, "give \"within\" or \"between\", not both")
    if "within" in raw:
        return Window(within=duration(raw["within"], f"{path}.within"))
    if "between" in raw:
        bounds = raw["between"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise _fail(f"{path}.between", "expected a list of two instants, start first")
        return Window(start=instant(bounds[0], f"{path}.between[0]"), end=instant(bounds[1], f"{path}.between[1]"))
    return Window()


def _event(raw: dict[str, Any], path: str) -> EventCondition:
    _only(raw, {"event", "measure", "property", "op", "value", "did", "within", "between", "where"}, path)
    name = _text(raw["event"], f"{path}.event", "an event name")
    window = _window(raw, path)
    where = raw.get("where", [])
    if not isinstance(where, list) or len(where) > 20:
        raise _fail(f"{path}.where", "expected a list of at most 20 property filters")
    filters = []
    for i, item in enumerate(where):
        fpath = f"{path}.where[{i}]"
        if not isinstance(item, dict):
            raise _fail(fpath, f"expected {{\"property\", \"op\", \"value\"}}; got {_type(item)}")
        _only(item, {"property", "op", "value"}, fpath)
        filters.append(PropertyFilter(_text(item.get("property"), f"{fpath}.property", "a property name"),
                                      comparison(item, fpath, ValueKind.ANY)))
    if "did" in raw:
        if set(raw) & {"measure", "op", "value", "property"}:
            raise _fail(f"{path}.did", "\"did\" is shorthand for a count; do not combine it with measure/op/value")
        if not isinstance(raw["did"], bool):
            raise _fail(f"{path}.did", "expected true or false")
        comp = Comparison(Op.GTE, 1) if raw["did"] else Comparison(Op.EQ, 0)
        return EventCondition(name, Measure.COUNT, comp, None, window, tuple(filters))
    try:
        measure = Measure(raw.get("measure", "count"))
    except ValueError:
        raise _fail(f"{path}.measure", f"unknown measure {raw['measure']!r}; one of {', '.join(Measure)}") from None
    prop = None
    if measure in (Measure.SUM, Measure.AVG):
        prop = _text(raw.get("property"), f"{path}.property", f"the property to {measure.value} (e.g. revenue)")
    elif "property" in raw:
        raise _fail(f"{path}.property", f"\"property\" applies to sum and avg, not {measure.value}")
    if "op" not in raw:
        if measure is not Measure.COUNT:
            raise _fail(path, f"measure {measure.value!r} needs \"op\" and \"value\"")
        comp = Comparison(Op.GTE, 1)
    else:
        kind = ValueKind.DATE if measure in (Measure.FIRST, Measure.LAST) else ValueKind.NUMBER
        comp = comparison(raw, path, kind)
        if measure in (Measure.COUNT, Measure.SUM) and comp.op in PRESENCE_OPS:
            raise _fail(f"{path}.op", f"a {measure.value} always has a value (0 when nothing happened); "
                        "compare it with a number instead")
    return EventCondition(name, measure, comp, prop, window, tuple(filters))


def _rollup(raw: dict[str, Any], path: str) -> RollupCondition:
    _only(raw, {"rollup", "op", "value"}, path)
    try:
        rollup = Rollup(raw["rollup"])
    except ValueError:
        raise _fail(f"{path}.rollup", f"unknown rollup {raw['rollup']!r}; one of {', '.join(Rollup)}") from None
    return RollupCondition(rollup, comparison(raw, path, ROLLUP_KINDS[rollup]))


def _score(raw: dict[str, Any], path: str) -> ScoreCondition:
    _only(raw, {"score", "op", "value"}, path)
    try:
        score = Score(raw["score"])
    except ValueError:
        raise _fail(f"{path}.score", f"unknown score {raw['score']!r}; one of {', '.join(Score)}") from None
    return ScoreCondition(score, comparison(raw, path, SCORE_KINDS[score]))


def _segment(raw: dict[str, Any], path: str) -> SegmentCondition:
    _only(raw, {"segment", "op"}, path)
    op = raw.get("op", "member")
    if op not in ("member", "not_member"):
        raise _fail(f"{path}.op", "a segment condition takes op \"member\" or \"not_member\"")
    ident = raw["segment"]
    if isinstance(ident, bool) or not isinstance(ident, int) or not 0 < ident < 2**31:
        raise _fail(f"{path}.segment", f"expected a saved segment's id; got {ident!r}")
    return SegmentCondition(ident, op == "member")


def _tier(raw: Any, path: str) -> str | int:
    """A tier by name (looked up in the ladder when evaluated) or by rank (0 = the entry tier)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 0 <= raw < 1000:
            raise _fail(path, f"a tier rank is 0 (the entry tier) or more; got {raw}")
        return raw
    if isinstance(raw, str) and 0 < len(raw) <= 64 and _KEY.match(raw):
        return raw
    raise _fail(path, f"expected a tier's name (\"金卡\") or rank (0 = the entry tier); got {_type(raw)}")


def _loyalty(raw: dict[str, Any], path: str) -> LoyaltyCondition:
    _only(raw, {"loyalty", "op", "value"}, path)
    try:
        field = LoyaltyField(raw["loyalty"])
    except ValueError:
        raise _fail(f"{path}.loyalty", f"unknown loyalty field {raw['loyalty']!r}; one of "
                    f"{', '.join(LoyaltyField)}") from None
    if field is not LoyaltyField.TIER:
        return LoyaltyCondition(field, comparison(raw, path, ValueKind.NUMBER))
    if "op" not in raw:
        raise _fail(path, "missing \"op\"")
    try:
        op = Op(raw["op"])
    except ValueError:
        raise _fail(f"{path}.op", f"unknown operator {raw['op']!r}; one of {', '.join(Op)}") from None
    if op in PRESENCE_OPS:
        return LoyaltyCondition(field, comparison(raw, path, ValueKind.NUMBER))
    if op not in TIER_OPS:
        raise _fail(f"{path}.op", f"{op.value!r} does not apply to a tier; use one of "
                    f"{', '.join(o.value for o in Op if o in TIER_OPS | PRESENCE_OPS)}")
    if "value" not in raw:
        raise _fail(path, f"{op.value!r} needs a \"value\": a tier's name or rank")
    value, vpath = raw["value"], f"{path}.value"
    if op in (Op.IN, Op.NOT_IN, Op.BETWEEN):
        size = 2 if op is Op.BETWEEN else None
        if not isinstance(value, list) or not value or len(value) > 20 or (size and len(value) != size):
            expected = "a list of two tiers, lower first" if size else "a non-empty list of at most 20 tiers"
            raise _fail(vpath, f"{op.value!r} takes {expected}")
        return LoyaltyCondition(field, Comparison(op, tuple(_tier(v, f"{vpath}[{i}]") for i, v in enumerate(value))))
    return LoyaltyCondition(field, Comparison(op, _tier(value, vpath)))


LEAVES: dict[str, Callable[[dict[str, Any], str], Node]] = {
    "trait": _trait, "tag": _tag, "identifier": _identifier, "consent": _consent, "event": _event,
    "rollup": _rollup, "score": _score, "segment": _segment, "loyalty": _loyalty}
