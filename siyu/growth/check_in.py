"""Check-in (签到): daily streaks with reward tiers and make-up cards (补签卡). Pure.

Days are calendar days in the workspace's time zone (:func:`local_day`), like the rest of siyu's
"per day" rules: someone checking in at 23:59 and 00:01 Shanghai time has two days, not one UTC day.

The streak on a day is the number of consecutive checked-in days ending on it. A make-up card fills
one missed day in the past, at most ``make_up_window_days`` back and at most
``make_up_per_month`` times per calendar month of the filled day — the usual limits that keep a card
from rebuilding a month-long streak in one evening. Filling a gap can join two runs; the reward
tiers the current streak crosses for the first time in that run are granted once: a tier ``t`` is
due when ``old_streak < t <= new_streak`` (streaks measured through the latest checked-in day), so
a make-up that jumps a streak from 2 to 8 grants both the 3-day and the 7-day tiers, and a streak
that breaks and starts again can earn them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class CheckInRefusal(StrEnum):
    ALREADY_CHECKED_IN = "already_checked_in"
    NOT_TODAY = "not_today"  # a plain check-in is for today only
    FUTURE_DAY = "future_day"
    NO_CARD = "no_card"  # no make-up card left
    OUTSIDE_WINDOW = "outside_window"  # too far back for a make-up
    MONTH_LIMIT = "month_limit"  # too many make-ups this month
    TODAY_NEEDS_NO_CARD = "today_needs_no_card"  # a make-up card is for a missed past day


@dataclass(frozen=True)
class RewardTier:
    streak_days: int
    reward_key: str  # what the campaign grants (an offer id, points, ...), opaque here


@dataclass(frozen=True)
class CheckInPolicy:
    tiers: tuple[RewardTier, ...] = (RewardTier(3, "streak_3"), RewardTier(7, "streak_7"))
    make_up_window_days: int = 7
    make_up_per_month: int = 2


@dataclass(frozen=True)
class CheckInHistory:
    days: frozenset[date] = frozenset()
    made_up: frozenset[date] = field(default=frozenset())  # the subset of days filled with a card
    cards: int = 0  # make-up cards held


@dataclass(frozen=True)
class Outcome:
    history: CheckInHistory
    streak: int  # through the latest checked-in day, after this check-in
    rewards: tuple[RewardTier, ...] = ()
    refused: CheckInRefusal | None = None


def local_day(at: datetime, time_zone: str) -> date:
    """The calendar day of ``at`` in the workspace's time zone."""
    return at.astimezone(ZoneInfo(time_zone)).date()


def streak_through(days: frozenset[date], day: date) -> int:
    """Consecutive checked-in days ending on ``day`` (0 if ``day`` itself is missing)."""
    count = 0
    while day - timedelta(days=count) in days:
        count += 1
    return count


def current_streak(history: CheckInHistory) -> int:
    """The streak through the latest checked-in day."""
    return streak_through(history.days, max(history.days)) if history.days else 0


def record_check_in(history: CheckInHistory, day: date, *, make_up: bool = False, today: date | None = None,
                    policy: CheckInPolicy | None = None) -> Outcome:
    """Check in on ``day`` (``today`` defaults to ``day``; a make-up fills a past ``day``)."""
    policy = policy or CheckInPolicy()
    today = today or day
    refused = _refusal(history, day, make_up, today, policy)
    if refused is not None:
        return Outcome(history, current_streak(history), refused=refused)
    before = current_streak(history)
    after_days = history.days | {day}
    updated = CheckInHistory(days=after_days,
                             made_up=history.made_up | ({day} if make_up else set()),
                             cards=history.cards - (1 if make_up else 0))
    after = streak_through(after_days, max(after_days))
    # A make-up that doesn't touch the latest run leaves ``after == before``: nothing new is due.
    rewards = tuple(t for t in policy.tiers if before < t.streak_days <= after) if after > before else ()
    return Outcome(updated, after, rewards)


def grant_cards(history: CheckInHistory, count: int) -> CheckInHistory:
    """The history with ``count`` more make-up cards (earned or bought elsewhere)."""
    return replace(history, cards=history.cards + count)


def _refusal(history: CheckInHistory, day: date, make_up: bool, today: date,
             policy: CheckInPolicy) -> CheckInRefusal | None:
    if day > today:
        return CheckInRefusal.FUTURE_DAY
    if day in history.days:
        return CheckInRefusal.ALREADY_CHECKED_IN
    if not make_up:
        return None if day == today else CheckInRefusal.NOT_TODAY
    if day == today:
        return CheckInRefusal.TODAY_NEEDS_NO_CARD  # don't burn a card on a plain check-in
    if history.cards <= 0:
        return CheckInRefusal.NO_CARD
    if (today - day).days > policy.make_up_window_days:
        return CheckInRefusal.OUTSIDE_WINDOW
    same_month = sum(1 for d in history.made_up if (d.year, d.month) == (day.year, day.month))
    if same_month >= policy.make_up_per_month:
        return CheckInRefusal.MONTH_LIMIT
    return None
