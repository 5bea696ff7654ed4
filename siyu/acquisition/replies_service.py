"""Saving reply rules and welcome messages (checked before stored), and answering with a reply.

An answer to an official-account push is rendered for the person (the sandboxed templates of
:mod:`siyu.messaging.templates`, with their profile and the push as ``event``) and goes back as
the passive reply when the platform allows one (text, image, news with one article); a mini-program
card (``miniprogrampage``) is queued as a customer-service message instead, due at once, keyed by
the push so a retry queues nothing twice. A WeCom welcome message is always queued (WeCom sends it
through ``send_welcome_msg``, :mod:`siyu.channels.wecom_welcome`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.acquisition import replies_store
from siyu.acquisition.replies import TRIGGERS, RepliesError, Rule, check_patterns, parse_variants, variants_json
from siyu.callbacks.hooks import InboundEvent, Reply, workspace_of
from siyu.channels.wecom_welcome import WELCOME_KEY
from siyu.messaging import outbox
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.render import render_for, signing_of

PLATFORMS = {"wechat": Channel.WECHAT_CS, "wecom": Channel.WECOM}
PASSIVE = ("text", "image", "news")
MAX_NAME = 100


def check_reply(raw: Any, where: str = "reply", channel: Channel = Channel.WECHAT_CS) -> dict[str, Any]:
    """A reply template in the channel's shape, compiled now (``messaging.invalid_template`` otherwise)."""
    if not isinstance(raw, dict) or not raw:
        raise RepliesError(f"'{where}' must be a message object, e.g. {{\"msgtype\": \"text\", \"text\": "
                           "{\"content\": \"…\"}}.", details={"field": where})
    if channel is Channel.WECHAT_CS and raw.get("msgtype") not in (*PASSIVE, "miniprogrampage"):
        raise RepliesError(f"'{where}.msgtype' must be one of text, image, news, miniprogrampage.",
                           details={"field": f"{where}.msgtype"})
    outbox.as_template(channel, Purpose.TRANSACTIONAL, raw)
    return raw


def rule_values(body: Any, current: Rule | None = None) -> dict[str, Any]:
    """The columns of a rule from an API / CLI body; with ``current``, a partial update."""
    if not isinstance(body, dict):
        raise RepliesError("The rule must be a JSON object.")
    base = current.as_dict() if current else {"trigger": "keyword", "match": "exact", "priority": 100,
                                              "enabled": True, "variants": []}
    merged = {**base, **{k: v for k, v in body.items() if v is not None}}
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise RepliesError(f"'name' must be 1-{MAX_NAME} characters.", details={"field": "name"})
    if merged["trigger"] not in TRIGGERS:
        raise RepliesError(f"'trigger' must be one of {', '.join(TRIGGERS)}.", details={"field": "trigger"})
    match = "exact" if merged["trigger"] == "menu" else merged["match"]
    priority = merged["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 1_000_000:
        raise RepliesError("'priority' must be a whole number 0-1000000 (lower answers first).",
                           details={"field": "priority"})
    if not isinstance(merged["enabled"], bool):
        raise RepliesError("'enabled' must be true or false.", details={"field": "enabled"})
    return {"name": name.strip(), "trigger": merged["trigger"], "match": match,
            "patterns": list(check_patterns(match, merged.get("patterns"))), "priority": priority,
            "enabled": merged["enabled"], "reply": check_reply(merged.get("reply")),
            "variants": variants_json(parse_variants(merged.get("variants"), check_reply))}


def save_rule(conn: Connection, workspace_id: int, body: Any, rule_id: int | None = None) -> Rule:
    if rule_id is None:
        return replies_store.create_rule(conn, workspace_id, rule_values(body), clock.now())
    current = replies_store.get_rule(conn, workspace_id, rule_id)
    return replies_store.update_rule(conn, workspace_id, rule_id, rule_values(body, current), clock.now())


def save_welcome(conn: Connection, workspace_id: int, platform: str, body: Any) -> dict[str, Any]:
    if platform not in PLATFORMS:
        raise RepliesError("The platform must be wechat or wecom.", code="replies.not_found", status=404)
    if not isinstance(body, dict):
        raise RepliesError("The welcome message must be a JSON object with 'content'.")
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RepliesError("'enabled' must be true or false.", details={"field": "enabled"})
    content = check_reply(body.get("content"), "content", PLATFORMS[platform])
    return replies_store.set_welcome(conn, workspace_id, platform, content, enabled, clock.now())


def answer(conn: Connection, event: InboundEvent, content: dict[str, Any], source: str,
           runtime: Any = None) -> Reply | None:
    """Render ``content`` for the event's person: the passive reply to give, or None when it was queued
    (a mini-program card, any WeCom message). ``source`` names who answered (``welcome``, ``reply:3``);
    with the ``runtime`` the content may call ``member_centre_link()`` and ``survey_link(id)`` — the
    survey link standing for this reply (the outbox key ``<source>:<event's messageId>`` it is queued
    under), so each welcome or keyword reply asks anew and a redelivered push gives the same link."""
    if event.profile_id is None:
        return None
    workspace = workspace_of(conn, event)
    channel = PLATFORMS[event.platform]
    rendered = render_for(conn, workspace, event.profile_id, channel, Purpose.TRANSACTIONAL, content,
                          event={"name": event.event_name, "properties": dict(event.fields), "timestamp": event.at},
                          signing=signing_of(runtime), send_key=outbox.message_key(source, event.message_id))
    payload = dict(rendered.payload)
    kind = payload.get("msgtype")
    if event.platform == "wechat" and kind in PASSIVE:
        block = payload.get(kind) or {}
        if kind == "text":
            return Reply("text", content=str(block.get("content", "")))
        if kind == "image":
            return Reply("image", media_id=str(block.get("media_id", "")))
        article = (block.get("articles") or [{}])[0]
        return Reply("news", title=str(article.get("title", "")), content=str(article.get("description", "")),
                     url=str(article.get("url", "")), pic_url=str(article.get("picurl", "")))
    if event.platform == "wecom":
        code = event.fields.get("WelcomeCode")
        if not code:
            return None  # WeCom gives no code when the customer and the member chatted already
        payload[WELCOME_KEY] = code
    outbox.queue(conn, event.workspace_id, profile_id=event.profile_id, channel=channel,
                 purpose=Purpose.TRANSACTIONAL, content=payload, now=clock.now(), source=source,
                 key=event.message_id, track_links=False)
    return None
