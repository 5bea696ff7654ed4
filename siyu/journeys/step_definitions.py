"""Reading a journey's steps, and the shape of the flow they make.

Steps form a list; a step goes on to the one after it unless it names ``next`` (or, for branches,
``then`` / ``else``, ``on_event`` / ``on_timeout``, each split branch's ``next``); ``end`` finishes.
The graph must be acyclic and every step reachable from the first, so each person visits each
step at most once and an entry always ends.
"""

from __future__ import annotations

import re
from typing import Any

from siyu.identity.models import RESERVED_TRAIT_IDENTIFIERS
from siyu.journeys.definition_values import (
    an_object,
    duration,
    event_match,
    local_time,
    only,
    rerooted,
    text,
    type_name,
)
from siyu.journeys.errors import InvalidJourney
from siyu.journeys.models import (
    END,
    Branch,
    Condition,
    Exit,
    Reward,
    Send,
    SetTrait,
    Split,
    Step,
    Tag,
    Task,
    Wait,
    WaitFor,
    Webhook,
)
from siyu.messaging.models import Channel, Purpose
from siyu.segments.errors import InvalidDefinition
from siyu.segments.parse import parse as parse_segment

MAX_STEPS = 100
MAX_SPLIT = 5
STEP_KINDS = ("wait", "wait_for", "condition", "split", "send", "tag", "set_trait", "give_coupon", "give_points",
              "webhook", "task", "exit")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def read_steps(raw: Any) -> tuple[Step, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidJourney("steps", f"expected a non-empty list of steps; got {type_name(raw)}")
    if len(raw) > MAX_STEPS:
        raise InvalidJourney("steps", f"a journey may have at most {MAX_STEPS} steps; it has {len(raw)}")
    ids: list[str] = []
    for i, item in enumerate(raw):
        path = f"steps[{i}]"
        item = an_object(item, path, "a step")
        ident = item.get("id")
        if not isinstance(ident, str) or not _ID.match(ident) or ident == END:
            raise InvalidJourney(f"{path}.id", "every step needs an id of 1-64 letters, digits, '-' or '_' "
                                 f"(not \"{END}\"); got {ident!r}")
        if ident in ids:
            raise InvalidJourney(f"{path}.id", f"the id {ident!r} is already used by steps[{ids.index(ident)}]",
                                 step=ident)
        ids.append(ident)
    steps = tuple(_step(item, f"steps[{i}]", ids[i + 1] if i + 1 < len(ids) else END)
                  for i, item in enumerate(raw))
    _check_graph(steps, set(ids))
    return steps


def _step(raw: dict[str, Any], path: str, following: str) -> Step:
    ident = raw["id"]
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1:
        raise InvalidJourney(path, f"a step has exactly one of {', '.join(STEP_KINDS)}; found "
                             f"{', '.join(kinds) or 'none'}", step=ident)
    kind = kinds[0]
    common = {"id", "label", kind}
    branching = {"wait_for": {"on_event", "on_timeout"}, "condition": {"then", "else"}, "split": set(),
                 "exit": set()}
    allowed = common | branching.get(kind, {"next"})
    only(raw, allowed, path, ident)
    if "label" in raw:
        text(raw["label"], f"{path}.label", "a label", ident)
    target = _target(raw.get("next", following), f"{path}.next", ident)
    body = raw[kind]
    where = f"{path}.{kind}"
    if kind == "wait":
        return _wait(body, where, ident, target)
    if kind == "wait_for":
        body = an_object(body, where, "{\"event\": name, \"where\": [...], \"timeout\": \"24h\"}", ident)
        if "timeout" not in body:
            raise InvalidJourney(f"{where}.timeout", "say how long to wait, such as \"24h\"", step=ident)
        return WaitFor(ident, event_match(body, where, ident, frozenset({"timeout"})),
                       duration(body["timeout"], f"{where}.timeout", ident),
                       _target(raw.get("on_event", following), f"{path}.on_event", ident),
                       _target(raw.get("on_timeout", following), f"{path}.on_timeout", ident))
    if kind == "condition":
        body = an_object(body, where, "a segment-language condition", ident)
        try:
            tree = parse_segment(body)
        except InvalidDefinition as error:
            raise rerooted(error, where, ident) from None
        return Condition(ident, tree, body, _target(raw.get("then", following), f"{path}.then", ident),
                         _target(raw.get("else", following), f"{path}.else", ident))
    if kind == "split":
        return _split(body, where, ident, following)
    if kind == "send":
        return _send(body, where, ident, target)
    if kind == "tag":
        body = an_object(body, where, "{\"add\": [names], \"remove\": [names]}", ident)
        only(body, {"add", "remove"}, where, ident)
        add, remove = (_names(body.get(k, []), f"{where}.{k}", ident) for k in ("add", "remove"))
        if not add and not remove:
            raise InvalidJourney(where, "give tags to \"add\" or \"remove\"", step=ident)
        return Tag(ident, target, add, remove)
    if kind == "set_trait":
        body = an_object(body, where, "{\"trait\": value, ...}", ident)
        if not body or len(body) > 50:
            raise InvalidJourney(where, "set 1-50 traits", step=ident)
        reserved = sorted(set(body) & set(RESERVED_TRAIT_IDENTIFIERS))
        if reserved:
            raise InvalidJourney(f"{where}.{reserved[0]}", "an identifier, not a trait: it changes only through "
                                 "identify calls (identity resolution)", step=ident)
        for key, value in body.items():
            text(key, f"{where}.{key}", "a trait name", ident)
            if not (value is None or isinstance(value, str | int | float | bool)):
                raise InvalidJourney(f"{where}.{key}", f"expected text, a number, true/false or null; got "
                                     f"{type_name(value)}", step=ident)
        return SetTrait(ident, target, dict(body))
    if kind in ("give_coupon", "give_points"):
        return _reward(body, where, ident, target, "coupon" if kind == "give_coupon" else "points")
    if kind == "webhook":
        return Webhook(ident, target, an_object(body, where, "the JSON body to send", ident))
    if kind == "task":
        body = an_object(body, where, "{\"title\": ..., \"note\": ..., \"due\": \"2d\"}", ident)
        only(body, {"title", "note", "due"}, where, ident)
        note = text(body["note"], f"{where}.note", "a note", ident, 2000) if "note" in body else None
        return Task(ident, target, text(body.get("title"), f"{where}.title", "a title", ident), note,
                    duration(body["due"], f"{where}.due", ident) if "due" in body else None)
    assert kind == "exit"
    if body is True:
        return Exit(ident)
    return Exit(ident, text(body, where, "true or a reason code", ident, 64))


def _target(raw: Any, path: str, step: str) -> str:
    if not isinstance(raw, str) or not (raw == END or _ID.match(raw)):
        raise InvalidJourney(path, f"expected a step id or \"{END}\"; got {raw!r}", step=step)
    return raw


def _names(raw: Any, path: str, step: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or len(raw) > 20:
        raise InvalidJourney(path, "expected a list of at most 20 tag names", step=step)
    return tuple(text(name, f"{path}[{i}]", "a tag name", step) for i, name in enumerate(raw))


def _wait(body: Any, where: str, ident: str, target: str) -> Wait:
    if isinstance(body, str):
        return Wait(ident, target, duration(body, where, ident))
    body = an_object(body, where, "a duration such as \"1d\", or {\"duration\", \"at\", \"weekdays\"}", ident)
    only(body, {"duration", "at", "weekdays"}, where, ident)
    if not body:
        raise InvalidJourney(where, "say how long (\"duration\"), until when (\"at\") or which days (\"weekdays\")",
                             step=ident)
    days = None
    if "weekdays" in body:
        raw = body["weekdays"]
        if not isinstance(raw, list) or not raw or any(d not in WEEKDAYS for d in raw):
            raise InvalidJourney(f"{where}.weekdays", f"expected a non-empty list of {', '.join(WEEKDAYS)}; "
                                 f"got {raw!r}", step=ident)
        days = frozenset(WEEKDAYS.index(d) for d in raw)
    return Wait(ident, target, duration(body["duration"], f"{where}.duration", ident) if "duration" in body else None,
                local_time(body["at"], f"{where}.at", ident) if "at" in body else None, days)


def _split(body: Any, where: str, ident: str, following: str) -> Split:
    if not isinstance(body, list) or not 2 <= len(body) <= MAX_SPLIT:
        raise InvalidJourney(where, f"expected 2-{MAX_SPLIT} branches [{{\"weight\": 50, \"next\": step}}, ...]",
                             step=ident)
    branches = []
    for i, item in enumerate(body):
        item = an_object(item, f"{where}[{i}]", "{\"weight\": n, \"next\": step}", ident)
        only(item, {"weight", "next"}, f"{where}[{i}]", ident)
        weight = item.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 < weight <= 10_000:
            raise InvalidJourney(f"{where}[{i}].weight", f"expected a whole number from 1 to 10,000; got {weight!r}",
                                 step=ident)
        branches.append(Branch(weight, _target(item.get("next", following), f"{where}[{i}].next", ident)))
    return Split(ident, tuple(branches))


def _send(body: Any, where: str, ident: str, target: str) -> Send:
    from siyu.errors import SiyuError
    from siyu.messaging import outbox
    from siyu.messaging.template_models import InvalidTemplate

    body = an_object(body, where, "{\"channel\", \"purpose\", \"content\" or \"template\"}", ident)
    only(body, {"channel", "purpose", "content", "template"}, where, ident)
    try:
        channel = Channel(body.get("channel"))
    except ValueError:
        raise InvalidJourney(f"{where}.channel", f"unknown channel {body.get('channel')!r}; one of "
                             f"{', '.join(c.value for c in outbox.AVAILABLE)}", step=ident) from None
    try:
        purpose = Purpose(body.get("purpose", "marketing"))
    except ValueError:
        raise InvalidJourney(f"{where}.purpose", "expected \"marketing\" or \"transactional\"", step=ident) from None
    if ("content" in body) == ("template" in body):
        raise InvalidJourney(f"{where}.content", "give either \"content\" (sent as it is) or \"template\" (rendered "
                             "for the person when sent)", step=ident)
    try:
        if "template" in body:
            outbox.as_template(channel, purpose, body["template"])
        else:
            outbox.validate_content(channel, body["content"])
    except InvalidTemplate as error:
        raise InvalidJourney(f"{where}.template.{error.details['field']}", str(error.details["reason"]),
                             step=ident) from None
    except SiyuError as error:
        field = "channel" if "channel" in error.details else str(error.details.get("field") or "content")
        raise InvalidJourney(f"{where}.{field}", error.message, step=ident) from None
    return Send(ident, target, channel, purpose, body.get("content"), body.get("template"))


def _reward(body: Any, where: str, ident: str, target: str, kind: str) -> Reward:
    body = an_object(body, where, "the reward's parameters, e.g. {\"offer\": \"WELCOME10\"} or {\"amount\": 100}",
                   ident)
    if kind == "points":
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= 1_000_000:
            raise InvalidJourney(f"{where}.amount", f"expected whole points from 1 to 1,000,000; got {amount!r}",
                                 step=ident)
    elif "offer" not in body:
        raise InvalidJourney(f"{where}.offer", "say which coupon offer to give", step=ident)
    return Reward(ident, target, kind, dict(body))


def kind_of(step: Step) -> str:
    """The key a step is written with (``wait_for``, ``give_points``, ...)."""
    match step:
        case Reward():
            return f"give_{step.kind}"
        case WaitFor():
            return "wait_for"
        case SetTrait():
            return "set_trait"
        case Wait() | Condition() | Split() | Send() | Tag() | Webhook() | Task() | Exit():
            return type(step).__name__.lower()
    raise AssertionError(step)


def targets(step: Step) -> tuple[str, ...]:
    """Where a step may lead (``end`` included)."""
    match step:
        case WaitFor():
            return (step.on_event, step.on_timeout)
        case Condition():
            return (step.then, step.otherwise)
        case Split():
            return tuple(b.next for b in step.branches)
        case Exit():
            return ()
        case Wait() | Send() | Tag() | SetTrait() | Reward() | Webhook() | Task():
            return (step.next,)
    raise AssertionError(step)


def _check_graph(steps: tuple[Step, ...], ids: set[str]) -> None:
    index = {s.id: i for i, s in enumerate(steps)}
    for step in steps:
        for target in targets(step):
            if target != END and target not in ids:
                raise InvalidJourney(f"steps[{index[step.id]}]", f"leads to {target!r}, which is no step's id",
                                     step=step.id)
    by_id = {s.id: s for s in steps}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(step_id: str) -> None:
        stack = [(step_id, iter(targets(by_id[step_id])))]
        state[step_id] = 1
        while stack:
            current, pending = stack[-1]
            nxt = next((t for t in pending if t != END), None)
            if nxt is None:
                state[current] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise InvalidJourney(f"steps[{index[current]}]", f"leads back to {nxt!r}: a journey may not loop "
                                     "(each person goes through each step at most once)", step=current)
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(targets(by_id[nxt]))))

    visit(steps[0].id)
    for step in steps:
        if step.id not in state:
            raise InvalidJourney(f"steps[{index[step.id]}]", "no step leads here, so nobody would ever reach it",
                                 step=step.id)
