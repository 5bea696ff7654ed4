"""Growth tasks' pure decisions: periods in the workspace's time zone, which events count, how far a
profile is complete, progress steps and merges, and what a definition accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from siyu.loyalty import tasks_rules
from siyu.loyalty.tasks_models import Repeat, TaskDefinition, TaskKind

TZ = "Asia/Shanghai"


def task(**values) -> TaskDefinition:  # noqa: ANN003
    return TaskDefinition.model_validate({"key": "t", "name_zh": "任务", "name_en": "Task", **values})


@pytest.mark.parametrize(("repeat", "at", "period"), [
    (Repeat.ONCE, datetime(2026, 12, 1, 1, tzinfo=UTC), "once"),
    (Repeat.DAILY, datetime(2026, 11, 30, 15, 59, tzinfo=UTC), "d2026-11-30"),  # 23:59 in Beijing
    (Repeat.DAILY, datetime(2026, 11, 30, 16, 0, tzinfo=UTC), "d2026-12-01"),  # local midnight turns the day
    (Repeat.WEEKLY, datetime(2026, 12, 6, 15, 0, tzinfo=UTC), "w2026-11-30"),  # Sunday 23:00: Monday's week
    (Repeat.WEEKLY, datetime(2026, 12, 6, 16, 0, tzinfo=UTC), "w2026-12-07"),  # Monday 00:00: a new week
    (Repeat.MONTHLY, datetime(2026, 11, 30, 16, 30, tzinfo=UTC), "m2026-12"),
])
def test_periods_turn_over_at_local_midnight_and_weeks_start_on_monday(repeat, at, period) -> None:  # noqa: ANN001
    assert tasks_rules.period_of(repeat, at, TZ) == period


def test_each_kind_counts_its_default_event_and_a_task_can_name_another() -> None:
    assert tasks_rules.counts(task(kind="follow_account"), "Followed", {})
    assert tasks_rules.counts(task(kind="join_group"), "Group Member Joined", {"chat_id": "c1"})
    assert tasks_rules.counts(task(kind="attend_event", target=3), "Event Attended", None)
    assert tasks_rules.counts(task(kind="write_review", target=2), "Review Written", {})
    assert not tasks_rules.counts(task(kind="write_review"), "Order Completed", {})
    assert tasks_rules.counts(task(kind="write_review", event="Note Posted"), "Note Posted", {})
    assert not tasks_rules.counts(task(kind="write_review", event="Note Posted"), "Review Written", {})


def test_an_operators_attendance_mark_counts_for_its_own_task_only() -> None:
    mark = {"task": "spring-salon", "marked_by": "operator"}
    assert tasks_rules.counts(task(kind="attend_event"), "Event Attended", mark, "spring-salon")
    assert not tasks_rules.counts(task(kind="attend_event"), "Event Attended", mark, "autumn-salon")
    assert tasks_rules.counts(task(kind="attend_event"), "Event Attended", {"venue": "上海"}, "autumn-salon")


def test_invites_from_campaigns_count_no_event_unless_the_task_names_one() -> None:
    assert task(kind="invite_friends", target=3).counted_event() is None
    assert task(kind="invite_friends", source="event").counted_event() == "Invite Sent"
    assert task(kind="invite_friends", event="Friend Joined").counted_event() == "Friend Joined"


def test_a_custom_filter_needs_every_property_equal_numbers_matching_their_text() -> None:
    custom = task(kind="custom", event="Store Visited", filter={"store": "SH01", "floor": 2, "vip": True})
    assert tasks_rules.counts(custom, "Store Visited", {"store": "SH01", "floor": "2", "vip": True, "x": 1})
    assert not tasks_rules.counts(custom, "Store Visited", {"store": "SH01", "floor": 2})  # vip missing
    assert not tasks_rules.counts(custom, "Store Visited", {"store": "SH02", "floor": 2, "vip": True})
    assert not tasks_rules.counts(custom, "Store Visited", {"store": "SH01", "floor": "two", "vip": True})
    assert not tasks_rules.counts(custom, "Store Visited", {"store": "SH01", "floor": 2, "vip": 1})


def test_profile_completeness_counts_filled_required_traits_only() -> None:
    required = ["name", "phone", "birthday", "city"]
    traits = {"name": "安", "phone": " ", "birthday": None, "city": "上海", "gender": "f", "tags": []}
    assert tasks_rules.profile_progress(required, traits) == 2
    assert tasks_rules.profile_progress(["tags", "zero"], {"tags": ["a"], "zero": 0}) == 2
    assert task(kind="profile_complete", traits=required, target=99).target == 4


def test_a_step_adds_up_to_the_target_and_completes_once() -> None:
    first = tasks_rules.step(TaskKind.ATTEND_EVENT, 1, 3, False, 1)
    assert (first.progress, first.completes) == (2, False)
    last = tasks_rules.step(TaskKind.ATTEND_EVENT, 2, 3, False, 1)
    assert (last.progress, last.completes) == (3, True)
    again = tasks_rules.step(TaskKind.ATTEND_EVENT, 3, 3, True, 1)
    assert (again.progress, again.completes) == (3, False)


def test_a_profile_step_replaces_the_count_but_never_lowers_it() -> None:
    assert tasks_rules.step(TaskKind.PROFILE_COMPLETE, 2, 4, False, 3).progress == 3
    assert tasks_rules.step(TaskKind.PROFILE_COMPLETE, 3, 4, False, 1).progress == 3  # a trait cleared
    assert tasks_rules.step(TaskKind.PROFILE_COMPLETE, 3, 4, False, 4).completes


def test_merged_progress_adds_counts_and_keeps_the_better_profile() -> None:
    assert tasks_rules.merged(TaskKind.WRITE_REVIEW, 2, 2, 3) == 3
    assert tasks_rules.merged(TaskKind.WRITE_REVIEW, 1, 1, 3) == 2
    assert tasks_rules.merged(TaskKind.PROFILE_COMPLETE, 2, 3, 4) == 3


@pytest.mark.parametrize(("values", "field"), [
    ({"kind": "custom"}, "custom task names the 'event'"),
    ({"kind": "profile_complete"}, "lists the traits"),
    ({"kind": "profile_complete", "traits": ["a", "a"]}, "distinct"),
    ({"kind": "custom", "event": "X", "target": 0}, "target"),
    ({"kind": "nope"}, "kind"),
    ({"kind": "custom", "event": "X", "key": "Has Space"}, "key"),
    ({"kind": "custom", "event": "X", "starts_at": "2026-12-02T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"},
     "ends_at"),
    ({"kind": "custom", "event": "X", "points": -1}, "points"),
])
def test_a_definition_that_does_not_hold_together_is_refused(values, field) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError, match=field):
        task(**values)


def test_one_step_kinds_have_target_one_and_the_reward_key_names_task_period_and_person() -> None:
    assert task(kind="follow_account", target=5).target == 1
    assert tasks_rules.reward_key(3, "d2026-12-01", 42) == "task:3:d2026-12-01:42"
