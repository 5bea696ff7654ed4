"""``/c/{token}``: a campaign's public, mobile-first page, in Chinese or English (``?lang=``, else the
browser's preference). Every campaign page shows its rules — the operator's description and the
figures that decide (thresholds, windows, who may help) — and who runs it (WeChat's external-link
rules bar campaigns with unclear rules; the operator is named so a customer knows whom to ask).

With ``?ref=<participant token>`` the page is a personal share link: the visit is counted (the
invites sent) and the owner's progress is shown.

The page works by itself inside WeChat: a visitor is identified by the official account's web
authorisation and remembered in a signed cookie (:mod:`siyu.growth.visitors`), and then offered the
buttons of the campaign's kind (:mod:`siyu.growth.landing_actions`) — the same service functions the
brand's own backend reaches through ``/api/campaigns/{id}/…``. Outside WeChat it stays read-only.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment

from siyu import clock
from siyu.acquisition.forms import language
from siyu.api.auth import runtime_of
from siyu.channels.base import ChannelError
from siyu.channels.wechat_oauth import authorize_url, exchange_code, user_info
from siyu.db.counters import counter_for
from siyu.db.engine import read, write
from siyu.growth import landing_actions, service, store, visitors
from siyu.growth.check_in import local_day
from siyu.growth.landing_actions import TEXT as ACTION_TEXT
from siyu.growth.models import Campaign, CampaignKind, Participant
from siyu.growth.rules import (
    AssistRules,
    BargainRules,
    CheckInRules,
    CommonRules,
    GroupBuyRules,
    LeaderboardRules,
    ReferralRules,
    SplitCouponRules,
    TaskUnlockRules,
    parse_rules,
)
from siyu.profiles.read_store import resolve_profile_id

log = logging.getLogger("siyu.growth")
router = APIRouter(tags=["campaigns"])
_env = Environment(autoescape=True)
PAGE = _env.from_string((Path(__file__).parent / "templates" / "campaign_landing.html").read_text(encoding="utf-8"))

TEXT: dict[str, dict[str, Any]] = {
    "zh": {"missing": "页面不存在", "missing_body": "这个活动链接无效。", "rules": "活动规则", "operator": "活动主办方",
           "contact": "联系方式", "window": "活动时间",
           "fair": "本活动只统计好友本人的关注、扫码或下单，不以分享行为发放奖励；刷量、作弊所得奖励将被收回。",
           "status": {"draft": "未开始", "live": "进行中", "ended": "已结束"},
           "kind": {"referral": "老带新", "assist": "好友助力", "group_buy": "拼团", "bargain": "砍价",
                    "split_coupon": "裂变优惠券", "task_unlock": "任务宝", "leaderboard": "邀请排行榜",
                    "check_in": "每日签到"},
           "owner": "{n} 位好友已助力 / 受邀", "owner_goal": "已有 {n} 位好友助力，还差 {left} 位",
           "first_order": "好友在 {days} 天内完成首单后，双方获得奖励",
           "follow_stay": "好友关注并保持 {stay} 天后，双方获得奖励（{days} 天内有效）",
           "new_only": "仅限新客户参与", "helpers": "{n} 位好友助力即可解锁奖励",
           "tier": "邀请 {n} 人：奖励剩余 {stock} 份", "prize": "第 {a}–{b} 名获得奖品",
           "revoke": "好友在 {days} 天内取消关注或退群的，该次邀请不计入",
           "group": "{n} 人成团，{hours} 小时内有效", "bargain": "{n} 位好友帮砍，{hours} 小时内有效",
           "group_list": "原价 {list}", "group_prices": "团长价 {leader}，团员价 {member}",
           "bargain_prices": "从 {start} 砍到 {target}",
           "split": "一个 {pool} 的红包池由 {n} 人瓜分（含分享者），每人至少 {minimum}",
           "streak": "连续签到 {days} 天可获奖励"},
    "en": {"missing": "Page not found", "missing_body": "This campaign link is not valid.", "rules": "Rules",
           "operator": "Run by", "contact": "Contact", "window": "Dates",
           "fair": "Only a friend's own follow, scan or order counts; sharing itself earns nothing. Rewards won by "
                   "fake accounts or cheating are taken back.",
           "status": {"draft": "Not started", "live": "Live", "ended": "Ended"},
           "kind": {"referral": "Refer a friend", "assist": "Friends' help", "group_buy": "Group buy",
                    "bargain": "Bargain", "split_coupon": "Split coupon", "task_unlock": "Invite to unlock",
                    "leaderboard": "Recruiter leaderboard", "check_in": "Daily check-in"},
           "owner": "Friends so far: {n}", "owner_goal": "Friends who helped: {n}; {left} more to go",
           "first_order": "Both of you are rewarded when your friend completes a first order within {days} days",
           "follow_stay": "Both of you are rewarded when your friend follows and stays {stay} days "
                          "(within {days} days)",
           "new_only": "New customers only", "helpers": "{n} friends' help unlocks the reward",
           "tier": "Invite {n}: {stock} rewards left", "prize": "Ranks {a}–{b} win a prize",
           "revoke": "An invite does not count if the friend unfollows or leaves the group within {days} days",
           "group": "{n} people form a group, within {hours} hours",
           "bargain": "{n} friends cut the price, within {hours} hours",
           "group_list": "List price {list}", "group_prices": "Leader's price {leader}, members' price {member}",
           "bargain_prices": "From {start} down to {target}",
           "split": "A pool of {pool} shared among {n} people, the sharer included, at least {minimum} each",
           "streak": "Check in {days} days in a row for a reward"},
}


def _write_link_opens(conn: Any, counts: dict[Any, int]) -> None:
    for (workspace_id, participant_id), count in sorted(counts.items()):
        store.count_link_open(conn, workspace_id, participant_id, count)


def link_opens(rt: Any) -> Any:
    """Visits through personal links, counted in memory and written each second (:mod:`siyu.db.counters`):
    a shared link opened thousands of times must not take a write transaction per view."""
    return counter_for(rt, "campaign_link_opens", _write_link_opens)


def yuan(fen: int) -> str:
    """An amount as the page shows it, the same in zh and en: ``¥49.00``."""
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def rule_facts(rules: CommonRules, lang: str, stock_left: dict[str, int] | None = None) -> list[str]:
    """The figures that decide, in words (pure; the page lists them under the description)."""
    t, left = TEXT[lang], stock_left or {}
    facts: list[str] = []
    match rules:
        case ReferralRules():
            facts.append(t[rules.qualifying].format(days=rules.attribution_days, stay=rules.stay_days))
            if rules.new_customers_only:
                facts.append(t["new_only"])
        case AssistRules():
            facts.append(t["helpers"].format(n=rules.helpers_needed))
            if rules.helper_eligibility == "new_only":
                facts.append(t["new_only"])
        case TaskUnlockRules():
            facts.extend(t["tier"].format(n=tier.threshold, stock=left.get(f"tier:{i}", tier.stock))
                         for i, tier in enumerate(rules.tiers))
        case LeaderboardRules():
            facts.extend(t["prize"].format(a=p.rank_from, b=p.rank_to) for p in rules.prizes)
        case GroupBuyRules():
            facts.append(t["group"].format(n=rules.group_size, hours=rules.time_limit_hours))
            if rules.list_price_fen is not None:
                facts.append(t["group_list"].format(list=yuan(rules.list_price_fen)))
            facts.append(t["group_prices"].format(leader=yuan(rules.leader_price_fen),
                                                  member=yuan(rules.member_price_fen)))
        case BargainRules():
            facts.append(t["bargain"].format(n=rules.expected_helpers, hours=rules.deadline_hours))
            facts.append(t["bargain_prices"].format(start=yuan(rules.start_price_fen),
                                                    target=yuan(rules.target_price_fen)))
        case SplitCouponRules():
            facts.append(t["split"].format(n=rules.claimers, pool=yuan(rules.pool_fen),
                                           minimum=yuan(rules.minimum_fen)))
        case CheckInRules():
            facts.extend(t["streak"].format(days=days) for days in sorted(rules.streak_rewards, key=int))
        case _:
            pass
    if rules.revoke_within_days:
        facts.append(t["revoke"].format(days=rules.revoke_within_days))
    return facts


def _owner_line(rules: CommonRules, owner: Participant, lang: str) -> str:
    t = TEXT[lang]
    if isinstance(rules, AssistRules):
        return t["owner_goal"].format(n=owner.progress, left=max(0, rules.helpers_needed - owner.progress))
    return t["owner"].format(n=owner.progress)


def render(campaign: Campaign, lang: str, *, owner: Participant | None, ref: str | None,
           counters: dict[str, dict[str, int]], timezone: str = "Asia/Shanghai",
           view: dict[str, Any] | None = None) -> str:
    """The page, its times in the brand's time zone (the customers' own, for a Chinese brand);
    ``view``: what the visitor may do (:func:`_view`)."""
    rules = parse_rules(campaign.kind, campaign.rules)
    left = {name: c["cap"] - c["used"] for name, c in counters.items()}
    zone = ZoneInfo(timezone)
    return PAGE.render(
        lang=lang, t=TEXT[lang], a=ACTION_TEXT[lang], title=campaign.name, status=campaign.status.value,
        kind=campaign.kind.value, token=campaign.token,
        starts=f"{campaign.starts_at.astimezone(zone):%Y-%m-%d %H:%M}",
        ends=f"{campaign.ends_at.astimezone(zone):%Y-%m-%d %H:%M} ({timezone})",
        description=getattr(rules.description, lang), facts=rule_facts(rules, lang, left),
        operator_name=campaign.operator.get("name", ""), operator_contact=campaign.operator.get("contact"),
        owner=_owner_line(rules, owner, lang) if owner else None, ref=ref if owner else None, view=view or {})


def _missing(lang: str) -> HTMLResponse:
    return HTMLResponse(PAGE.render(lang=lang, t=TEXT[lang], missing=True, title=TEXT[lang]["missing"]),
                        status_code=404)


def _refused(lang: str, message: str, status: int, retry: str | None = None) -> HTMLResponse:
    """A 4xx page in the visitor's language (a forged cookie or state, a used code, a stale form)."""
    return HTMLResponse(PAGE.render(lang=lang, t=TEXT[lang], a=ACTION_TEXT[lang], refused=message, retry=retry,
                                    title=TEXT[lang]["missing"] if status == 404 else message), status_code=status)


def _view(conn: Any, ctx: visitors.PageContext, lang: str, owner: Participant | None, now: datetime, *,
          oauth: str | None, result: dict[str, Any] | None) -> dict[str, Any]:
    """The visitor's part of the page: who they are, their buttons (each with its signed form token),
    their share link and poster, the answer to their last press, or why they can only read."""
    campaign, words = ctx.campaign, ACTION_TEXT[lang]
    view: dict[str, Any] = {"result": None if result is None else {
        "ok": bool(result.get("ok")), "text": landing_actions.result_text(lang, result), "code": result.get("code")}}
    if ctx.visitor is None:
        view["notice"] = (words["open_in_wechat"] if not ctx.in_wechat else words["not_set_up"] if ctx.app is None
                          else words["authorise"])
        view["retry"] = ctx.in_wechat and ctx.app is not None and oauth is not None
        return view
    profile_id = resolve_profile_id(conn, ctx.workspace.id, ctx.visitor.profile_id)
    mine = store.participant_of(conn, ctx.workspace.id, campaign.id, profile_id)
    view["signed_in"] = True
    if mine is not None:
        view["mine"] = {"share_url": f"{ctx.base_url}/c/{campaign.token}?ref={mine.token}",
                        "poster_url": f"/c/{campaign.token}/poster.png" if campaign.rules.get("poster_template_id")
                        else None,
                        "progress": _owner_line(parse_rules(campaign.kind, campaign.rules), mine, lang)}
    if not campaign.is_open(now):
        view["notice"] = landing_actions.result_text(lang, {"code": "not_live"})
        return view
    friend = owner is not None and owner.profile_id != profile_id and landing_actions.my_credit(
        conn, ctx.workspace.id, campaign.id, profile_id) is None  # a friend acts once per campaign
    in_group = campaign.kind is CampaignKind.GROUP_BUY and landing_actions.my_group(conn, ctx.workspace.id, campaign,
                                                                                     profile_id)
    view["actions"] = [{"action": action.value, "label": landing_actions.button_label(lang, campaign.kind, action),
                        "form": landing_actions.form_token(ctx.secret, campaign_id=campaign.id,
                                                           profile_id=ctx.visitor.profile_id, action=action,
                                                           ref=owner.token if friend and owner else None, now=now)}
                       for action in landing_actions.offered(campaign.kind, joined=mine is not None,
                                                             friend_link=friend, in_a_group=in_group)]
    return view


def _page(request: Request, ctx: visitors.PageContext, lang: str, ref: str | None, now: datetime, *,
          oauth: str | None = None, result: dict[str, Any] | None = None, count_visit: bool = True) -> HTMLResponse:
    rt = runtime_of(request)
    with read(rt.engine) as conn:
        owner = service.owner_of_ref(conn, ctx.workspace.id, ctx.campaign, ref) if ref else None
        counters = store.counters(conn, ctx.workspace.id, ctx.campaign.id)
        view = _view(conn, ctx, lang, owner, now, oauth=oauth, result=result)
    if count_visit and owner is not None and ctx.campaign.is_open(now):
        link_opens(rt).add((ctx.workspace.id, owner.id))  # the invites sent, written in bulk each second
    return HTMLResponse(render(ctx.campaign, lang, owner=owner, ref=ref, counters=counters,
                               timezone=ctx.workspace.timezone, view=view))


@router.get("/c/{token}", response_class=HTMLResponse, summary="A campaign's public page (rules, operator, progress)")
def campaign_page(request: Request, token: str, ref: str | None = None, lang: str | None = None,
                  oauth: str | None = None) -> Response:
    """Inside WeChat a visitor not known yet is sent through web authorisation first (``oauth`` marks
    the way back, so a refusal never loops); everyone else sees the page, read-only until known."""
    now = clock.now()
    chosen = language(lang, request.headers.get("accept-language"))
    ctx = visitors.page_context(request, token, now)
    if ctx is None:
        return _missing(chosen)
    if ctx.visitor is None and ctx.in_wechat and ctx.app is not None and oauth is None:
        state = visitors.make_state(ctx.secret, ctx.campaign.token, ref=ref[:32] if ref else None, lang=chosen,
                                    now=now)
        return RedirectResponse(authorize_url(ctx.app, f"{ctx.base_url}/c/{ctx.campaign.token}/oauth", state),
                                status_code=302)
    return _page(request, ctx, chosen, ref, now, oauth=oauth)


@router.get("/c/{token}/oauth", summary="WeChat web authorisation's way back: the code exchanged, the visitor known")
def oauth_callback(request: Request, token: str, state: str = "", code: str | None = None) -> Response:
    rt, now = runtime_of(request), clock.now()
    ctx = visitors.page_context(request, token, now)
    chosen = language(None, request.headers.get("accept-language"))
    if ctx is None:
        return _missing(chosen)
    back = visitors.read_state(ctx.secret, ctx.campaign.token, state[:256], now)
    if back is None or ctx.app is None:
        return _refused(chosen, ACTION_TEXT[chosen]["bad_form"], 400)
    ref, lang = back
    home = visitors.return_path(ctx.campaign.token, ref=ref, lang=lang)
    if not code:  # the person refused snsapi_userinfo: the page, read-only, with a way to try again
        return RedirectResponse(f"{home}{'&' if '?' in home else '?'}oauth=denied", status_code=303)
    try:
        grant = exchange_code(ctx.app, code[:128])
        info = user_info(ctx.app, grant) if grant.scope == "snsapi_userinfo" else None
    except ChannelError as error:
        if error.code in ("wechat.invalid_code", "wechat.code_used"):
            return _refused(lang, ACTION_TEXT[lang]["oauth_failed"], 400, retry=home)
        log.warning("campaign %s: WeChat web authorisation failed: %s %s", ctx.campaign.id, error.code, error.detail)
        return _refused(lang, ACTION_TEXT[lang]["oauth_unavailable"], 502, retry=home)  # WeChat's side, or the setup
    with write(rt.engine) as conn:
        profile_id = visitors.identify_visitor(conn, rt, ctx.workspace, ctx.app, grant, info=info,
                                               ip=request.client.host if request.client else None,
                                               user_agent=request.headers.get("user-agent"), now=now)
    response = RedirectResponse(home, status_code=303)
    response.set_cookie(visitors.cookie_name(ctx.workspace.id), visitors.visitor_cookie(
        ctx.secret, visitors.Visitor(profile_id, ctx.app.appid, grant.openid), now),
        max_age=visitors.COOKIE_DAYS * 86400, path="/c/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https")
    return response


@router.post("/c/{token}/act", response_class=HTMLResponse, summary="A known visitor presses a campaign button")
def campaign_action(request: Request, token: str, form: Annotated[str, Form(max_length=2000)] = "",
                    lang: Annotated[str, Form(max_length=8)] = "") -> HTMLResponse:
    now = clock.now()
    chosen = language(lang or None, request.headers.get("accept-language"))
    ctx = visitors.page_context(request, token, now)
    if ctx is None:
        return _missing(chosen)
    press = None if ctx.visitor is None else landing_actions.read_form(
        ctx.secret, form, campaign_id=ctx.campaign.id, profile_id=ctx.visitor.profile_id, now=now)
    if ctx.visitor is None or press is None:
        return _refused(chosen, ACTION_TEXT[chosen]["bad_form"], 403,
                        retry=visitors.return_path(ctx.campaign.token, ref=None, lang=chosen))
    rt = runtime_of(request)
    with write(rt.engine) as conn:
        result = landing_actions.press_button(conn, ctx.workspace.id, ctx.campaign, press, ctx.visitor.profile_id,
                                              ip=request.client.host if request.client else None,
                                              today=local_day(now, ctx.workspace.timezone), now=now)
    return _page(request, ctx, chosen, press.ref, now, result=result, count_visit=False)


@router.get("/c/{token}/poster.png", response_class=Response, summary="The visitor's own poster (their share link)")
def visitor_poster(request: Request, token: str) -> Response:
    from siyu.acquisition.posters_live import poster_png

    now = clock.now()
    ctx = visitors.page_context(request, token, now)
    chosen = language(None, request.headers.get("accept-language"))
    template_id = ctx.campaign.rules.get("poster_template_id") if ctx else None
    if ctx is None or ctx.visitor is None or template_id is None:
        return _missing(chosen)
    rt = runtime_of(request)
    with read(rt.engine) as conn:
        profile_id = resolve_profile_id(conn, ctx.workspace.id, ctx.visitor.profile_id)
        joined = store.participant_of(conn, ctx.workspace.id, ctx.campaign.id, profile_id)
    if joined is None:
        return _missing(chosen)
    return Response(poster_png(rt, ctx.workspace.id, int(template_id), joined.profile_id), media_type="image/png",
                    headers={"Cache-Control": "no-store"})
