"""Reading WeCom's group detail and reconciling it with the members siyu keeps. Pure.

``groupchat/get`` (developer.work.weixin.qq.com path/92122) answers the group as it is now: name,
owner, and every current member with ``join_time``, ``join_scene`` and, when a member of the
company invited them, ``invitor.userid`` — WeCom names no inviter when a customer invited another
customer, so invite counts are counts per inviting member of staff. The reconciliation compares that
with the open stints: someone listed without an open stint joined; an open stint with a different
join time is a leave-and-rejoin siyu missed (the old stint closes, a new one opens); an open stint
no longer listed ended (left; why, only the change event knew).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from siyu.groups.models import DetailMember, GroupDetail, JoinScene, MemberType, Stint

JOIN_SCENES = {1: JoinScene.INVITED, 2: JoinScene.LINK, 3: JoinScene.QR}


def _instant(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(int(value), UTC)
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def parse_detail(answer: dict[str, Any], fallback_joined_at: datetime) -> GroupDetail:
    """The ``group_chat`` of a groupchat/get answer. A member without a usable ``join_time`` is
    taken as joined at ``fallback_joined_at`` (the time of the sync)."""
    chat = answer.get("group_chat") or {}
    members = []
    for raw in chat.get("member_list") or []:
        userid = _text(raw.get("userid")) if isinstance(raw, dict) else None
        if userid is None:
            continue
        invitor = raw.get("invitor")
        members.append(DetailMember(
            userid=userid,
            member_type=MemberType.STAFF if raw.get("type") == 1 else MemberType.EXTERNAL,
            joined_at=_instant(raw.get("join_time")) or fallback_joined_at,
            join_scene=JOIN_SCENES.get(raw.get("join_scene"), JoinScene.UNKNOWN),  # type: ignore[arg-type]
            invitor_userid=_text(invitor.get("userid")) if isinstance(invitor, dict) else None,
            unionid=_text(raw.get("unionid")),
            name=_text(raw.get("name")),
            group_nickname=_text(raw.get("group_nickname"))))
    return GroupDetail(chat_id=str(chat.get("chat_id") or ""), name=str(chat.get("name") or ""),
                       owner_userid=str(chat.get("owner") or ""), notice=str(chat.get("notice") or ""),
                       created_at=_instant(chat.get("create_time")), member_version=_text(chat.get("member_version")),
                       members=members)


@dataclass
class Reconciliation:
    joined: list[DetailMember] = field(default_factory=list)  # new stints to open
    still_in: list[tuple[Stint, DetailMember]] = field(default_factory=list)  # open stints to refresh
    ended: list[Stint] = field(default_factory=list)  # open stints to close


def reconcile(open_stints: list[Stint], detail: GroupDetail) -> Reconciliation:
    """What the stored open stints need to match ``detail`` (see the module docstring)."""
    result = Reconciliation()
    listed = {member.userid: member for member in detail.members}
    for stint in open_stints:
        member = listed.get(stint.userid)
        if member is None:
            result.ended.append(stint)
        elif member.joined_at != stint.joined_at:
            result.ended.append(stint)
            result.joined.append(member)
        else:
            result.still_in.append((stint, member))
    opened = {stint.userid for stint in open_stints}
    result.joined.extend(member for member in detail.members if member.userid not in opened)
    return result
