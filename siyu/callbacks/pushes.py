"""What each push means: the siyu event it becomes, with the person's identifiers and a dedupe key. Pure.

Official account (``platform="wechat"``, the push's ``Event`` lower-cased, or its ``MsgType``):

=========================  =====================  ==========================================================
kind                       event                  properties
=========================  =====================  ==========================================================
``subscribe``              ``Followed``           ``scene`` (EventKey without ``qrscene_``), ``ticket``
``scan``                   ``QR Scanned``         ``scene`` (EventKey), ``ticket``
``unsubscribe``            ``Unfollowed``
``click`` / ``view``       ``Menu Clicked`` /     ``key`` / ``url``, ``menu_id``
                           ``Menu Link Opened``
``location``               ``Location Reported``  ``latitude``, ``longitude``, ``precision``
``templatesendjobfinish``  ``Template Message     ``msg_id``, ``status`` (the receipt itself is applied by
                           Finished``             :mod:`siyu.callbacks.template_results`)
text, image, voice, video, ``Message Received``   ``msg_type``, ``msg_id``, ``content`` (the text, the link's
shortvideo, link,                                 URL, the place's label, the voice's recognition, the
location                                          picture's URL) and the type's own fields
=========================  =====================  ==========================================================

WeCom (``platform="wecom"``): ``change_external_contact`` by its ``ChangeType`` —
``add_external_contact`` and ``add_half_external_contact`` → ``WeCom Contact Added`` (``userid``: the
staff member, ``external_userid``, ``state``, ``welcome_code``), ``edit_external_contact`` → ``WeCom
Contact Edited``, ``del_external_contact`` → ``WeCom Contact Deleted`` (the staff member deleted the
customer), ``del_follow_user`` → ``WeCom Contact Removed Staff`` (the customer deleted the staff
member), ``transfer_fail`` → ``WeCom Transfer Failed``; ``change_external_chat`` as ``chat_`` +
``ChangeType`` — ``chat_create`` → ``Group Created``, ``chat_dismiss`` → ``Group Dismissed``,
``chat_update`` → one ``Group Member Joined`` / ``Group Member Left`` per member of
``MemChangeList`` (``join_scene`` / ``quit_scene``, ``mem_change_cnt``), or ``Group Updated`` for
other ``UpdateDetail`` values; messages from members to the app → ``Message Received``.

Identifiers: an official-account follower is ``wechat_openid:<appid>`` (``UnionId``, when the push
carries it, becomes ``wechat_unionid``); a WeCom customer ``wecom_external_userid:<corpid>``.
Group events carry ``chat_id``; a member that is a customer (external ids start ``wm`` / ``wo``)
is the person of their join / leave event, the group itself is nobody's.

Dedupe keys follow the platforms' advice (消息排重: "有msgid的消息推荐使用msgid排重。事件类型消息推荐
使用FromUserName + CreateTime排重"): ``MsgId`` for messages; for events FromUserName + CreateTime +
Event (+ ChangeType and the ids WeCom puts in the body, since its FromUserName is always ``sys``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.callbacks.errors import refused
from siyu.messaging.receipt_formats import ReceiptError, template_result

MAX_KEY = 128  # the dedupe table's limit on a messageId (event_dedupe.message_id)
MAX_TEXT = 2048  # properties keep at most this much of any one value
PLAUSIBLE = timedelta(days=1)  # a CreateTime further than this from now is not trusted as the event's time
MESSAGE_FIELDS: dict[str, dict[str, str]] = {  # MsgType -> {XML element: property}
    "text": {"Content": "content"},
    "image": {"PicUrl": "content", "MediaId": "media_id"},
    "voice": {"Recognition": "content", "MediaId": "media_id", "Format": "format"},
    "video": {"MediaId": "media_id", "ThumbMediaId": "thumb_media_id"},
    "shortvideo": {"MediaId": "media_id", "ThumbMediaId": "thumb_media_id"},
    "link": {"Url": "content", "Title": "title", "Description": "description"},
    "location": {"Label": "content", "Location_X": "latitude", "Location_Y": "longitude", "Scale": "scale"},
}
CONTACT_EVENTS = {"add_external_contact": "WeCom Contact Added", "add_half_external_contact": "WeCom Contact Added",
                  "edit_external_contact": "WeCom Contact Edited", "del_external_contact": "WeCom Contact Deleted",
                  "del_follow_user": "WeCom Contact Removed Staff", "transfer_fail": "WeCom Transfer Failed"}
EXTERNAL_PREFIXES = ("wm", "wo")


@dataclass(frozen=True)
class Push:
    """One siyu event a push becomes (a group change may become several)."""

    kind: str  # the hooks' kind
    name: str
    message_id: str
    at: datetime
    properties: dict[str, Any] = field(default_factory=dict)
    external_ids: tuple[tuple[str, str], ...] = ()  # (type, id)
    traits: dict[str, str] = field(default_factory=dict)  # identifying traits (wechat_unionid)


def _key(*parts: str) -> str:
    key = ":".join(parts)
    return key if len(key) <= MAX_KEY else f"{parts[0]}:{parts[1][:40]}:{hashlib.sha256(key.encode()).hexdigest()}"


def _at(fields: Mapping[str, str], now: datetime) -> datetime:
    created = fields.get("CreateTime", "")
    if created.isdigit():
        moment = datetime.fromtimestamp(int(created), UTC)
        if abs(moment - now) <= PLAUSIBLE:
            return moment
    return now


def _clip(properties: dict[str, Any]) -> dict[str, Any]:
    return {k: (v[:MAX_TEXT] if isinstance(v, str) else v) for k, v in properties.items() if v not in (None, "")}


def pushes_of(platform: str, receive_id: str, fields: Mapping[str, str], now: datetime) -> list[Push]:
    """The events of one push, or ``invalid`` when it is not one (no MsgType, no sender)."""
    msg_type = fields.get("MsgType", "").lower()
    sender = fields.get("FromUserName", "")
    if not msg_type or not sender:
        raise refused(platform, "invalid", "A push needs MsgType and FromUserName.")
    at = _at(fields, now)
    if msg_type != "event":
        return [_message(platform, receive_id, msg_type, fields, at)]
    if platform == "wechat":
        return [_wechat_event(receive_id, fields, at)]
    return _wecom_event(receive_id, fields, at)


def _person(platform: str, receive_id: str, sender: str) -> tuple[tuple[str, str], ...]:
    if platform == "wechat":
        return ((f"wechat_openid:{receive_id}", sender),)
    if sender.startswith(EXTERNAL_PREFIXES):
        return ((f"wecom_external_userid:{receive_id}", sender),)
    return ((f"wecom_user:{receive_id}", sender),)  # a member of the corp writing to the app


def _traits(fields: Mapping[str, str]) -> dict[str, str]:
    unionid = fields.get("UnionId") or fields.get("UnionID")
    return {"wechat_unionid": unionid} if unionid else {}


def _message(platform: str, receive_id: str, msg_type: str, fields: Mapping[str, str], at: datetime) -> Push:
    msg_id = fields.get("MsgId") or fields.get("MsgID") or ""
    sender = fields["FromUserName"]
    key = (_key(platform, receive_id, "msg", msg_id) if msg_id
           else _key(platform, receive_id, sender, fields.get("CreateTime", ""), msg_type))
    properties = {"msg_type": msg_type, "msg_id": msg_id,
                  **{prop: fields.get(tag) for tag, prop in MESSAGE_FIELDS.get(msg_type, {}).items()}}
    if platform == "wecom" and fields.get("AgentID"):
        properties["agent_id"] = fields["AgentID"]
        properties["userid"] = sender if not sender.startswith(EXTERNAL_PREFIXES) else None
    return Push(kind=msg_type, name="Message Received", message_id=key, at=at, properties=_clip(properties),
                external_ids=_person(platform, receive_id, sender), traits=_traits(fields))


WECHAT_EVENTS = {"subscribe": "Followed", "unsubscribe": "Unfollowed", "scan": "QR Scanned",
                 "click": "Menu Clicked", "view": "Menu Link Opened", "location": "Location Reported",
                 "templatesendjobfinish": "Template Message Finished"}


def _wechat_event(appid: str, fields: Mapping[str, str], at: datetime) -> Push:
    event = fields.get("Event", "").lower()
    sender = fields["FromUserName"]
    key = _key("wechat", appid, sender, fields.get("CreateTime", ""), event)
    event_key = fields.get("EventKey", "")
    properties: dict[str, Any]
    match event:
        case "subscribe":
            properties = {"scene": event_key.removeprefix("qrscene_") or None, "ticket": fields.get("Ticket")}
        case "scan":
            properties = {"scene": event_key, "ticket": fields.get("Ticket")}
        case "unsubscribe":
            properties = {}
        case "click":
            properties = {"key": event_key}
        case "view":
            properties = {"url": event_key, "menu_id": fields.get("MenuId") or fields.get("MenuID")}
        case "location":
            properties = {"latitude": fields.get("Latitude"), "longitude": fields.get("Longitude"),
                          "precision": fields.get("Precision")}
        case "templatesendjobfinish":
            try:
                result = template_result(dict(fields))
            except ReceiptError as error:
                raise refused("wechat", "invalid", error.message) from None
            properties = {"msg_id": result.msgid if result else None, "status": fields.get("Status")}
        case _:
            properties = {"event": fields.get("Event"), "key": event_key}
    return Push(kind=event or "event", name=WECHAT_EVENTS.get(event, "WeChat Event"), message_id=key, at=at,
                properties=_clip(properties), external_ids=_person("wechat", appid, sender), traits=_traits(fields))


def _wecom_event(corpid: str, fields: Mapping[str, str], at: datetime) -> list[Push]:
    event = fields.get("Event", "").lower()
    change = fields.get("ChangeType", "").lower()
    base = ("wecom", corpid, fields["FromUserName"], fields.get("CreateTime", ""), event, change)
    if event == "change_external_contact":
        external, userid = fields.get("ExternalUserID", ""), fields.get("UserID", "")
        properties: dict[str, Any] = {"userid": userid, "external_userid": external, "state": fields.get("State"),
                      "welcome_code": fields.get("WelcomeCode"), "source": fields.get("Source"),
                      "fail_reason": fields.get("FailReason")}
        if change == "add_half_external_contact":
            properties["half"] = True
        return [Push(kind=change or event, name=CONTACT_EVENTS.get(change, "WeCom Contact Changed"),
                     message_id=_key(*base, userid, external), at=at, properties=_clip(properties),
                     external_ids=((f"wecom_external_userid:{corpid}", external),) if external else ())]
    if event == "change_external_chat":
        return _chat(corpid, fields, at, base)
    sender = fields["FromUserName"]
    return [Push(kind=change or event or "event", name="WeCom Event", message_id=_key(*base), at=at,
                 properties=_clip({"event": fields.get("Event"), "change_type": fields.get("ChangeType"),
                                   "userid": fields.get("UserID"), "key": fields.get("EventKey")}),
                 external_ids=_person("wecom", corpid, sender))]


def _chat(corpid: str, fields: Mapping[str, str], at: datetime, base: tuple[str, ...]) -> list[Push]:
    change = fields.get("ChangeType", "").lower()
    chat_id = fields.get("ChatId", "")
    kind = f"chat_{change}"
    detail = fields.get("UpdateDetail", "")
    common = {"chat_id": chat_id, "update_detail": detail or None}
    if change == "create":
        return [Push(kind=kind, name="Group Created", message_id=_key(*base, chat_id), at=at, properties=_clip(common))]
    if change == "dismiss":
        return [Push(kind=kind, name="Group Dismissed", message_id=_key(*base, chat_id), at=at,
                     properties=_clip(common))]
    members = [m for m in (fields.get("MemChangeList") or fields.get("MemKeys") or "").split(",") if m]
    if detail in ("add_member", "del_member") and members:
        joined = detail == "add_member"
        scene = {"join_scene": fields.get("JoinScene")} if joined else {"quit_scene": fields.get("QuitScene")}
        return [Push(kind=kind, name="Group Member Joined" if joined else "Group Member Left",
                     message_id=_key(*base, chat_id, detail, member), at=at,
                     properties=_clip({**common, **scene, "member": member,
                                       "mem_change_cnt": fields.get("MemChangeCnt")}),
                     external_ids=((f"wecom_external_userid:{corpid}", member),)
                     if member.startswith(EXTERNAL_PREFIXES) else ())
                for member in members]
    return [Push(kind=kind, name="Group Updated", message_id=_key(*base, chat_id, detail), at=at,
                 properties=_clip(common))]
