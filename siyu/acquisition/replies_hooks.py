"""Keyword replies to inbound text messages and menu-click replies, as callback handlers.

They run after everything else (priority 200) and stand back when an earlier handler already chose
the passive reply. The answering rule's ``match_count`` is bumped in the callback's transaction, once
per rule per group of pushes (:func:`siyu.callbacks.hooks.tally`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.acquisition import replies_store
from siyu.acquisition.replies import first_match
from siyu.acquisition.replies_service import answer
from siyu.callbacks.hooks import InboundEvent, Outcome, register, tally, workspace_of

PRIORITY = 200
RULES_TTL = 2.0  # seconds a process keeps a workspace's rules; its own changes apply at once
_rules: dict[tuple[int, str], tuple[float, int, list[Any]]] = {}


def _enabled_rules(conn: Connection, workspace_id: int, trigger: str) -> list[Any]:
    """The enabled rules, kept briefly: every text message asks, and rules change rarely. A change made
    in this process (``replies_store.CHANGES``) is seen at once; one made elsewhere within RULES_TTL."""
    key = (workspace_id, trigger)
    cached = _rules.get(key)
    if cached and time.monotonic() - cached[0] < RULES_TTL and cached[1] == replies_store.CHANGES[0]:
        return cached[2]
    version = replies_store.CHANGES[0]
    rules = replies_store.enabled_rules(conn, workspace_id, trigger)
    _rules[key] = (time.monotonic(), version, rules)
    return rules


def _reply(conn: Connection, event: InboundEvent, outcome: Outcome, trigger: str, text: str,
           runtime: Any = None) -> None:
    if outcome.reply is not None or event.profile_id is None or not text:
        return
    rule = first_match(_enabled_rules(conn, event.workspace_id, trigger), text)
    if rule is None:
        return
    timezone = workspace_of(conn, event).timezone
    outcome.reply = answer(conn, event, rule.reply_at(clock.now(), timezone), f"reply:{rule.id}", runtime)
    outcome.notes["reply_rule"] = rule.id
    tally(conn, _write_matches, (event.workspace_id, rule.id))


def _write_matches(conn: Connection, matches: Mapping[tuple[int, int], int]) -> None:
    replies_store.count_matches(conn, matches, clock.now())


def keyword_reply(conn: Connection, runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
    _reply(conn, event, outcome, "keyword", event.fields.get("Content", ""), runtime)


def menu_reply(conn: Connection, runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
    _reply(conn, event, outcome, "menu", event.fields.get("EventKey", ""), runtime)


register("wechat", "text", keyword_reply, priority=PRIORITY)
register("wechat", "click", menu_reply, priority=PRIORITY)
