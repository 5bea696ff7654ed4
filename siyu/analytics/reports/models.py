"""What each report is asked: typed queries, parsed and checked from the strings the API and the CLI receive.

One parser per report serves both front doors, so ``?from=2024-13-01`` and ``--from 2024-13-01``
fail alike, with ``reports.invalid_parameter`` naming the parameter. Dates are local dates of the
workspace (``YYYY-MM-DD``, both ends included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from siyu.analytics.reports.calendar import Period, day_number, midnight_ms, period_index, period_start
from siyu.analytics.reports.errors import InvalidParameter

FIRST_DAY = date(1970, 1, 2)
MAX_RANGE_DAYS = 731  # two years: beyond it a report reads the whole log and draws an unreadable chart
MAX_EVENT_NAME = 200
# The widest matrix a retention report draws: cohorts x periods.
MAX_PERIODS = {Period.DAY: 92, Period.WEEK: 104, Period.MONTH: 36}


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True)
class DateRange:
    """Local dates, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def start_ms(self, zone: ZoneInfo) -> int:
        return midnight_ms(self.first, zone)

    def end_ms(self, zone: ZoneInfo) -> int:
        """The instant the day after ``last`` begins (exclusive end)."""
        return midnight_ms(self.last + timedelta(days=1), zone)

    def as_dict(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def parse_format(text: str | None) -> ExportFormat:
    try:
        return ExportFormat((text or "json").strip().lower())
    except ValueError:
        raise InvalidParameter("format", f"format must be json, csv or xlsx, not {text!r}.", value=text) from None


def parse_day(text: str, parameter: str) -> date:
    """A ``YYYY-MM-DD`` date from 1970-01-02 on."""
    try:
        if len(text.strip()) != 10:
            raise ValueError(text)
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(
            parameter, f"{parameter} must be a date written YYYY-MM-DD, not {text!r}.", value=text
        ) from None
    if day < FIRST_DAY:
        raise InvalidParameter(parameter, f"{parameter} must be 1970-01-02 or later.", value=text)
    return day


def parse_range(start: str | None, end: str | None, *, today: date, default_days: int) -> DateRange:
    """``from``..``to``; ``to`` defaults to today, ``from`` to ``default_days`` days before ``to`` (included)."""
    last = parse_day(end, "to") if end else today
    first = parse_day(start, "from") if start else last - timedelta(days=default_days - 1)
    if first > last:
        raise InvalidParameter("from", f"from ({first}) must not be after to ({last}).", value=start)
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidParameter("to", f"A report covers at most {MAX_RANGE_DAYS} days; narrow from..to.", value=end)
    if last > today + timedelta(days=366):
        raise InvalidParameter("to", "to is more than a year in the future.", value=end)
    return DateRange(max(first, FIRST_DAY), last)


def parse_period(text: str | None, default: Period, allowed: tuple[Period, ...] = tuple(Period)) -> Period:
    try:
        period = Period((text or default.value).strip().lower())
    except ValueError:
        period = None
    if period is None or period not in allowed:
        names = ", ".join(p.value for p in allowed)
        raise InvalidParameter("period", f"period must be one of {names}, not {text!r}.", value=text)
    return period


def parse_event_name(text: str | None, parameter: str) -> str | None:
    """An event name, or None for "any event" (empty or missing)."""
    if text is None or not text.strip():
        return None
    name = text.strip()
    if len(name) > MAX_EVENT_NAME:
        raise InvalidParameter(parameter, f"{parameter} is longer than {MAX_EVENT_NAME} characters.")
    return name


def parse_channel_breakdown(text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value in ("", "none"):
        return False
    if value == "channel":
        return True
    raise InvalidParameter("breakdown", f"breakdown must be 'channel' or empty, not {text!r}.", value=text)


@dataclass(frozen=True)
class RetentionQuery:
    """People first seen in ``range`` grouped into cohorts by ``period``; who did ``event`` (any event of
    their own when None: not one of ``system_events.SYSTEM_EVENTS``) in each later period, optionally
    per acquisition channel."""

    range: DateRange
    period: Period
    event: str | None
    by_channel: bool

    def as_dict(self) -> dict[str, object]:
        return {
            **self.range.as_dict(),
            "period": self.period.value,
            "event": self.event,
            "breakdown": "channel" if self.by_channel else None,
        }


def parse_retention(
    *, start: str | None, end: str | None, period: str | None, event: str | None, breakdown: str | None, today: date
) -> RetentionQuery:
    chosen = parse_period(period, Period.WEEK)
    default_days = {Period.DAY: 14, Period.WEEK: 8 * 7, Period.MONTH: 180}[chosen]
    span = parse_range(start, end, today=today, default_days=default_days)
    periods = period_index(day_number(span.last), chosen) - period_index(day_number(span.first), chosen) + 1
    if periods > MAX_PERIODS[chosen]:
        raise InvalidParameter(
            "from",
            f"A {chosen.value} retention report shows at most {MAX_PERIODS[chosen]} "
            f"cohorts; this range holds {periods}. Narrow from..to or use a longer period.",
            value=start,
            periods=periods,
        )
    # Cohorts are whole periods: the range starts at the beginning of the period holding ``from``.
    aligned = DateRange(period_start(period_index(day_number(span.first), chosen), chosen), span.last)
    return RetentionQuery(aligned, chosen, parse_event_name(event, "event"), parse_channel_breakdown(breakdown))


MIN_STEPS, MAX_STEPS = 2, 10
MAX_WINDOW = timedelta(days=90)
_KEY = re.compile(r"[A-Za-z0-9_\-\u4e00-\u9fff][A-Za-z0-9_.\-\u4e00-\u9fff]{0,63}")


@dataclass(frozen=True)
class FunnelStep:
    """An event name, and optionally one property that must equal a value (compared as text)."""

    name: str
    property: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "property": self.property, "value": self.value}

    def label(self) -> str:
        return self.name if self.property is None else f"{self.name} ({self.property}={self.value})"


@dataclass(frozen=True)
class Breakdown:
    """Per acquisition channel (``channel``) or per value of a profile trait (``trait:city``)."""

    trait: str | None  # None: by first channel

    @property
    def label(self) -> str:
        return "channel" if self.trait is None else f"trait:{self.trait}"


@dataclass(frozen=True)
class FunnelQuery:
    """People whose first step-1 event falls in ``range``, followed through ``steps`` within ``window``."""

    range: DateRange
    steps: tuple[FunnelStep, ...]
    window: timedelta
    window_text: str
    breakdown: Breakdown | None

    def as_dict(self) -> dict[str, object]:
        return {
            **self.range.as_dict(),
            "steps": [s.as_dict() for s in self.steps],
            "window": self.window_text,
            "breakdown": self.breakdown.label if self.breakdown else None,
        }


def _key(text: str, parameter: str) -> str:
    if not _KEY.fullmatch(text):
        raise InvalidParameter(
            parameter,
            f"{text!r} is not a property name: use letters, digits, '_', '-' or '.', at most 64 characters.",
            value=text,
        )
    return text


def parse_step(text: str, position: int) -> FunnelStep:
    """``Event Name`` or ``Event Name|property=value``."""
    name, bar, condition = text.partition("|")
    event = parse_event_name(name, f"step {position}")
    if event is None:
        raise InvalidParameter("step", f"Step {position} has no event name.", position=position)
    if not bar:
        return FunnelStep(event)
    key, equals, value = condition.partition("=")
    if not equals or not value.strip():
        raise InvalidParameter(
            "step", f"Step {position}: write the filter as 'Event Name|property=value'.", position=position, value=text
        )
    if len(value) > MAX_EVENT_NAME:
        raise InvalidParameter("step", f"Step {position}: the filter value is too long.", position=position)
    return FunnelStep(event, _key(key.strip(), "step"), value.strip())


def parse_window(text: str | None) -> tuple[timedelta, str]:
    """``7d`` (default), ``36h``: at least an hour, at most 90 days."""
    written = (text or "7d").strip().lower()
    match = re.fullmatch(r"(\d{1,4})([dh])", written)
    if match is None:
        raise InvalidParameter("window", f"window must look like 7d or 36h, not {text!r}.", value=text)
    amount = int(match.group(1))
    window = timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount)
    if not timedelta(hours=1) <= window <= MAX_WINDOW:
        raise InvalidParameter("window", "window must be between 1h and 90d.", value=text)
    return window, written


def parse_breakdown(text: str | None) -> Breakdown | None:
    value = (text or "").strip()
    if value.lower() in ("", "none"):
        return None
    if value.lower() == "channel":
        return Breakdown(None)
    if value.startswith("trait:"):
        return Breakdown(_key(value.removeprefix("trait:").strip(), "breakdown"))
    raise InvalidParameter("breakdown", f"breakdown must be 'channel' or 'trait:<name>', not {text!r}.", value=text)


def parse_funnel(
    *, start: str | None, end: str | None, steps: list[str], window: str | None, breakdown: str | None, today: date
) -> FunnelQuery:
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise InvalidParameter(
            "step", f"A funnel has {MIN_STEPS} to {MAX_STEPS} steps; {len(steps)} were given.", count=len(steps)
        )
    parsed = tuple(parse_step(text, position) for position, text in enumerate(steps, start=1))
    span = parse_range(start, end, today=today, default_days=30)
    length, written = parse_window(window)
    return FunnelQuery(span, parsed, length, written, parse_breakdown(breakdown))


@dataclass(frozen=True)
class ActivityQuery:
    """Daily, rolling-weekly and rolling-monthly active people for each day of ``range``."""

    range: DateRange
    event: str | None

    def as_dict(self) -> dict[str, object]:
        return {**self.range.as_dict(), "event": self.event}


def parse_activity(*, start: str | None, end: str | None, event: str | None, today: date) -> ActivityQuery:
    return ActivityQuery(parse_range(start, end, today=today, default_days=30), parse_event_name(event, "event"))


@dataclass(frozen=True)
class RevenueQuery:
    """Orders in ``range`` per day, week or month: revenue, orders, buyers, average order value."""

    range: DateRange
    period: Period

    def as_dict(self) -> dict[str, object]:
        return {**self.range.as_dict(), "period": self.period.value}


def parse_revenue(*, start: str | None, end: str | None, period: str | None, today: date) -> RevenueQuery:
    chosen = parse_period(period, Period.DAY)
    default_days = {Period.DAY: 30, Period.WEEK: 12 * 7, Period.MONTH: 365}[chosen]
    return RevenueQuery(parse_range(start, end, today=today, default_days=default_days), chosen)


@dataclass(frozen=True)
class RepurchaseQuery:
    """Buyers whose first order falls in ``range``, by first-order month: the share with two order days or more."""

    range: DateRange

    def as_dict(self) -> dict[str, object]:
        return {**self.range.as_dict()}


def parse_repurchase(*, start: str | None, end: str | None, today: date) -> RepurchaseQuery:
    return RepurchaseQuery(parse_range(start, end, today=today, default_days=365))


@dataclass(frozen=True)
class ChannelQuery:
    """New customers of ``range`` per first channel: 30-day retention, 90-day revenue, cost per customer."""

    range: DateRange

    def as_dict(self) -> dict[str, object]:
        return {**self.range.as_dict()}


def parse_channels(*, start: str | None, end: str | None, today: date) -> ChannelQuery:
    return ChannelQuery(parse_range(start, end, today=today, default_days=90))


@dataclass(frozen=True)
class OverviewQuery:
    """The AARRR overview of ``range``: acquisition, activation, retention, revenue, referral."""

    range: DateRange

    def as_dict(self) -> dict[str, object]:
        return {**self.range.as_dict()}


def parse_overview(*, start: str | None, end: str | None, today: date) -> OverviewQuery:
    return OverviewQuery(parse_range(start, end, today=today, default_days=30))


MAX_SPEND = 10**12


@dataclass(frozen=True)
class SpendEntry:
    """What a channel cost in a calendar month (CNY), entered by hand: the numerator of cost per customer."""

    channel: str
    month: str  # YYYY-MM
    amount: float


def parse_spend(*, channel: str, month: str, amount: float) -> SpendEntry:
    name = channel.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidParameter("channel", "channel must be 1-100 characters, as sent in context.campaign.source.")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month.strip()) or month.strip() < "1970-01":
        raise InvalidParameter("month", f"month must be written YYYY-MM, not {month!r}.", value=month)
    if not 0 <= amount <= MAX_SPEND or amount != amount:  # amount != amount: NaN
        raise InvalidParameter("amount", "amount must be a number from 0 to 10^12.", value=str(amount))
    return SpendEntry(name, month.strip(), round(float(amount), 2))
