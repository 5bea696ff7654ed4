"""Rendering console pages: one Jinja2 environment per language, with Babel formatting helpers."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from siyu.web.i18n import TAGS, babel_locale, translations

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment(locale: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def helpers(locale: str, timezone: str) -> dict[str, Any]:
    babel = babel_locale(locale)
    zone = ZoneInfo(timezone)

    def number(value: Any) -> str:
        return format_decimal(value or 0, locale=babel)

    def money(value: Any) -> str:
        return format_currency(value or 0, "CNY", locale=babel)

    def when(value: datetime | None) -> str:
        if value is None:
            return "—"
        return format_datetime(value.astimezone(zone), "yyyy-MM-dd HH:mm", locale=babel)

    return {"number": number, "money": money, "when": when}


def render(request: Request, template: str, *, locale: str, timezone: str = "Asia/Shanghai", status: int = 200,
           **context: Any) -> HTMLResponse:
    env = environment(locale)
    html = env.get_template(template).render(request=request, locale=locale, lang=TAGS[locale],
                                             **helpers(locale, timezone), **context)
    return HTMLResponse(html, status_code=status)
