"""Receiving one callback: find the workspace's settings, verify, decrypt, ingest, run the handlers, reply.

Everything the platform waits for happens in one write transaction — the ingest of the push's
events (deduped on their messageIds against the platform's retries, resolved to people) and the
handlers of the events seen for the first time, which only write decisions (outbox rows, counts).
Nothing here calls a platform: a send goes out through the outbox, so the reply comes well inside
WeChat's 5 seconds ("微信服务器在五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次").

Settings (``settings.channels``): ``wechat.token`` (+ ``appid``, and ``encoding_aes_key`` for
compatible / safe mode); ``wecom.callback_token``, ``wecom.encoding_aes_key`` and ``wecom.corpid``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from siyu import clock
from siyu.callbacks import hooks, wire
from siyu.callbacks.errors import refused
from siyu.callbacks.pushes import Push, pushes_of
from siyu.db.engine import read
from siyu.identity.rules import IdentityRules
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import Message
from siyu.workspaces import store as workspace_store
from siyu.workspaces.errors import WorkspaceNotFound
from siyu.workspaces.models import Workspace

SETTINGS = {"wechat": ("token", "appid"), "wecom": ("callback_token", "corpid")}
NO_REPLY = {"wechat": "success", "wecom": ""}  # WeChat: "success" stops retries; WeCom: an empty body


@dataclass(frozen=True)
class Answer:
    body: str
    content_type: str = "text/plain"
    events: int = 0  # events stored (0 for a retry of a push already received)


WORKSPACE_TTL = 2.0  # seconds a process keeps a workspace's row between pushes
_workspaces: dict[tuple[int, int], tuple[float, int, Workspace | None]] = {}


def _workspace(engine: Any, workspace_id: int) -> Workspace | None:
    """The workspace, kept briefly: every push needs its settings, and a busy account pushes thousands a
    second. A change made in this process (``workspace_store.CHANGES``) is seen at once; one made in
    another process within WORKSPACE_TTL (a changed token refuses pushes signed with the old one from then)."""
    key = (id(engine), workspace_id)
    cached = _workspaces.get(key)
    if cached and time.monotonic() - cached[0] < WORKSPACE_TTL and cached[1] == workspace_store.CHANGES[0]:
        return cached[2]
    version = workspace_store.CHANGES[0]
    try:
        with read(engine) as conn:
            workspace = workspace_store.get_workspace(conn, workspace_id)
    except WorkspaceNotFound:
        workspace = None
    if len(_workspaces) > 10_000:
        _workspaces.clear()
    _workspaces[key] = (time.monotonic(), version, workspace)
    return workspace


def endpoint_of(engine: Any, workspace_id: int, platform: str) -> tuple[Workspace, wire.Endpoint]:
    """The workspace and its callback settings, or ``not_configured`` (also for an unknown workspace)."""
    workspace = _workspace(engine, workspace_id)
    token_key, id_key = SETTINGS[platform]
    config = (((workspace.settings or {}).get("channels") or {}).get(platform) if workspace else None) or {}
    config = config if isinstance(config, dict) else {}
    token, receive_id, aes_key = config.get(token_key), config.get(id_key), config.get("encoding_aes_key")
    if workspace is None or not (isinstance(token, str) and token and isinstance(receive_id, str) and receive_id):
        raise refused(platform, "not_configured", "No callbacks are set up at this address "
                      f"(settings.channels.{platform}.{token_key} and .{id_key}).")
    if aes_key is not None and aes_key != "" and not wire.valid_aes_key(aes_key):
        raise refused(platform, "not_configured", f"settings.channels.{platform}.encoding_aes_key is not a valid "
                      "EncodingAESKey (43 characters).")
    return workspace, wire.Endpoint(platform, token, aes_key or None, receive_id)


def verify_url(engine: Any, workspace_id: int, platform: str, query: Mapping[str, str]) -> str:
    """The answer to the platform's server-URL check: WeChat's ``echostr`` as it came, WeCom's decrypted."""
    _, endpoint = endpoint_of(engine, workspace_id, platform)
    timestamp, nonce, echostr = query.get("timestamp", ""), query.get("nonce", ""), query.get("echostr", "")
    wire.check_fresh(platform, timestamp, clock.now())
    if len(echostr) > wire.MAX_ECHOSTR:
        raise refused(platform, "invalid", "echostr is too long.")
    if platform == "wechat":
        wire.check_signature(endpoint, query.get("signature", ""), timestamp, nonce)
        return echostr
    wire.check_signature(endpoint, query.get("msg_signature", ""), timestamp, nonce, echostr)
    return wire.decrypt(endpoint, echostr)


def open_push(endpoint: wire.Endpoint, query: Mapping[str, str], body: bytes) -> tuple[dict[str, str], bool]:
    """The push's fields, checked and decrypted, and whether it came encrypted (the reply is then too)."""
    platform = endpoint.platform
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    wire.check_fresh(platform, timestamp, clock.now())
    if platform == "wechat":  # every official-account request carries the plain signature
        wire.check_signature(endpoint, query.get("signature", ""), timestamp, nonce)
    fields = wire.fields_of(platform, body)
    ciphertext = fields.get("Encrypt")
    if platform == "wechat" and (ciphertext is None or ("MsgType" in fields and not endpoint.aes_key)):
        return fields, False  # plaintext mode, or compatible mode read as plaintext
    if ciphertext is None:
        raise refused(platform, "invalid", "A WeCom push carries <Encrypt>.")
    endpoint.key()  # ``encrypted`` when no key is set up
    wire.check_signature(endpoint, query.get("msg_signature", ""), timestamp, nonce, ciphertext)
    return wire.fields_of(platform, wire.decrypt(endpoint, ciphertext).encode()), True


def _message(platform: str, push: Push) -> Message:
    context: dict[str, Any] = {"externalIds": [{"type": t, "id": i} for t, i in push.external_ids]}
    if push.traits:
        context["traits"] = dict(push.traits)
    return Message(type="track", message_id=push.message_id, name=push.name, timestamp=push.at,
                   received_at=clock.now(), properties=push.properties, context=context, source=f"{platform}_callback")


@dataclass(frozen=True)
class Opened:
    """One POST, checked and read: what the transactional part needs, and what the reply needs."""

    workspace: Workspace
    endpoint: wire.Endpoint
    fields: dict[str, str]
    encrypted: bool  # the reply is encrypted too
    nonce: str
    pushes: list[Push]
    messages: list[Message]
    at: datetime


@dataclass(frozen=True)
class Stored:
    events: int  # events this POST stored (0 for a retry of a push already received)
    reply: hooks.Reply | None


def open_callback(runtime: Any, workspace_id: int, platform: str, query: Mapping[str, str],
                  body: bytes) -> Opened:
    """Verify and read one POST from the platform, before anything is written: a forged or stale push
    is refused here. No write, and at most a cached read of the workspace."""
    workspace, endpoint = endpoint_of(runtime.engine, workspace_id, platform)
    fields, encrypted = open_push(endpoint, query, body)
    now = clock.now()
    pushes = pushes_of(platform, endpoint.receive_id, fields, now)
    return Opened(workspace, endpoint, fields, encrypted, query.get("nonce", "") or "siyu", pushes,
                  [_message(platform, push) for push in pushes], now)


def store_group(conn: Any, runtime: Any, group: list[Opened]) -> list[Stored]:
    """Ingest every push of ``group`` and run the handlers of those seen for the first time, in order.

    The group's events are ingested in one batch per workspace (resolved in the order they came, as
    one by one, for a fraction of the statements), then each first-seen push is handed to its
    handlers. A push the platform retried while its first delivery was still in the group is
    ingested once and handled once: the first carrier of a messageId owns it."""
    try:
        stored = _store_group(conn, runtime, group)
    except BaseException:
        hooks.drop_tallies(conn)
        raise
    hooks.flush_tallies(conn)
    return stored


def _store_group(conn: Any, runtime: Any, group: list[Opened]) -> list[Stored]:
    by_workspace: dict[int, list[Opened]] = {}
    for opened in group:
        by_workspace.setdefault(opened.workspace.id, []).append(opened)
    fresh: dict[str, int | None] = {}
    for workspace_id, items in by_workspace.items():
        workspace = items[0].workspace
        result = ingest(conn, workspace_id, [m for opened in items for m in opened.messages],
                        rules=IdentityRules.from_settings(workspace.settings), region=workspace.default_region,
                        dedupe_window=timedelta(hours=runtime.config.dedupe_window_hours))
        fresh.update(result.profile_ids)
    stored = []
    for opened in group:
        reply: hooks.Reply | None = None
        events = 0
        for push in opened.pushes:
            if push.message_id not in fresh:
                continue  # a retry of a push already received (or owned by an earlier carrier)
            profile_id = fresh.pop(push.message_id)
            events += 1
            platform = opened.endpoint.platform
            event = hooks.InboundEvent(workspace_id=opened.workspace.id, platform=platform, kind=push.kind,
                                       fields=opened.fields, at=push.at, profile_id=profile_id,
                                       event_name=push.name, message_id=push.message_id, workspace=opened.workspace)
            outcome = hooks.dispatch(conn, runtime, event, in_group=True)
            reply = reply or outcome.reply
        stored.append(Stored(events, reply))
    return stored


def answer_of(opened: Opened, stored: Stored) -> Answer:
    """What to answer the platform: the passive reply (encrypted when the push was), or the
    acknowledgement that stops its retries."""
    platform = opened.endpoint.platform
    if stored.reply is None or platform != "wechat":
        return Answer(NO_REPLY[platform], events=stored.events)
    stamp = int(opened.at.timestamp())
    xml = wire.reply_xml(opened.fields.get("FromUserName", ""), opened.fields.get("ToUserName", ""), stored.reply,
                         stamp)
    if opened.encrypted:
        xml = wire.encrypt_reply(opened.endpoint, xml, opened.nonce, str(stamp))
    return Answer(xml, "application/xml", events=stored.events)
