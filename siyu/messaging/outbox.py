"""Queueing a message: validate what the caller asks for, write the outbox row, nothing else.

The contact policy is not applied here but by the delivery worker just before sending, because
caps and cooldowns depend on what has gone out by then; :func:`check` answers "would it go now?"
for previews without queueing anything.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.channels import sms, wechat, wecom
from siyu.errors import SiyuError
from siyu.messaging import policies, store
from siyu.messaging.links import TRACK_KEY
from siyu.messaging.models import Channel, Facts, Message, Purpose, Verdict
from siyu.profiles.read_store import resolve_profile_id
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Workspace

AVAILABLE = (Channel.EMAIL, Channel.WEBHOOK, Channel.SMS, Channel.WECHAT_TEMPLATE,  # channels with an adapter
             Channel.WECHAT_CS, Channel.WECHAT_SUBSCRIBE, Channel.WECOM)
MAX_KEY = 150
TEMPLATE_KEY = "$template"  # a payload holding a template, rendered for the person when it is sent
# Contact-policy overrides (caps, cooldown) a journey sets for its messages; taken out of the payload
# when the policy first decides, so channels never see it (a retry after a channel failure is
# decided under the workspace's policy).
POLICY_KEY = "$policy"


class MessagingError(SiyuError):
    code = "messaging.invalid"
    status = 422


def validate_content(channel: Channel, content: Any) -> dict[str, Any]:
    if channel not in AVAILABLE:
        raise MessagingError(f"Sending by {channel.value} is not available yet; available: "
                             f"{', '.join(c.value for c in AVAILABLE)}.", code="messaging.channel_unavailable",
                             details={"channel": channel.value})
    if not isinstance(content, dict) or not content:
        raise MessagingError("'content' must be a non-empty object.", details={"field": "content"})
    if channel is Channel.EMAIL:
        if not isinstance(content.get("subject"), str) or not content["subject"].strip():
            raise MessagingError("An e-mail needs a 'subject'.", details={"field": "content.subject"})
        if not any(isinstance(content.get(k), str) and content[k].strip() for k in ("text", "html")):
            raise MessagingError("An e-mail needs 'text' or 'html'.", details={"field": "content.text"})
        if len(content["subject"]) > 998:
            raise MessagingError("The subject is longer than 998 characters.", details={"field": "content.subject"})
    problem = None
    if channel is Channel.SMS:
        problem = sms.payload_problem(content)
    elif channel is Channel.WECHAT_TEMPLATE:
        problem = wechat.payload_problem(wechat.TEMPLATE, content)
    elif channel is Channel.WECHAT_CS:
        problem = wechat.payload_problem(wechat.CUSTOMER_SERVICE, content)
    elif channel is Channel.WECHAT_SUBSCRIBE:
        from siyu.messaging.template_payloads import subscribe_value_problem

        problem = wechat.payload_problem(wechat.SUBSCRIBE, content) or subscribe_value_problem(content["data"])
    elif channel is Channel.WECOM:
        problem = wecom.payload_problem(content)
    if problem is not None:
        raise MessagingError(f"content.{problem[0]}: {problem[1]}.", details={"field": f"content.{problem[0]}"})
    return content


def as_template(channel: Channel, purpose: Purpose, template: Any) -> dict[str, Any]:
    """A template payload, checked now (a template that doesn't compile is refused with the field,
    line and reason); it is rendered for the person at send time, with their latest profile."""
    from siyu.messaging.template_models import MessageTemplate
    from siyu.messaging.templates import validate_template

    if channel not in AVAILABLE:
        validate_content(channel, {})  # the same refusal as for plain content
    if not isinstance(template, dict) or not template:
        raise MessagingError("'template' must be a non-empty object.", details={"field": "template"})
    validate_template(MessageTemplate(channel, template, purpose))
    return {TEMPLATE_KEY: template}


def payload_of(channel: Channel, purpose: Purpose, content: dict[str, Any] | None,
               template: dict[str, Any] | None) -> dict[str, Any]:
    """The payload to store for exactly one of ``content`` (checked for the channel) and ``template``."""
    if (content is None) == (template is None):
        raise MessagingError("Give either 'content' or 'template'.", details={"field": "content"})
    return as_template(channel, purpose, template) if template is not None else validate_content(channel, content)


def message_key(source: str, key: str) -> str:
    """The idempotency key a message queued by ``source`` under the caller's ``key`` is stored with
    (what a render names as its send, :func:`siyu.messaging.render.render_for`'s ``send_key``)."""
    return f"{source}:{key}"


def queue(conn: Connection, workspace_id: int, *, profile_id: int, channel: Channel, purpose: Purpose,
          content: dict[str, Any] | None, now: datetime, source: str = "api", key: str | None = None,
          send_at: datetime | None = None, template: dict[str, Any] | None = None,
          policy: dict[str, Any] | None = None, track_links: bool = True) -> tuple[Message, bool]:
    """Queue once per ``key``: the same key again returns the first message (and ``False``).
    Either ``content`` (sent as it is) or ``template`` (rendered for the person when sent);
    ``policy`` overrides the workspace's caps and cooldown for this message; ``track_links=False``
    sends its links as they are, without an open pixel (:mod:`siyu.messaging.tracking`)."""
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise MessagingError(f"'idempotency_key' must be 1-{MAX_KEY} characters.",
                             details={"field": "idempotency_key"})
    payload = payload_of(channel, purpose, content, template)
    if policy:
        payload = {**payload, POLICY_KEY: policy}
    if not track_links:
        payload = {**payload, TRACK_KEY: False}
    live = resolve_profile_id(conn, workspace_id, profile_id)
    return store.enqueue(conn, workspace_id, profile_id=live, channel=channel, purpose=purpose, source=source,
                         key=message_key(source, key or str(uuid.uuid4())), payload=payload,
                         due_at=max(send_at, now) if send_at else now, now=now)


def decide_now(conn: Connection, workspace: Workspace, profile_id: int, channel: Channel, purpose: Purpose,
               now: datetime, *, excluding: int | None = None,
               overrides: dict[str, Any] | None = None) -> tuple[Verdict, Facts]:
    """The contact policy's verdict for a live profile, and the facts it read: the one place that
    gathers the policy's inputs (the delivery worker, :func:`check` and broadcast previews).
    ``overrides`` are a message's own caps and cooldown (:data:`POLICY_KEY`)."""
    settings = policies.settings_from((workspace.settings or {}).get("messaging"), workspace.timezone, overrides)
    facts = store.facts(conn, workspace.id, profile_id, channel, now, excluding=excluding,
                        scope=store.sending_scope(workspace.settings, channel))
    return policies.decide(channel, purpose, facts, settings, now), facts


def check(conn: Connection, workspace_id: int, *, profile_id: int, channel: Channel, purpose: Purpose,
          now: datetime) -> tuple[Verdict, str | None]:
    """What the contact policy would decide right now, and the address it would use."""
    workspace = workspace_store.get_workspace(conn, workspace_id)
    verdict, facts = decide_now(conn, workspace, resolve_profile_id(conn, workspace_id, profile_id), channel,
                                purpose, now)
    return verdict, facts.address
