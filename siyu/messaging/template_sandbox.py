"""The sandbox operator-written templates run in: Jinja's ``ImmutableSandboxedEnvironment`` with
bounded repetition and powers, a forgiving missing value (``_Missing``), and the Babel filters
``money``, ``date`` and ``datetime``. Rendering and payloads are in :mod:`siyu.messaging.templates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import ChainableUndefined, Template, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from siyu.messaging.template_models import (
    BABEL_LOCALES,
)

MAX_REPEAT = 10_000  # 'ab' * n and [x] * n may build at most this many items
MAX_EXPONENT = 100
SETTINGS_KEY = "_siyu"  # where a render's locale and time zone travel in the Jinja context, for the filters


class _Missing(ChainableUndefined):
    """A value the context lacks: chains (``a.b.c``), calls, arithmetic and comparisons stay missing or
    false instead of raising, so one person's missing trait never stops their message."""

    def __call__(self, *args: Any, **kwargs: Any) -> _Missing:  # type: ignore[override]
        if self._undefined_exception is SecurityError:  # a refused method (list.append): say so
            self._fail_with_undefined_error()
        return self

    def _absorb(self, *args: Any) -> _Missing:
        return self

    def _false(self, other: Any) -> bool:
        return False

    # Undefined types these as raising (-> Never); here they absorb instead.
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _absorb  # type: ignore[assignment]
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _absorb  # type: ignore[assignment]
    __pow__ = __rpow__ = __neg__ = __pos__ = _absorb  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = _false  # type: ignore[assignment]


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT} is not allowed")
        if operator == "*":
            for items, times in ((left, right), (right, left)):
                if isinstance(items, str | list | tuple) and isinstance(times, int) and len(items) * times > MAX_REPEAT:
                    raise SecurityError(f"repeating a value into more than {MAX_REPEAT} items is not allowed")
        return super().call_binop(context, operator, left, right)


@dataclass(frozen=True)
class RenderSettings:
    """What the filters need to know about the send (read through the template context)."""

    language: str
    timezone: ZoneInfo


def _finalize(value: Any) -> Any:
    # None (a JSON null trait), functions ('a'.format) and internals never reach a customer as text.
    return "" if value is None or callable(value) or isinstance(value, RenderSettings) else value


def _settings(context: Context) -> RenderSettings:
    found = context.get(SETTINGS_KEY)
    return found if isinstance(found, RenderSettings) else RenderSettings("zh", ZoneInfo("Asia/Shanghai"))


def absent(value: Any) -> bool:
    return value is None or isinstance(value, Undefined)


@pass_context
def _money(context: Context, value: Any, currency: str = "CNY") -> str:
    """``{{ 89.9 | money }}`` → ``¥89.90`` (zh), ``CN¥89.90`` (en): Babel's currency format."""
    if absent(value):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_currency(amount, str(currency), locale=BABEL_LOCALES[_settings(context).language])


def _moment(value: Any, zone: ZoneInfo) -> datetime | date | None:
    """A datetime (shown in the workspace zone; naive means UTC, as everywhere in siyu), a date, an
    ISO-8601 string or Unix seconds; ``None`` when it is none of those."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, zone)
        except (OverflowError, OSError, ValueError):  # garbage data prints as it is, the message still goes
            return None
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else _moment(datetime.fromisoformat(text), zone)
        except ValueError:
            return None
    return None


@pass_context
def _date(context: Context, value: Any, format: str = "medium") -> str:
    """``{{ event.timestamp | date('long') }}`` → ``2024年6月18日`` / ``June 18, 2024``."""
    settings = _settings(context)
    moment = None if absent(value) else _moment(value, settings.timezone)
    if moment is None:
        return "" if absent(value) else str(value)
    return format_date(moment, format, locale=BABEL_LOCALES[settings.language])


@pass_context
def _datetime(context: Context, value: Any, format: str = "medium") -> str:
    settings = _settings(context)
    moment = None if absent(value) else _moment(value, settings.timezone)
    if moment is None:
        return "" if absent(value) else str(value)
    if not isinstance(moment, datetime):
        return format_date(moment, format, locale=BABEL_LOCALES[settings.language])
    return format_datetime(moment, format, tzinfo=settings.timezone, locale=BABEL_LOCALES[settings.language])


def _environment(autoescape: bool) -> _Sandbox:
    env = _Sandbox(undefined=_Missing, autoescape=autoescape, finalize=_finalize, keep_trailing_newline=True)
    env.filters.update(money=_money, date=_date, datetime=_datetime)
    env.globals = {name: env.globals[name] for name in ("range", "dict", "namespace")}
    return env


TEXT_ENV = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


@lru_cache(maxsize=4096)
def compiled(source: str, html: bool) -> Template:
    return (_HTML if html else TEXT_ENV).from_string(source)


@lru_cache(maxsize=4096)
def parsed(source: str) -> nodes.Template:
    return TEXT_ENV.parse(source)
