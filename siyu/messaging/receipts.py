"""What comes back after a send, written as events on the person and as the message's state.

Every outcome is an event in the one log, on the person the message went to (followed through
merges), so segments, journeys and reports see it like anything else the person did:

============================  =================================================================
``Message Sent``              the channel accepted it (SMTP 250, Aliyun ``OK``, WeChat errcode 0)
``Message Failed``            the channel refused it for good (SMTP 5xx, …) or dead-lettered it,
                              or a receipt says it never arrived (WeChat ``failed:user block``,
                              Aliyun ``success: false``); the message becomes ``failed``
``Message Delivered``         a delivery receipt (WeChat ``TEMPLATESENDJOBFINISH`` ``success``,
                              Aliyun ``success: true``); the first sets ``delivered_at``
``Email Opened``              the open pixel was fetched; the first sets ``opened_at``
``Link Clicked``              a tracked link was followed; the first sets ``clicked_at``
``Unsubscribed``              the unsubscribe link was used (and consent was not revoked already)
============================  =================================================================

Properties always name ``message_id``, ``channel`` and ``source`` (``broadcast:12``, ``journey:3``).
Providers repeat callbacks (WeChat up to 3 times, Aliyun after 1, 5 and 10 minutes; neither
promises to send one only once), so each receipt changes state through a guarded update and is
written as an event only by the call that changed it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.messaging import receipt_store, store
from siyu.messaging.models import Channel, Message, Status
from siyu.messaging.receipt_formats import SmsReport, TemplateResult
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.read_store import append_profile_events, resolve_profile_id

SENT, FAILED, DELIVERED = "Message Sent", "Message Failed", "Message Delivered"
OPENED, CLICKED, UNSUBSCRIBED = "Email Opened", "Link Clicked", "Unsubscribed"
EVENT_SOURCE = "messaging"


def record_event(conn: Connection, workspace_id: int, profile_id: int, name: str, properties: dict[str, Any],
                 now: datetime) -> bool:
    """Append ``name`` to the person's timeline; False when the person is gone (erased)."""
    try:
        live = resolve_profile_id(conn, workspace_id, profile_id)
    except ProfileNotFound:
        return False
    append_profile_events(conn, workspace_id, [(live, name, properties)], EVENT_SOURCE, now)
    return True


def about(message: Message, **more: Any) -> dict[str, Any]:
    """The properties every message event carries, and ``more`` (None values left out)."""
    return {"message_id": message.id, "channel": message.channel.value, "source": message.source,
            **{k: v for k, v in more.items() if v is not None}}


def record_sent(conn: Connection, message: Message, provider_id: str | None, now: datetime) -> None:
    record_event(conn, message.workspace_id, message.profile_id, SENT, about(message, provider_id=provider_id), now)


def record_failed(conn: Connection, message: Message, reason: str, detail: str, now: datetime) -> None:
    """After the channel's final refusal (the message is ``failed`` or ``dead`` already)."""
    record_event(conn, message.workspace_id, message.profile_id, FAILED,
                 about(message, reason=reason, detail=detail[:500]), now)


def record_delivered(conn: Connection, message: Message, now: datetime, **properties: Any) -> bool:
    """A receipt saying it arrived: the first sets ``delivered_at`` and is written as an event; an
    ``uncertain`` message (no answer when sent) is now known to be ``sent``."""
    if message.status is Status.UNCERTAIN:
        receipt_store.confirm_uncertain(conn, message, properties.get("provider_id"), now)
    if not receipt_store.mark_receipt(conn, message.workspace_id, message.id, "delivered_at", now):
        return False
    record_event(conn, message.workspace_id, message.profile_id, DELIVERED, about(message, **properties), now)
    return True


def record_undelivered(conn: Connection, message: Message, reason: str, detail: str, now: datetime,
                       **properties: Any) -> bool:
    """A receipt saying it never arrived: the message becomes ``failed`` with ``reason``, once."""
    if not receipt_store.fail_after_receipt(conn, message, reason, detail, now):
        return False
    record_event(conn, message.workspace_id, message.profile_id, FAILED,
                 about(message, reason=reason, detail=detail[:500], **properties), now)
    return True


def apply_template_result(conn: Connection, workspace_id: int, result: TemplateResult, now: datetime) -> bool:
    """WeChat's ``TEMPLATESENDJOBFINISH`` for the message whose ``provider_id`` is its MsgID (and whose
    openid it names); True when it changed something."""
    message = receipt_store.message_by_provider_id(conn, workspace_id, Channel.WECHAT_TEMPLATE, result.msgid)
    if message is None or (result.openid and (message.recipient or "").rpartition(":")[2] != result.openid):
        return False
    if result.delivered:
        return record_delivered(conn, message, now, provider_status=result.status)
    return record_undelivered(conn, message, result.reason, f"Status {result.status}", now,
                              provider_status=result.status)


def apply_sms_report(conn: Connection, workspace_id: int, report: SmsReport, now: datetime) -> bool:
    """Aliyun's status report for the message whose ``provider_id`` is its ``biz_id`` — or, for a
    message that got no answer when sent (``uncertain``, so no BizId), whose delivery key is its
    ``out_id`` (``<workspace>:<message>``)."""
    message = receipt_store.message_by_provider_id(conn, workspace_id, Channel.SMS, report.biz_id)
    if message is None and report.out_id:
        ws, _, message_id = report.out_id.partition(":")
        if ws == str(workspace_id) and message_id.isdigit():
            found = store.get(conn, workspace_id, int(message_id))
            message = found if found is not None and found.channel is Channel.SMS else None
    if message is None:
        return False
    facts = {"provider_id": report.biz_id, "provider_status": report.err_code or None,
             "report_time": report.report_time}
    if report.success:
        return record_delivered(conn, message, now, **facts)
    return record_undelivered(conn, message, "sms.undelivered", f"{report.err_code}: {report.err_msg}", now, **facts)
