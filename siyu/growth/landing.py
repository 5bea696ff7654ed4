"""``/c/{token}``: a campaign's public, mobile-first page, in Chinese or English (``?lang=``, else the
browser's preference). Every campaign page shows its rules — the operator's description and the
figures that decide (thresholds, windows, who may help) — and who runs it (WeChat's external-link
rules bar campaigns with unclear rules; the operator is named so a customer knows whom to ask).

With ``?ref=<participant token>`` the page is a personal share link: the visit is counted (the
invites sent) and the owner's progress is shown. Joining, inviting and helping are calls of the
brand's mini program or H5 backend to ``/api/campaigns/{id}/…``, which know who the visitor is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from siyu import clock
from siyu.acquisition.forms import language
from siyu.api.auth import runtime_of
from siyu.db.counters import counter_for
from siyu.db.engine import read
from siyu.growth import service, store
from siyu.growth.models import Campaign, Participant
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
from siyu.workspaces import store as workspace_store

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
           "split": "一个红包池由 {n} 人瓜分（含分享者）", "streak": "连续签到 {days} 天可获奖励"},
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
           "split": "A pool shared among {n} people, the sharer included",
           "streak": "Check in {days} days in a row for a reward"},
}


def _write_link_opens(conn: Any, counts: dict[Any, int]) -> None:
    for (workspace_id, participant_id), count in sorted(counts.items()):
        store.count_link_open(conn, workspace_id, participant_id, count)


def link_opens(rt: Any) -> Any:
    """Visits through personal links, counted in memory and written each second (:mod:`siyu.db.counters`):
    a shared link opened thousands of times must not take a write transaction per view."""
    return counter_for(rt, "campaign_link_opens", _write_link_opens)


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
        case BargainRules():
            facts.append(t["bargain"].format(n=rules.expected_helpers, hours=rules.deadline_hours))
        case SplitCouponRules():
            facts.append(t["split"].format(n=rules.claimers))
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
           counters: dict[str, dict[str, int]], timezone: str = "Asia/Shanghai") -> str:
    """The page, its times in the brand's time zone (the customers' own, for a Chinese brand)."""
    rules = parse_rules(campaign.kind, campaign.rules)
    left = {name: c["cap"] - c["used"] for name, c in counters.items()}
    zone = ZoneInfo(timezone)
    return PAGE.render(
        lang=lang, t=TEXT[lang], title=campaign.name, status=campaign.status.value, kind=campaign.kind.value,
        starts=f"{campaign.starts_at.astimezone(zone):%Y-%m-%d %H:%M}",
        ends=f"{campaign.ends_at.astimezone(zone):%Y-%m-%d %H:%M} ({timezone})",
        description=getattr(rules.description, lang), facts=rule_facts(rules, lang, left),
        operator_name=campaign.operator.get("name", ""), operator_contact=campaign.operator.get("contact"),
        owner=_owner_line(rules, owner, lang) if owner else None, ref=ref if owner else None)


@router.get("/c/{token}", response_class=HTMLResponse, summary="A campaign's public page (rules, operator, progress)")
def campaign_page(request: Request, token: str, ref: str | None = None, lang: str | None = None) -> HTMLResponse:
    rt = runtime_of(request)
    chosen = language(lang, request.headers.get("accept-language"))
    with read(rt.engine) as conn:
        found = store.campaign_by_token(conn, token[:32])
    if found is None:
        return HTMLResponse(PAGE.render(lang=chosen, t=TEXT[chosen], missing=True, title=TEXT[chosen]["missing"]),
                            status_code=404)
    workspace_id, campaign = found
    with read(rt.engine) as conn:
        owner = service.owner_of_ref(conn, workspace_id, campaign, ref) if ref else None
        counters = store.counters(conn, workspace_id, campaign.id)
        timezone = workspace_store.get_workspace(conn, workspace_id).timezone
    if owner is not None and campaign.is_open(clock.now()):
        link_opens(rt).add((workspace_id, owner.id))  # the invites sent, written in bulk each second
    return HTMLResponse(render(campaign, chosen, owner=owner, ref=ref, counters=counters, timezone=timezone))
