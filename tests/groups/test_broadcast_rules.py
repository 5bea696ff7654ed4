"""Which groups a broadcast reaches and in how many WeCom tasks: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from siyu.groups.broadcasts import MAX_GROUPS_PER_TASK, Target, period, plan
from siyu.groups.models import GroupStatus


def target(group_id: int, owner: str | None = "zhangsan", status: GroupStatus = GroupStatus.ACTIVE) -> Target:
    return Target(group_id, f"wr{group_id}", owner, status)


def test_one_task_per_owner_and_dismissed_ownerless_and_full_groups_left_out_with_reasons() -> None:
    found = plan([target(1), target(2, "lisi"), target(3), target(4, status=GroupStatus.DISMISSED),
                  target(5, owner=None), target(6)], received={6: 30}, allowed=30)
    assert [(sender, [t.group_id for t in groups]) for sender, groups in found.tasks] == [
        ("lisi", [2]), ("zhangsan", [1, 3])]
    assert found.skipped == [{"group_id": 4, "reason": "groups.dismissed"},
                             {"group_id": 5, "reason": "groups.no_owner"},
                             {"group_id": 6, "reason": "groups.at_limit"}]
    assert found.chosen == 3


def test_an_owner_with_more_than_2000_groups_gets_several_tasks() -> None:
    found = plan([target(i) for i in range(1, MAX_GROUPS_PER_TASK + 2)], received={}, allowed=1)
    assert [len(groups) for _, groups in found.tasks] == [MAX_GROUPS_PER_TASK, 1]


@pytest.mark.parametrize(("limit", "now", "start", "allowed"), [
    ("month", datetime(2026, 2, 10, 3, tzinfo=UTC), datetime(2026, 1, 31, 16, tzinfo=UTC), 28),
    ("month", datetime(2026, 1, 31, 17, tzinfo=UTC), datetime(2026, 1, 31, 16, tzinfo=UTC), 28),  # Feb 1 in Beijing
    ("month", datetime(2026, 11, 30, 12, tzinfo=UTC), datetime(2026, 10, 31, 16, tzinfo=UTC), 30),
    ("week", datetime(2026, 12, 3, 12, tzinfo=UTC), datetime(2026, 11, 29, 16, tzinfo=UTC), 7),  # from Monday
    ("day", datetime(2026, 12, 3, 17, tzinfo=UTC), datetime(2026, 12, 3, 16, tzinfo=UTC), 1),
])
def test_periods_are_counted_on_beijing_time(limit: str, now: datetime, start: datetime, allowed: int) -> None:
    begins, count = period(limit, now)
    assert (begins, count) == (start, allowed)


def test_an_unknown_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="month, week, day"):
        period("year", datetime(2026, 1, 1, tzinfo=UTC))
