"""Broadcasts to customer groups (群发到群): which groups get a task, grouped how. Pure.

WeCom's rules (创建企业群发, developer.work.weixin.qq.com path/92135, checked 2026-11):

- a group task is ``chat_type: "group"`` with a ``sender`` — the member whose groups receive it,
  who must confirm it in the WeCom client — and ``chat_id_list`` of at most 2,000 of that member's
  groups; so one task per group owner and per 2,000 groups;
- "每位客户/每个客户群每月最多可接收条数为当月天数" — each customer group receives at most as many
  mass messages a month as the month has days (the admin may instead choose 7 a week or 1 a day,
  群发助手 → 设置群发规则); WeCom drops a group past its limit silently, so siyu counts the tasks
  it created for each group in the current period (Beijing time) and leaves such groups out with
  the reason ``groups.at_limit``, as it does dismissed groups and groups with no known owner.

The rule is the workspace setting the contact policy uses for customers, ``settings.messaging.wecom_limit``:
``month`` (default), ``week`` or ``day`` — what the corp's admin chose (one setting covers both).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from siyu.groups.models import GroupStatus

BEIJING = ZoneInfo("Asia/Shanghai")  # WeCom counts its periods on Beijing time
LIMITS = ("month", "week", "day")
MAX_GROUPS_PER_TASK = 2000


@dataclass(frozen=True)
class Target:
    group_id: int
    chat_id: str
    owner_userid: str | None
    status: GroupStatus


@dataclass
class Plan:
    tasks: list[tuple[str, list[Target]]] = field(default_factory=list)  # (sender, its groups)
    skipped: list[dict[str, object]] = field(default_factory=list)  # {"group_id", "reason"}

    @property
    def chosen(self) -> int:
        return sum(len(groups) for _, groups in self.tasks)


def period(limit: str, now: datetime) -> tuple[datetime, int]:
    """The start of the current period and how many broadcasts a group may receive in it."""
    local = now.astimezone(BEIJING)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    match limit:
        case "day":
            return midnight, 1
        case "week":
            return midnight - timedelta(days=local.weekday()), 7
        case "month":
            return midnight.replace(day=1), calendar.monthrange(local.year, local.month)[1]
    raise ValueError(f"broadcast_limit must be one of {', '.join(LIMITS)}")


def plan(targets: list[Target], received: dict[int, int], allowed: int) -> Plan:
    """Tasks for ``targets``: ``received`` is how many broadcasts each group got this period."""
    result = Plan()
    by_owner: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        if target.status is GroupStatus.DISMISSED:
            result.skipped.append({"group_id": target.group_id, "reason": "groups.dismissed"})
        elif not target.owner_userid:
            result.skipped.append({"group_id": target.group_id, "reason": "groups.no_owner"})
        elif received.get(target.group_id, 0) >= allowed:
            result.skipped.append({"group_id": target.group_id, "reason": "groups.at_limit"})
        else:
            by_owner[target.owner_userid].append(target)
    for owner in sorted(by_owner):
        groups = by_owner[owner]
        for start in range(0, len(groups), MAX_GROUPS_PER_TASK):
            result.tasks.append((owner, groups[start:start + MAX_GROUPS_PER_TASK]))
    return result
