"""Rendering console pages: one Jinja2 environment per language, with Babel formatting helpers."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_currency, format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from siyu.web.i18n import TAGS, babel_locale, term_label, translations

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_TIMEZONE = "Asia/Shanghai"


@cache
def environment(locale: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n", "jinja2.ext.do"])
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def helpers(locale: str, timezone: str) -> dict[str, Any]:
    """Formatting for the page's language (CLDR via Babel) and the workspace's time zone."""
    babel = babel_locale(locale)
    zone = ZoneInfo(timezone)
    gettext = translations(locale).gettext

    def number(value: Any) -> str:
        return format_decimal(value or 0, locale=babel)

    def money(value: Any) -> str:
        return format_currency(value or 0, "CNY", locale=babel)

    def when(value: datetime | None) -> str:
        """Medium date and short time in the locale's own order: 2024年11月24日 15:11 / Nov 24, 2024, 3:11 PM."""
        if value is None:
            return "—"
        local = value.astimezone(zone)
        pattern = babel.datetime_formats["medium"]
        time_part, date_part = format_time(local, "short", locale=babel), format_date(local, "medium", locale=babel)
        return str(pattern).format(time_part, date_part)

    def day(value: date) -> str:
        return format_skeleton("MMMd", value, locale=babel)

    def term(code: str | None) -> str:
        return term_label(code, gettext)

    return {"number": number, "money": money, "when": when, "day": day, "term": term, "readable": readable}


def readable(value: Any) -> str:
    """Event properties as people read them: 李娜, not \\u674e\\u5a1c (Jinja's ``tojson`` escapes
    non-ASCII for scripts). Plain text, so autoescaping still applies."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def render(request: Request, template: str, *, locale: str, timezone: str = DEFAULT_TIMEZONE, status: int = 200,
           **context: Any) -> HTMLResponse:
    env = environment(locale)
    html = env.get_template(template).render(request=request, locale=locale, lang=TAGS[locale],
                                             **helpers(locale, timezone), **context)
    return HTMLResponse(html, status_code=status)
