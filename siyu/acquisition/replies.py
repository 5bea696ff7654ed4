"""Keyword and menu-click reply rules (关键词回复 / 菜单回复): what a rule is, and which rule answers. Pure.

A rule has a ``trigger`` — ``keyword`` (the text of an inbound message) or ``menu`` (a menu click's
``EventKey``) — a ``match`` kind for keywords (``exact``, ``contains``, ``regex``), its ``patterns``
(any one matching is enough), a ``priority`` (lower answers first; ties by id), an ``enabled``
flag, a ``reply`` and time-of-day ``variants`` (``{"from": "22:00", "to": "08:00", "reply": …}``,
windows in the workspace time zone, ``to`` exclusive, may span midnight; the first that covers the
local time wins, else ``reply``).

A reply is WeChat's customer-service message shape with templated strings (``{"msgtype": "text",
"text": {"content": "{{ profile.traits.name }}你好"}}``; also ``image``, ``news`` with one article,
``miniprogrampage``); text, image and news go back as the passive reply, a mini-program card
through the outbox. Exact and contains compare case-insensitively after trimming.

Regexes are operator input run on customer input, so they are guarded: at most 200 characters,
compiled by the ``regex`` module and matched with a 50 ms timeout against at most 2,048 characters
of text (the longest text WeChat delivers); a rule whose match times out does not answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import regex

from siyu.errors import SiyuError

TRIGGERS = ("keyword", "menu")
MATCHES = ("exact", "contains", "regex")
MAX_PATTERN = 200
MAX_PATTERNS = 50
MAX_TEXT = 2048
REGEX_TIMEOUT = 0.05  # seconds
MAX_VARIANTS = 10
_HOUR = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class RepliesError(SiyuError):
    code = "replies.invalid"
    status = 422


@dataclass(frozen=True)
class Variant:
    start: time
    end: time
    reply: dict[str, Any]

    def covers(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    trigger: str
    match: str
    patterns: tuple[str, ...]
    priority: int
    enabled: bool
    reply: dict[str, Any]
    variants: tuple[Variant, ...] = ()
    match_count: int = 0
    last_matched_at: datetime | None = None
    _compiled: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    def matches(self, text: str) -> bool:
        text = text.strip()[:MAX_TEXT]
        if self.match == "regex":
            compiled = self._compiled or tuple(regex.compile(p) for p in self.patterns)
            for pattern in compiled:
                try:
                    if pattern.search(text, timeout=REGEX_TIMEOUT):
                        return True
                except TimeoutError:
                    continue
            return False
        folded = text.casefold()
        if self.match == "contains":
            return any(p.strip().casefold() in folded for p in self.patterns)
        return any(p.strip().casefold() == folded for p in self.patterns)

    def reply_at(self, now: datetime, timezone: str) -> dict[str, Any]:
        local = now.astimezone(ZoneInfo(timezone)).time()
        return next((v.reply for v in self.variants if v.covers(local)), self.reply)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "trigger": self.trigger, "match": self.match,
                "patterns": list(self.patterns), "priority": self.priority, "enabled": self.enabled,
                "reply": self.reply, "variants": [{"from": v.start.strftime("%H:%M"), "to": v.end.strftime("%H:%M"),
                                                   "reply": v.reply} for v in self.variants],
                "match_count": self.match_count,
                "last_matched_at": self.last_matched_at.isoformat() if self.last_matched_at else None}


def first_match(rules: Sequence[Rule], text: str) -> Rule | None:
    """The enabled rule of lowest (priority, id) that matches ``text``."""
    for rule in sorted(rules, key=lambda r: (r.priority, r.id)):
        if rule.enabled and rule.matches(text):
            return rule
    return None


def _hour(value: Any, where: str) -> time:
    if not isinstance(value, str) or not _HOUR.fullmatch(value):
        raise RepliesError(f"{where} must be a local time HH:MM.", details={"field": where})
    return time.fromisoformat(value)


def parse_variants(raw: Any, check_reply: Any) -> tuple[Variant, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_VARIANTS:
        raise RepliesError(f"'variants' must be a list of at most {MAX_VARIANTS}.", details={"field": "variants"})
    found = []
    for index, item in enumerate(raw):
        where = f"variants[{index}]"
        if not isinstance(item, dict):
            raise RepliesError(f"{where} must be an object with from, to and reply.", details={"field": where})
        start, end = _hour(item.get("from"), f"{where}.from"), _hour(item.get("to"), f"{where}.to")
        if start == end:
            raise RepliesError(f"{where}: 'from' and 'to' must differ.", details={"field": where})
        found.append(Variant(start, end, check_reply(item.get("reply"), f"{where}.reply")))
    return tuple(found)


def check_patterns(match: str, patterns: Any) -> tuple[str, ...]:
    if match not in MATCHES:
        raise RepliesError(f"'match' must be one of {', '.join(MATCHES)}.", details={"field": "match"})
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not 1 <= len(patterns) <= MAX_PATTERNS or not all(
            isinstance(p, str) and p.strip() and len(p) <= MAX_PATTERN for p in patterns):
        raise RepliesError(f"'patterns' must be 1-{MAX_PATTERNS} non-empty texts of at most {MAX_PATTERN} "
                           "characters.", details={"field": "patterns"})
    if match == "regex":
        for pattern in patterns:
            try:
                regex.compile(pattern)
            except regex.error as error:
                raise RepliesError(f"'{pattern}' is not a regular expression: {error}.",
                                   details={"field": "patterns", "pattern": pattern}) from None
    return tuple(patterns)


def rule_from_row(row: Any) -> Rule:
    variants = tuple(Variant(time.fromisoformat(v["from"]), time.fromisoformat(v["to"]), v["reply"])
                     for v in (row.variants or []))
    patterns = tuple(row.patterns or [])
    compiled = tuple(regex.compile(p) for p in patterns) if row.match == "regex" else ()
    return Rule(id=row.id, name=row.name, trigger=row.trigger, match=row.match, patterns=patterns,
                priority=row.priority, enabled=bool(row.enabled), reply=dict(row.reply), variants=variants,
                match_count=int(row.match_count), last_matched_at=row.last_matched_at, _compiled=compiled)


def variants_json(variants: Iterable[Variant]) -> list[dict[str, Any]]:
    return [{"from": v.start.strftime("%H:%M"), "to": v.end.strftime("%H:%M"), "reply": v.reply} for v in variants]
