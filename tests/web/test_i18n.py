"""The console's catalogues: every message the pages can show is translated, and languages are negotiated."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from siyu.web import errors, i18n, report_routes, segment_routes, segment_vocabulary
from siyu.web.i18n import choose_locale, term_label, translations

TEMPLATES = Path(i18n.__file__).parent / "templates"


def console_messages() -> set[str]:
    """Every msgid: those in the templates (Babel's Jinja2 extractor) and the tables in Python."""
    found: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        with template.open("rb") as handle:
            for _line, message, _comments, _context in extract(
                    "jinja2.ext:babel_extract", handle, options={"extensions": "jinja2.ext.do"}):
                found.add(message[0] if isinstance(message, tuple) else message)
    found |= set(i18n.TERMS.values()) | {m for pair in errors._MESSAGES.values() for m in pair}
    found |= segment_vocabulary.messages() | set(report_routes.SPEND_PROBLEMS.values())
    found |= set(segment_routes.MEMBERS_EXPORT_REFUSED)
    return found | {"Wrong e-mail or password."}


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_every_console_message_is_in_both_catalogues(locale: str) -> None:
    with (i18n.LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    translated = {m.id for m in catalog if m.id and m.string}
    assert console_messages() - translated == set()
    assert {m.id for m in catalog if m.id} - console_messages() == set(), "stale entries in the catalogue"


def test_chinese_uses_the_glossary_words() -> None:
    zh = translations("zh_CN").gettext
    assert (zh("Customers"), zh("Tags"), zh("Channel"), zh("Consent")) == ("客户", "标签", "渠道", "授权")
    assert term_label("xiaohongshu", zh) == "小红书" and term_label(None, zh) == "未知"
    assert term_label("a_new_channel", zh) == "a_new_channel"


@pytest.mark.parametrize(("saved", "accept", "expected"), [
    (None, None, "zh_CN"),
    (None, "en-US,en;q=0.9", "en"),
    (None, "en-GB", "en"),
    (None, "zh-TW,zh;q=0.9", "zh_CN"),
    (None, "fr-FR,de;q=0.8", "zh_CN"),
    (None, "fr-FR,en;q=0.5", "en"),
    ("en", "zh-CN", "en"),
    ("zh_CN", "en", "zh_CN"),
    ("xx", "en", "en"),
    (None, ";;,,q=", "zh_CN"),
])
def test_language_negotiation(saved: str | None, accept: str | None, expected: str) -> None:
    assert choose_locale(saved, accept) == expected
