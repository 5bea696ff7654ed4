"""Channel codes (渠道活码): a code per channel that records where a person came from, routes them to
staff, tags them, enters them into a journey and greets them.

Two kinds:

- ``wechat_qr``: an official-account parametric QR code (生成带参数的二维码, ``qrcode/create``, through
  wechatpy) with the code's ``key`` as its scene string; temporary (``expire_seconds`` ≤ 2,592,000 =
  30 days, WeChat's maximum) or permanent (``QR_LIMIT_STR_SCENE``; an account may hold 100,000).
  A follow through it arrives as ``subscribe`` with ``EventKey = qrscene_<key>``, a scan by a
  follower as ``SCAN`` with ``EventKey = <key>``.
- ``wecom_contact``: a WeCom contact way (联系我, ``externalcontact/add_contact_way``, path/92228) with
  ``state`` = the key (WeCom allows 30 characters); an add arrives as ``add_external_contact`` with
  that ``State``. Its ``user`` list comes from the routing rule (:mod:`siyu.acquisition.routing`)
  and is pushed again by :func:`sync_code` whenever the decision changes.

Creating is idempotent by key: the row is written first; a platform call that failed leaves it
without a ticket, and creating the same key again finishes it instead of making a second QR code.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from siyu.acquisition import channel_codes_store as store
from siyu.acquisition.channel_codes_store import ChannelCodeError
from siyu.acquisition.routing import Load, Routed, parse_rule, route
from siyu.channels.access_tokens import platform_answer, with_fresh_token
from siyu.channels.base import ChannelError
from siyu.db.engine import read, write

KINDS = ("wechat_qr", "wecom_contact")
KEY = re.compile(r"[A-Za-z0-9_\-]{1,30}")  # fits a WeCom state (≤ 30) and a WeChat scene_str (≤ 64)
MAX_EXPIRE_SECONDS = 2_592_000  # a temporary official-account QR code lasts at most 30 days


def validate(kind: str, key: str, *, expire_seconds: int | None, routing: Any, welcome: Any,
             tags: Any, reward: Any = None) -> None:
    if kind not in KINDS:
        raise ChannelCodeError(f"'kind' is one of {', '.join(KINDS)}.", details={"field": "kind"})
    if not KEY.fullmatch(key):
        raise ChannelCodeError("'key' is 1-30 letters, digits, '_' or '-' (a WeCom state allows 30 characters).",
                               details={"field": "key"})
    if expire_seconds is not None and not 60 <= expire_seconds <= MAX_EXPIRE_SECONDS:
        raise ChannelCodeError(f"'expire_seconds' is between 60 and {MAX_EXPIRE_SECONDS} (30 days, WeChat's "
                               "maximum for a temporary QR code); leave it out for a permanent one.",
                               details={"field": "expire_seconds"})
    if kind == "wecom_contact":
        try:
            parse_rule(routing)
        except (ValueError, TypeError) as error:
            raise ChannelCodeError(f"routing: {error}.", details={"field": "routing"}) from None
    if welcome is not None and not (isinstance(welcome, dict) and isinstance(welcome.get("text"), str)
                                    and welcome["text"].strip()):
        raise ChannelCodeError("'welcome' is {\"text\": \"...\"}.", details={"field": "welcome"})
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) and t.strip() for t in tags)):
        raise ChannelCodeError("'tags' is a list of tag names.", details={"field": "tags"})
    if reward is not None:
        _validate_reward(reward)


def _validate_reward(reward: Any) -> None:
    """``{"cash_fen": 188, "wishing": "...", "budget_fen": 100000}``: a red packet for each person who
    arrives through the code, within WeChat Pay's amounts (:mod:`siyu.payments.rules`)."""
    from siyu.payments.rules import LIMITS, amount_refusal

    fields = reward if isinstance(reward, dict) else {}
    cash, wishing, budget = fields.get("cash_fen"), fields.get("wishing"), fields.get("budget_fen")
    if not isinstance(cash, int) or isinstance(cash, bool) or amount_refusal(cash, None):
        raise ChannelCodeError("'reward' is {\"cash_fen\": 100-20000, \"wishing\": \"...\", \"budget_fen\": ...} "
                               "(a red packet is 1-200 yuan).", details={"field": "reward"})
    if wishing is not None and not (isinstance(wishing, str) and 0 < len(wishing) <= LIMITS["wishing"]):
        raise ChannelCodeError("'reward.wishing' is 1-128 characters.", details={"field": "reward"})
    if budget is not None and not (isinstance(budget, int) and not isinstance(budget, bool) and budget >= 0):
        raise ChannelCodeError("'reward.budget_fen' is a whole number of fen.", details={"field": "reward"})


def create(engine: Any, workspace: Any, *, kind: str, key: str, name: str, caption: str | None,
           expire_seconds: int | None, routing: Any, welcome: Any, tags: Any, journey_id: int | None,
           expires_at: datetime | None, now: datetime, reward: Any = None) -> tuple[dict[str, Any], bool]:
    validate(kind, key, expire_seconds=expire_seconds, routing=routing, welcome=welcome, tags=tags, reward=reward)
    with write(engine) as conn:
        existing = store.code_by_key(conn, workspace.id, key)
        if existing is not None and (existing["kind"] != kind or existing["ticket"] or existing["config_id"]):
            if existing["kind"] == kind and existing["name"] == name:
                return existing, False
            raise ChannelCodeError(f"A channel code with key {key!r} exists already.", code="channel_codes.exists",
                                   status=409, details={"key": key, "code_id": existing["id"]})
        if existing is None:
            if expire_seconds is not None and kind == "wechat_qr":
                expires_at = now + timedelta(seconds=expire_seconds)
            existing = store.create_code(conn, workspace.id, now, kind=kind, key=key, name=name, caption=caption,
                                         routing=routing, welcome=welcome, tags=tags, journey_id=journey_id,
                                         expires_at=expires_at, reward=reward)
    code = existing
    try:
        if kind == "wechat_qr":
            answer = _wechat_qr(workspace, key, expire_seconds)
            values = {"ticket": answer["ticket"], "qr_url": answer["url"]}
        else:
            with read(engine) as conn:
                routed = decide(conn, workspace, code, now)
            answer = _contact_client(workspace).add_contact_way(state=key, users=list(routed.users), remark=name)
            values = {"config_id": answer["config_id"], "qr_url": answer.get("qr_code"),
                      "pushed_users": list(routed.users)}
    except ChannelError as error:
        raise ChannelCodeError(f"The platform refused to create the code ({error.code}): {error.detail}",
                               code="channel_codes.platform_error", status=409,
                               details={"platform_code": error.code}) from None
    with write(engine) as conn:
        return store.update_code(conn, workspace.id, code["id"], now, **values), True


def _wechat_qr(workspace: Any, key: str, expire_seconds: int | None) -> dict[str, Any]:
    from siyu.channels.wechat import CUSTOMER_SERVICE, STALE_TOKEN, WeChatChannel, _Client, wechat_error

    config = ((workspace.settings or {}).get("channels") or {}).get("wechat")
    if not isinstance(config, dict) or not config.get("appid") or not config.get("secret"):
        raise ChannelCodeError("settings.channels.wechat needs 'appid' and 'secret' to create QR codes.",
                               code="channel_codes.not_configured", status=409)
    channel = WeChatChannel.from_settings(CUSTOMER_SERVICE, config)
    scene = {"scene": {"scene_str": key}}
    data: dict[str, Any] = ({"action_name": "QR_LIMIT_STR_SCENE", "action_info": scene} if expire_seconds is None
                            else {"expire_seconds": expire_seconds, "action_name": "QR_STR_SCENE",
                                  "action_info": scene})

    def call(token: str) -> dict[str, Any]:
        client = _Client(channel.appid, channel.secret, access_token=token, timeout=channel.timeout,
                         auto_retry=False)
        client.API_BASE_URL = f"{channel.base_url}/cgi-bin/"
        return platform_answer(lambda: client.qrcode.create(data), platform="wechat", stale=STALE_TOKEN,
                               refusal=wechat_error, lost="a QR code may have been created")

    return with_fresh_token(channel.tokens, (channel.base_url, channel.appid), channel.access_token, call, "wechat")


def _contact_client(workspace: Any) -> Any:
    from siyu.staff.wecom_contact import ContactClient

    try:
        return ContactClient.from_settings(workspace.settings)
    except ChannelError as error:
        raise ChannelCodeError(error.detail, code="channel_codes.not_configured", status=409) from None


def local_day(now: datetime, timezone: str) -> str:
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


def decide(conn: Any, workspace: Any, code: dict[str, Any], now: datetime) -> Routed:
    """Which members the code's contact way should offer now."""
    from siyu.staff import store as staff_store

    rule = parse_rule(code["routing"])
    userids = [c.userid for c in rule.staff] + list(rule.fallback)
    departed = frozenset(s.userid for s in staff_store.list_staff(conn, workspace.id, status="left")
                         if s.userid in userids)
    load = Load(added_today=store.adds_on_day(conn, workspace.id, code["id"], local_day(now, workspace.timezone)),
                owned=staff_store.owned_counts(conn, workspace.id, userids),
                last_assigned=store.last_assigned(conn, workspace.id, code["id"]), departed=departed)
    return route(rule, load, now, workspace.timezone)


def sync_code(engine: Any, workspace: Any, code: dict[str, Any], now: datetime) -> bool:
    """Push the routing decision to WeCom if it differs from what WeCom has; whether it pushed. An
    empty decision (nobody available, no fallback) leaves WeCom's list as it is."""
    if code["kind"] != "wecom_contact" or not code["config_id"] or code["status"] != "active":
        return False
    with read(engine) as conn:
        routed = decide(conn, workspace, code, now)
    if not routed.users or list(routed.users) == (code["pushed_users"] or []):
        return False
    _contact_client(workspace).update_contact_way(config_id=code["config_id"], users=list(routed.users))
    with write(engine) as conn:
        store.update_code(conn, workspace.id, code["id"], now, pushed_users=list(routed.users))
    return True


def sync_all(engine: Any, workspace: Any, now: datetime) -> int:
    """The worker step: every active WeCom code's routing, pushed where it changed."""
    with read(engine) as conn:
        codes = store.list_codes(conn, workspace.id, kind="wecom_contact", status="active")
    pushed = 0
    for code in codes:
        try:
            pushed += sync_code(engine, workspace, code, now)
        except ChannelError:  # WeCom unreachable now: the next round pushes it
            continue
    return pushed


def describe(code: dict[str, Any], now: datetime) -> dict[str, Any]:
    expired = code["expires_at"] is not None and code["expires_at"] <= now
    return {**code, "expired": expired, "ready": bool(code["ticket"] or code["config_id"])}
