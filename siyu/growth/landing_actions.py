"""The buttons of a campaign's page for a known visitor: join (my share link and poster), accept an
invitation, help, join a friend's group, claim a split share, cut a bargain, check in, leave the group.

Each button is a POST form carrying one signed token (itsdangerous, the workspace's visitor key):
``{campaign, profile, action, ref, key, exp}``. It is the CSRF guard — a token is only rendered into
the visitor's own page, names their profile (checked against their cookie, which is ``SameSite=Lax``
and so not sent by another site's POST) and expires — and it carries the press's idempotency key: the
press is written before it acts (:mod:`siyu.growth.landing_store`), so a resent POST shows the first
answer and does nothing twice. The actions call the same service functions as ``/api/campaigns``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection

from siyu.growth import landing_store, rewards_store, service, store
from siyu.growth.errors import CampaignError
from siyu.growth.models import Campaign, CampaignKind, Credit, CreditStatus, RewardStatus
from siyu.growth.take_back import join_credit

FORM_SALT = "siyu.campaign-action"
FORM_HOURS = 12  # a page left open overnight asks for a reload rather than acting on stale buttons


class Action(StrEnum):
    JOIN = "join"
    INVITE = "invite"  # accept a friend's invitation (referral, task unlock, leaderboard)
    HELP = "help"  # assist, or a bargain's cut
    JOIN_GROUP = "join_group"
    CLAIM = "claim"  # a split coupon's share
    CHECK_IN = "check_in"
    LEAVE = "leave"


FRIEND_ACTION = {CampaignKind.REFERRAL: Action.INVITE, CampaignKind.TASK_UNLOCK: Action.INVITE,
                 CampaignKind.LEADERBOARD: Action.INVITE, CampaignKind.ASSIST: Action.HELP,
                 CampaignKind.BARGAIN: Action.HELP, CampaignKind.GROUP_BUY: Action.JOIN_GROUP,
                 CampaignKind.SPLIT_COUPON: Action.CLAIM}


def offered(kind: CampaignKind, *, joined: bool, friend_link: bool, in_a_group: bool) -> list[Action]:
    """The buttons for a visitor (pure): the friend's action on someone else's link, joining (unless
    joined), leaving a group buy they are a member of; a check-in campaign has only its check-in."""
    if kind is CampaignKind.CHECK_IN:
        return [Action.CHECK_IN]
    actions = [FRIEND_ACTION[kind]] if friend_link else []
    if not joined:
        actions.append(Action.JOIN)
    if kind is CampaignKind.GROUP_BUY and in_a_group:
        actions.append(Action.LEAVE)
    return actions


@dataclass(frozen=True)
class Press:
    action: Action
    ref: str | None
    key: str


def form_token(secret: str, *, campaign_id: int, profile_id: int, action: Action, ref: str | None,
               now: datetime) -> str:
    expires = int((now + timedelta(hours=FORM_HOURS)).timestamp())
    return URLSafeSerializer(secret, salt=FORM_SALT).dumps(
        {"c": campaign_id, "p": profile_id, "a": action.value, "r": ref, "k": secrets.token_hex(16), "exp": expires})


def read_form(secret: str, token: str, *, campaign_id: int, profile_id: int, now: datetime) -> Press | None:
    """The press a token stands for, if it was made for this campaign and this visitor and is fresh."""
    try:
        data = URLSafeSerializer(secret, salt=FORM_SALT).loads(token[:2000])
        press = Press(Action(data["a"]), data["r"] or None, str(data["k"]))
        fits = int(data["c"]) == campaign_id and int(data["p"]) == profile_id
        fresh = now.timestamp() < int(data["exp"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return press if fits and fresh else None


def press_button(conn: Connection, workspace_id: int, campaign: Campaign, press: Press, profile_id: int, *,
                 ip: str | None, today: date, now: datetime) -> dict[str, Any]:
    """Do the press once (see the module docstring); the answer the page shows: ``{"ok", "code", …}``."""
    action_id, first = landing_store.start_action(conn, workspace_id, key=press.key, campaign_id=campaign.id,
                                                  profile_id=profile_id, action=press.action.value, now=now)
    if first is not None:
        return first
    try:
        with conn.begin_nested():  # a refusal undoes only the action's own writes, not the press's row
            result = _act(conn, workspace_id, campaign, press, profile_id, ip=ip, today=today, now=now)
    except CampaignError as error:
        reason = (error.details or {}).get("reason")
        result = {"ok": False, "code": str(reason or error.code.removeprefix("campaigns."))}
    landing_store.finish_action(conn, workspace_id, action_id, result)
    return result


def _act(conn: Connection, workspace_id: int, campaign: Campaign, press: Press, profile_id: int, *,
         ip: str | None, today: date, now: datetime) -> dict[str, Any]:
    match press.action:
        case Action.JOIN:
            service.join(conn, workspace_id, campaign.id, profile_id, now)
            return {"ok": True, "code": "joined"}
        case Action.CHECK_IN:
            done = service.check_in(conn, workspace_id, campaign.id, profile_id, today=today, make_up_day=None,
                                    now=now)
            return {"ok": True, "code": "checked_in", "streak": done["streak"]}
        case Action.LEAVE:
            service.leave(conn, workspace_id, campaign.id, profile_id, now)
            return {"ok": True, "code": "left"}
        case Action.INVITE | Action.HELP | Action.JOIN_GROUP | Action.CLAIM:
            if press.ref is None:
                return {"ok": False, "code": "unknown_ref"}
            before = my_credit(conn, workspace_id, campaign.id, profile_id)
            arrival = service.Arrival(ref=press.ref, profile_id=profile_id, ip=ip)
            record = {Action.INVITE: service.record_invite, Action.HELP: service.record_help,
                      Action.JOIN_GROUP: service.record_join, Action.CLAIM: service.record_join}[press.action]
            credit_row = record(conn, workspace_id, campaign.id, arrival, now)
            if before is not None:
                return {"ok": False, "code": "already"}
            return _credit_result(conn, workspace_id, press.action, credit_row)
    raise AssertionError(press.action)  # every Action is matched above


def my_credit(conn: Connection, workspace_id: int, campaign_id: int, profile_id: int) -> Credit | None:
    found = [c for c in store.credits_of_profile(conn, workspace_id, profile_id, tuple(CreditStatus))
             if c.campaign_id == campaign_id]
    return found[0] if found else None


def _credit_result(conn: Connection, workspace_id: int, action: Action, credit_row: Credit) -> dict[str, Any]:
    """What the friend's credit means to the friend: done, waiting, held for review, or refused and why."""
    reasons = [r.get("code") for r in (credit_row.reasons or []) if isinstance(r, dict)]
    match credit_row.status:
        case CreditStatus.CREDITED:
            refused = [r for r in rewards_store.rewards_of_credit(conn, workspace_id, credit_row.id)
                       if r.status is RewardStatus.REFUSED and r.profile_id == credit_row.profile_id]
            if refused:
                return {"ok": False, "code": _plain(refused[0].error_code or "refused")}
            return {"ok": True, "code": {Action.INVITE: "invited", Action.HELP: "helped",
                                         Action.JOIN_GROUP: "joined_group", Action.CLAIM: "claimed"}[action]}
        case CreditStatus.PENDING:
            return {"ok": True, "code": "pending"}
        case CreditStatus.HELD:
            return {"ok": True, "code": "held"}
        case CreditStatus.DENIED | CreditStatus.EXPIRED | CreditStatus.REVOKED:
            code = next((c for c in reversed(reasons) if c), None) if credit_row.status is not CreditStatus.DENIED \
                else next((c for c in reasons if c in ("self_invite", "invite_cycle", "not_new_customer")), "denied")
            return {"ok": False, "code": code or credit_row.status.value}
    return {"ok": False, "code": credit_row.status.value}


def _plain(error_code: str) -> str:
    """``offers.out_of_stock`` / ``campaigns.stock_gone`` → the page's word for it."""
    return {"offers.out_of_stock": "out_of_stock", "campaigns.stock_gone": "out_of_stock",
            "campaigns.budget_spent": "budget_spent", "offers.budget_spent": "budget_spent",
            "offers.limit_reached": "limit_reached"}.get(error_code, "refused")


def my_group(conn: Connection, workspace_id: int, campaign: Campaign, profile_id: int) -> bool:
    """A member (not the leader) of an open group in this campaign: the one who may leave."""
    credit_row = join_credit(conn, workspace_id, campaign.id, profile_id)
    return credit_row is not None and credit_row.status is CreditStatus.CREDITED


TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "button": {"join": "立即参与，获取我的分享链接", "invite": "接受好友邀请", "help": "为好友助力",
                   "cut": "帮好友砍一刀", "join_group": "参加好友的拼团", "claim": "领取我的一份",
                   "check_in": "今日签到", "leave": "退出拼团"},
        "result": {"joined": "参与成功！把下面的链接或海报分享给好友吧。", "invited": "已接受邀请。",
                   "pending": "邀请已记录，完成活动要求后双方获得奖励。", "helped": "助力成功，谢谢你！",
                   "joined_group": "已参加拼团。", "claimed": "领取成功，优惠券已放入你的账户。",
                   "checked_in": "签到成功，已连续签到 {streak} 天。", "left": "你已退出拼团，名额已释放。",
                   "held": "已提交，正在审核中。", "already": "你已经参与过了，每人限一次。",
                   "already_helped": "你已经助力过了。", "not_new_customer": "本活动仅限新客户参与。",
                   "self_invite": "不能为自己助力或邀请自己。", "invite_cycle": "你们之间已有邀请关系，本次不计入。",
                   "denied": "本次参与未通过风控审核。", "not_open": "拼团已满员或已结束。",
                   "already_member": "你已在这个团里了。", "expired": "已超过截止时间。",
                   "target_reached": "已经砍到底价啦，无需再砍。", "all_claimed": "手慢了，红包已被领完。",
                   "out_of_stock": "奖品已发完（库存不足）。", "budget_spent": "活动预算已用完。",
                   "limit_reached": "你已达到领取上限。", "not_live": "活动未开始或已结束。",
                   "leader_cannot_leave": "团长不能退出自己的团。", "not_member": "你不在一个未成团的拼团中。",
                   "already_checked_in": "今天已经签到过了。", "unknown_ref": "分享链接无效。",
                   "wrong_kind": "本活动不支持此操作。", "refused": "操作未成功。",
                   "left_group_buy": "你已退出过这个拼团，本活动内不能再参团。",
                   "unfollowed": "你已取消关注，本次参与已被收回。", "left_group": "你已退群，本次参与已被收回。",
                   "in_progress": "正在处理，请稍候刷新。"},
        "open_in_wechat": "请在微信中打开本页面参与活动。",
        "not_set_up": "本活动暂未开通微信授权，请联系主办方。",
        "authorise": "需要微信授权后才能参与活动。", "authorise_again": "重新授权",
        "mine": "我的参与", "share": "我的分享链接", "poster": "我的海报",
        "signed_in": "已通过微信识别身份", "bad_form": "页面已过期，请刷新后再试。",
        "oauth_failed": "微信授权失败（授权码无效或已使用），请重新打开活动页面。",
        "oauth_unavailable": "暂时无法通过微信识别身份，请稍后再试。",
    },
    "en": {
        "button": {"join": "Take part (get my share link)", "invite": "Accept the invitation",
                   "help": "Help my friend", "cut": "Cut the price for my friend",
                   "join_group": "Join my friend's group",
                   "claim": "Claim my share", "check_in": "Check in today", "leave": "Leave the group"},
        "result": {"joined": "You're in! Share the link or poster below with friends.",
                   "invited": "Invitation accepted.",
                   "pending": "Invitation recorded: you are both rewarded once the requirement is met.",
                   "helped": "Thanks for helping!", "joined_group": "You joined the group.",
                   "claimed": "Claimed: the coupon is in your account.",
                   "checked_in": "Checked in: {streak} days in a row.",
                   "left": "You left the group; your place is free for someone else.",
                   "held": "Submitted: under review.", "already": "You have taken part already (once per person).",
                   "already_helped": "You have helped already.",
                   "not_new_customer": "Not eligible: this campaign is for new customers only.",
                   "self_invite": "You cannot help or invite yourself.",
                   "invite_cycle": "You two are already linked by an invitation; this one does not count.",
                   "denied": "Not eligible: the risk check refused this.",
                   "not_open": "The group is full or closed.", "already_member": "You are in this group already.",
                   "expired": "Too late: the deadline has passed.",
                   "target_reached": "The price is already at its lowest.",
                   "all_claimed": "Too late: every share has been claimed.",
                   "out_of_stock": "Out of stock: the rewards are all gone.",
                   "budget_spent": "The campaign's budget is spent.",
                   "limit_reached": "You have reached the limit for this reward.",
                   "not_live": "The campaign is not running now (not started or ended).",
                   "leader_cannot_leave": "The leader cannot leave their own group.",
                   "not_member": "You are not in an open group.", "already_checked_in": "You have checked in today.",
                   "unknown_ref": "This share link is not valid.", "wrong_kind": "This campaign has no such action.",
                   "refused": "That did not work.", "in_progress": "Still working on it; reload in a moment.",
                   "left_group_buy": "You left a group in this campaign and cannot join another.",
                   "unfollowed": "You unfollowed the account, so this was taken back.",
                   "left_group": "You left the group chat, so this was taken back."},
        "open_in_wechat": "Open this page in WeChat to take part.",
        "not_set_up": "WeChat sign-in is not set up for this campaign yet; please contact the organiser.",
        "authorise": "Allow WeChat to identify you to take part.", "authorise_again": "Try again",
        "mine": "My participation", "share": "My share link", "poster": "My poster",
        "signed_in": "Identified through WeChat", "bad_form": "This page has expired; reload it and try again.",
        "oauth_failed": "WeChat sign-in failed (the code was invalid or used); please open the campaign page again.",
        "oauth_unavailable": "WeChat sign-in is not available right now; please try again later.",
    },
}


def button_label(lang: str, kind: CampaignKind, action: Action) -> str:
    key = "cut" if (action is Action.HELP and kind is CampaignKind.BARGAIN) else action.value
    return str(TEXT[lang]["button"][key])


def result_text(lang: str, result: dict[str, Any]) -> str:
    words = TEXT[lang]["result"]
    return str(words.get(result.get("code"), words["refused"])).format(streak=result.get("streak", ""))
