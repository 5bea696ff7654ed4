"""The default welcome message (欢迎语): an official-account follow is greeted with the passive reply
(or, for a mini-program card, a customer-service message through the outbox); a customer a WeCom
member added is greeted through ``send_welcome_msg`` with the push's ``WelcomeCode``, queued due at
once because WeCom honours the code for 20 seconds only.

The default stands back when an earlier handler decided already: a channel code's own welcome
message registers at a lower priority number (runs first) and sets ``outcome.reply`` or
``outcome.notes["welcome"]`` — usually by calling :func:`queue_welcome` itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu.acquisition import replies_store
from siyu.acquisition.replies_service import answer
from siyu.callbacks.hooks import InboundEvent, Outcome, Reply, register, tally

PRIORITY = 100  # the default; a channel code's welcome runs before it (a lower number)


def queue_welcome(conn: Connection, runtime: Any, event: InboundEvent, content: dict[str, Any],
                  outcome: Outcome | None = None, *, source: str = "welcome") -> Reply | None:
    """Greet the person of ``event`` (a ``subscribe`` or ``add_external_contact`` push) with ``content``.

    ``content`` is a message template in the platform's shape, personalised for the person
    (``{{ profile.traits.name }}``): for an official account WeChat's customer-service shape
    (``{"msgtype": "text", "text": {"content": …}}``; ``image``, ``news`` with one article,
    ``miniprogrampage``), for WeCom the welcome-message shape (``{"text": {"content": …},
    "attachments": [{"msgtype": "image" | "link" | "miniprogram", …}]}``). Returns the passive reply
    (text, image, news) — also set as ``outcome.reply`` when ``outcome`` is given — or None when the
    message was queued in the outbox (a mini-program card; every WeCom welcome, keyed by the push so
    a retry queues nothing twice). With ``outcome``, ``outcome.notes["welcome"]`` is set to ``source``
    either way, so the default welcome stands back. Call it inside the handler's transaction.
    """
    reply = answer(conn, event, content, source, runtime)
    if outcome is not None:
        outcome.notes["welcome"] = source
        if reply is not None and outcome.reply is None:
            outcome.reply = reply
    return reply


def welcome_by_default(conn: Connection, runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
    if outcome.reply is not None or outcome.notes.get("welcome"):
        return  # a channel code (or another earlier handler) greeted the person already
    welcome = replies_store.welcome_of(conn, event.workspace_id, event.platform)
    if welcome is None or not welcome["enabled"] or event.profile_id is None:
        return
    queue_welcome(conn, runtime, event, welcome["content"], outcome, source="welcome")
    tally(conn, replies_store.count_welcomes, (event.workspace_id, event.platform))


register("wechat", "subscribe", welcome_by_default, priority=PRIORITY)
register("wecom", "add_external_contact", welcome_by_default, priority=PRIORITY)
register("wecom", "add_half_external_contact", welcome_by_default, priority=PRIORITY)
