"""Reading journey definitions: every kind of trigger and step, and refusals that name the path,
the step, the field and the reason."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

from siyu.journeys.definitions import parse
from siyu.journeys.errors import InvalidJourney
from siyu.journeys.models import (
    END,
    ApiTrigger,
    Condition,
    DateTrigger,
    EntryRule,
    EventTrigger,
    Exit,
    Reward,
    ScheduleTrigger,
    SegmentTrigger,
    Send,
    SetTrait,
    Split,
    Tag,
    Task,
    Wait,
    WaitFor,
    Webhook,
)
from siyu.messaging.models import Channel, Purpose

MAIL = {"channel": "email", "content": {"subject": "你好", "text": "欢迎"}}
EVERYTHING = {
    "trigger": {"event": "Order Completed", "where": [{"property": "total", "op": "gte", "value": 100}]},
    "entry": {"rule": "once_per", "period": "30d"},
    "goal": {"event": "Order Completed", "within": "7d"},
    "holdout_percent": 10,
    "policy": {"caps": [{"limit": 2, "days": 1}], "cooldown_minutes": 30},
    "steps": [
        {"id": "wait", "wait": {"duration": "1d", "at": "10:00", "weekdays": ["mon", "fri"]}, "label": "次日上午"},
        {"id": "bought", "wait_for": {"event": "Order Completed", "timeout": "24h"}, "on_event": "end",
         "on_timeout": "vip"},
        {"id": "vip", "condition": {"tag": "VIP"}, "then": "ab", "else": "mail"},
        {"id": "ab", "split": [{"weight": 80, "next": "mail"}, {"weight": 20, "next": "tag"}]},
        {"id": "mail", "send": {**MAIL, "purpose": "transactional"}},
        {"id": "tag", "tag": {"add": ["复购"], "remove": "潜客"}},
        {"id": "trait", "set_trait": {"level": "gold"}},
        {"id": "coupon", "give_coupon": {"offer": "WELCOME10"}},
        {"id": "points", "give_points": {"amount": 100}},
        {"id": "hook", "webhook": {"kind": "vip"}},
        {"id": "task", "task": {"title": "电话回访", "due": "2d"}},
        {"id": "bye", "exit": "done"},
    ],
}


def test_every_trigger_and_step_kind_reads_into_its_dataclass() -> None:
    definition = parse(EVERYTHING)
    assert isinstance(definition.trigger, EventTrigger) and definition.trigger.match.name == "Order Completed"
    assert (definition.entry.rule, definition.entry.period) == (EntryRule.ONCE_PER, timedelta(days=30))
    assert definition.goal is not None and definition.goal.within == timedelta(days=7)
    assert (definition.holdout_percent, definition.policy) == (10.0, EVERYTHING["policy"])
    wait, wait_for, condition, split, send, tag, trait, coupon, points, hook, task, bye = definition.steps
    assert wait == Wait("wait", "bought", timedelta(days=1), time(10, 0), frozenset({0, 4}))
    assert isinstance(wait_for, WaitFor) and (wait_for.on_event, wait_for.on_timeout) == (END, "vip")
    assert isinstance(condition, Condition) and (condition.then, condition.otherwise) == ("ab", "mail")
    assert isinstance(split, Split) and [b.weight for b in split.branches] == [80, 20]
    assert isinstance(send, Send) and (send.channel, send.purpose, send.next) == (Channel.EMAIL,
                                                                                  Purpose.TRANSACTIONAL, "tag")
    assert tag == Tag("tag", "trait", ("复购",), ("潜客",))
    assert trait == SetTrait("trait", "coupon", {"level": "gold"})
    assert (coupon, points) == (Reward("coupon", "points", "coupon", {"offer": "WELCOME10"}),
                                Reward("points", "hook", "points", {"amount": 100}))
    assert hook == Webhook("hook", "task", {"kind": "vip"})
    assert task == Task("task", "bye", "电话回访", None, timedelta(days=2))
    assert bye == Exit("bye", "done")


@pytest.mark.parametrize(("trigger", "expected"), [
    ({"segment": 3}, SegmentTrigger(3, "entered")),
    ({"segment": 3, "on": "exited"}, SegmentTrigger(3, "exited")),
    ({"date_trait": "birthday", "offset": "-3d", "at": "10:00"}, DateTrigger("birthday", -3, time(10, 0), True)),
    ({"date_trait": "trial_ends_at", "offset": "+1w", "yearly": False},
     DateTrigger("trial_ends_at", 7, time(10), False)),
    ({"schedule": "0 10 * * 1", "segment": 5}, ScheduleTrigger("0 10 * * 1", 5)),
    ({"api": True}, ApiTrigger()),
])
def test_triggers(trigger: dict[str, Any], expected: Any) -> None:
    assert parse({"trigger": trigger, "steps": [{"id": "a", "send": MAIL}]}).trigger == expected


def _steps(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": {"event": "x"}, "steps": list(steps)}


@pytest.mark.parametrize(("definition", "path", "step", "words"), [
    ([], "$", None, "an object"),
    ({"steps": [{"id": "a", "send": MAIL}]}, "trigger", None, "missing"),
    ({"trigger": {"event": "x"}, "steps": []}, "steps", None, "non-empty"),
    ({"trigger": {"event": "x"}, "steps": [{"id": "a", "send": MAIL}], "colour": 1}, "colour", None, "unknown"),
    ({"trigger": {"event": "x", "segment": 1}, "steps": [{"id": "a", "send": MAIL}]}, "trigger", None, "exactly one"),
    ({"trigger": {"event": "x", "where": [{"property": "p", "op": "bigger", "value": 1}]}, "steps": [
        {"id": "a", "send": MAIL}]}, "trigger.where[0].op", None, "unknown operator"),
    ({"trigger": {"schedule": "every monday", "segment": 1}, "steps": [{"id": "a", "send": MAIL}]},
     "trigger.schedule", None, "cron"),
    ({"trigger": {"schedule": "0 10 * * 1"}, "steps": [{"id": "a", "send": MAIL}]}, "trigger.segment", None,
     "segment"),
    ({"trigger": {"date_trait": "birthday", "offset": "three days"}, "steps": [{"id": "a", "send": MAIL}]},
     "trigger.offset", None, "-3d"),
    ({"trigger": {"date_trait": "birthday", "at": "25:00"}, "steps": [{"id": "a", "send": MAIL}]},
     "trigger.at", None, "10:00"),
    ({"trigger": {"event": "x"}, "entry": {"rule": "once_per"}, "steps": [{"id": "a", "send": MAIL}]},
     "entry.period", None, "period"),
    ({"trigger": {"event": "x"}, "entry": {"rule": "sometimes"}, "steps": [{"id": "a", "send": MAIL}]},
     "entry.rule", None, "once_per"),
    ({"trigger": {"event": "x"}, "holdout_percent": 80, "steps": [{"id": "a", "send": MAIL}]},
     "holdout_percent", None, "0 to 50"),
    ({"trigger": {"event": "x"}, "goal": {"event": "y", "within": "soon"}, "steps": [{"id": "a", "send": MAIL}]},
     "goal.within", None, "duration"),
    ({"trigger": {"event": "x"}, "policy": {"caps": [{"limit": 1, "days": 99}]}, "steps": [
        {"id": "a", "send": MAIL}]}, "policy", None, "caps"),
    (_steps({"id": "a b", "send": MAIL}), "steps[0].id", None, "letters"),
    (_steps({"id": "end", "send": MAIL}), "steps[0].id", None, "end"),
    (_steps({"id": "a", "send": MAIL}, {"id": "a", "send": MAIL}), "steps[1].id", "a", "already used"),
    (_steps({"id": "a", "send": MAIL, "wait": "1d"}), "steps[0]", "a", "exactly one"),
    (_steps({"id": "a"}), "steps[0]", "a", "exactly one"),
    (_steps({"id": "a", "wait": "forever"}), "steps[0].wait", "a", "duration"),
    (_steps({"id": "a", "wait": {"weekdays": ["someday"]}}), "steps[0].wait.weekdays", "a", "mon"),
    (_steps({"id": "a", "wait_for": {"event": "x"}}), "steps[0].wait_for.timeout", "a", "how long"),
    (_steps({"id": "a", "condition": {"tag": "VIP", "op": "maybe"}}), "steps[0].condition.op", "a", "unknown"),
    (_steps({"id": "a", "split": [{"weight": 1, "next": "end"}]}), "steps[0].split", "a", "2-5 branches"),
    (_steps({"id": "a", "split": [{"weight": 0}, {"weight": 1}]}), "steps[0].split[0].weight", "a", "1 to 10,000"),
    (_steps({"id": "a", "send": {"channel": "pigeon", "content": {}}}), "steps[0].send.channel", "a", "unknown"),
    (_steps({"id": "a", "send": {"channel": "email", "content": {"text": "x"}}}), "steps[0].send.content.subject",
     "a", "subject"),
    (_steps({"id": "a", "send": {"channel": "email", "template": {"subject": "{{ oops", "text": "x"}}}),
     "steps[0].send.template.subject", "a", ""),
    (_steps({"id": "a", "send": {"channel": "email"}}), "steps[0].send.content", "a", "either"),
    (_steps({"id": "a", "tag": {}}), "steps[0].tag", "a", "add"),
    (_steps({"id": "a", "set_trait": {"phone": "13800000000"}}), "steps[0].set_trait.phone", "a", "identifier"),
    (_steps({"id": "a", "give_points": {"amount": -5}}), "steps[0].give_points.amount", "a", "points"),
    (_steps({"id": "a", "give_coupon": {}}), "steps[0].give_coupon.offer", "a", "offer"),
    (_steps({"id": "a", "task": {"due": "1d"}}), "steps[0].task.title", "a", "title"),
    (_steps({"id": "a", "send": MAIL, "next": "nowhere"}), "steps[0]", "a", "no step's id"),
    (_steps({"id": "a", "send": MAIL, "then": "b"}), "steps[0].then", "a", "unknown field"),
    (_steps({"id": "a", "send": MAIL}, {"id": "b", "send": MAIL, "next": "a"}), "steps[1]", "b", "may not loop"),
    (_steps({"id": "a", "send": MAIL, "next": "end"}, {"id": "b", "send": MAIL}), "steps[1]", "b", "reach"),
])
def test_refusals_name_the_path_the_step_and_the_reason(definition: Any, path: str, step: str | None,
                                                        words: str) -> None:
    with pytest.raises(InvalidJourney) as raised:
        parse(definition)
    details = raised.value.details
    assert (details["path"], details["step"]) == (path, step), raised.value.message
    assert words in details["reason"], details["reason"]
    assert details["field"] == path.split(".")[-1]
    assert raised.value.message.startswith(f"{path}: ")


def test_branches_default_to_the_next_step_and_the_last_step_ends() -> None:
    definition = parse(_steps({"id": "check", "condition": {"tag": "VIP"}, "else": "end"},
                              {"id": "mail", "send": MAIL}))
    check, mail = definition.steps
    assert isinstance(check, Condition) and (check.then, check.otherwise) == ("mail", END)
    assert isinstance(mail, Send) and mail.next == END


def test_each_step_knows_the_key_it_is_written_with() -> None:
    from siyu.journeys.step_definitions import STEP_KINDS, kind_of

    written = [next(k for k in STEP_KINDS if k in raw) for raw in EVERYTHING["steps"]]
    assert [kind_of(step) for step in parse(EVERYTHING).steps] == written
    assert sorted(written) == sorted(STEP_KINDS)  # the example covers every kind
