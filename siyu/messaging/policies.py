"""Contact policies: may this message go to this person now, later, or not at all — and why.

A pure function over plain facts, checked by the delivery worker for every message just before it
is handed to a channel (not when it is queued: caps depend on what has gone out by then). Every
stop and every deferral carries a stable reason code, stored on the message.

Order, and what each rule spares:

1. consent — a revoked consent for the channel family (or ``any``) and purpose stops everything,
   transactional included (an unsubscribe is never overridden); marketing on opt-in channels (SMS,
   e-mail) needs a granted consent;
2. an address on the channel (openid, phone, e-mail, external user id);
3. platform rules: a person who unfollowed the WeChat account can't be reached (errcode 43004);
   the customer-service message only inside 48 hours after their last message, at most N per
   window (45047); a subscription notice only with a one-time subscription left for its template
   (43101); WeCom customers receive at most as many company mass messages a month as the month
   has days, or 7 a week / 1 a day if the admin chose so — every WeCom message counts, whatever
   its purpose, because WeCom counts them all;
4. marketing only: frequency caps (calendar days in the workspace time zone, per channel and
   overall; Braze's model), then the cooldown since the last marketing push (deferred, not
   dropped), then quiet hours (deferred to their end, in the workspace time zone).

Transactional messages (order shipped, password reset) skip 4 entirely and don't count towards it.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import assert_never
from zoneinfo import ZoneInfo

from siyu.messaging.models import Cap, Channel, Facts, PolicySettings, Purpose, Verdict, WeComLimit

OPEN = "granted"
REVOKED = "revoked"


def decide(channel: Channel, purpose: Purpose, facts: Facts, settings: PolicySettings, now: datetime) -> Verdict:
    stopped = _consent(channel, purpose, facts, settings)
    if stopped is not None:
        return stopped
    if not facts.address:
        return Verdict.stop("policy.no_address", f"The person has no address on {channel.value}.")
    if channel.value.startswith("wechat") and facts.wechat_followed is False:
        return Verdict.stop("policy.unfollowed", "The person no longer follows the official account.")
    if channel is Channel.WECHAT_CS:
        stopped = _cs_window(facts, settings, now)
        if stopped is not None:
            return stopped
    if channel is Channel.WECHAT_SUBSCRIBE and facts.subscription is False:
        return Verdict.stop("policy.no_subscription", "The person has no one-time subscription left for this "
                            "template (each acceptance allows one notice).")
    if channel is Channel.WECOM:
        stopped = _wecom_limit(facts, settings, now)
        if stopped is not None:
            return stopped
    if purpose is Purpose.TRANSACTIONAL:
        return Verdict.send()
    return _marketing(channel, facts, settings, now)


def _consent(channel: Channel, purpose: Purpose, facts: Facts, settings: PolicySettings) -> Verdict | None:
    family = channel.consent.value
    for key in ((family, purpose.value), ("any", purpose.value)):
        if facts.consents.get(key) == REVOKED:
            return Verdict.stop("policy.unsubscribed", f"The person withdrew {purpose.value} consent for {key[0]}.")
    if purpose is Purpose.MARKETING and family in settings.marketing_needs_grant and OPEN not in (
            facts.consents.get((family, purpose.value)), facts.consents.get(("any", purpose.value))):
        return Verdict.stop("policy.no_consent",
                            f"Marketing by {family} needs the person's consent, and there is none.")
    return None


def _cs_window(facts: Facts, settings: PolicySettings, now: datetime) -> Verdict | None:
    """WeChat's two allowances: after the person's message, ``cs_window_messages`` within ``cs_window``;
    after a follow, a QR scan or a menu click, ``cs_interaction_messages`` within
    ``cs_interaction_window`` (the welcome card after a follow). Either open allowance with room is enough."""
    windows = [(opened, limit, what) for opened, length, limit, what in (
        (facts.last_user_message_at, settings.cs_window, settings.cs_window_messages, "the person's last message"),
        (facts.last_interaction_at, settings.cs_interaction_window, settings.cs_interaction_messages,
         "the person's follow, QR scan or menu click"))
        if opened is not None and now - opened <= length]
    if not windows:
        return Verdict.stop("policy.outside_window", "WeChat customer-service messages may only be sent within "
                            f"{settings.cs_window.total_seconds() / 3600:.0f} hours of the person's last message "
                            f"(or {settings.cs_interaction_window.total_seconds() / 60:.0f} minute of a follow, "
                            "QR scan or menu click).")
    for opened, limit, _ in windows:
        if sum(1 for sent in facts.history if sent.channel is Channel.WECHAT_CS and sent.at >= opened) < limit:
            return None
    opened, limit, what = windows[0]
    used = sum(1 for sent in facts.history if sent.channel is Channel.WECHAT_CS and sent.at >= opened)
    return Verdict.stop("policy.window_quota", f"{used} customer-service messages were already sent since {what} "
                        f"(limit {limit}).")


def _marketing(channel: Channel, facts: Facts, settings: PolicySettings, now: datetime) -> Verdict:
    zone = ZoneInfo(settings.timezone)
    marketing = [s for s in facts.history if s.purpose is Purpose.MARKETING]
    for cap in settings.caps:
        if cap.channel is not None and cap.channel is not channel:
            continue
        used = _within_cap(cap, marketing, now, zone)
        if used >= cap.limit:
            scope = cap.channel.value if cap.channel else "all channels"
            return Verdict.stop("policy.frequency_cap", f"{used} marketing messages on {scope} in {cap.days} day(s) "
                                f"(limit {cap.limit}).")
    if marketing and settings.cooldown:
        ready = max(s.at for s in marketing) + settings.cooldown
        if ready > now:
            return Verdict.defer(ready, "policy.cooldown", f"The last marketing message was less than "
                                 f"{settings.cooldown} ago.")
    quiet_until = quiet_hours_end(now, settings)
    if quiet_until is not None:
        return Verdict.defer(quiet_until, "policy.quiet_hours", "Quiet hours in the workspace time zone.")
    return Verdict.send()


def _wecom_limit(facts: Facts, settings: PolicySettings, now: datetime) -> Verdict | None:
    """WeCom's per-customer receive limit, periods counted in the workspace time zone."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    match settings.wecom_limit:
        case WeComLimit.MONTH:
            allowed, period = calendar.monthrange(local.year, local.month)[1], "this month"
            first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        case WeComLimit.WEEK:
            allowed, period = 7, "this week"
            first = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        case WeComLimit.DAY:
            allowed, period = 1, "today"
            first = local.replace(hour=0, minute=0, second=0, microsecond=0)
        case _:
            assert_never(settings.wecom_limit)
    used = sum(1 for sent in facts.history if sent.channel is Channel.WECOM and sent.at >= first)
    if used < allowed:
        return None
    return Verdict.stop("policy.wecom_limit", f"{used} WeCom mass messages reached the customer {period}; "
                        f"WeCom allows {allowed} ({settings.wecom_limit.value} rule, path/92135).")


def _within_cap(cap: Cap, marketing: list, now: datetime, zone: ZoneInfo) -> int:  # type: ignore[type-arg]
    first_day = (now.astimezone(zone) - timedelta(days=cap.days - 1)).date()
    return sum(1 for s in marketing if (cap.channel is None or s.channel is cap.channel)
               and s.at.astimezone(zone).date() >= first_day)


def quiet_hours_end(now: datetime, settings: PolicySettings) -> datetime | None:
    """When quiet hours end, if ``now`` is inside them; None otherwise. Windows may span midnight."""
    start, end = settings.quiet_start, settings.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(settings.timezone))
    moment = local.time()
    inside = (start <= moment or moment < end) if start > end else (start <= moment < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until


OVERRIDABLE = ("caps", "cooldown_minutes")  # what a journey may set for its own messages


def settings_from(raw: dict | None, timezone: str,  # type: ignore[type-arg]
                  overrides: dict | None = None) -> PolicySettings:  # type: ignore[type-arg]
    """A workspace's ``settings.messaging`` over the defaults, and a message's ``overrides`` of caps
    and cooldown over both; raises ValueError on nonsense."""
    from datetime import time as clock_time

    defaults = PolicySettings(timezone=timezone)
    raw = {**(raw or {}), **{k: v for k, v in (overrides or {}).items() if k in OVERRIDABLE}}
    caps = defaults.caps
    if "caps" in raw:
        caps = tuple(Cap(limit=int(c["limit"]), days=int(c.get("days", 1)),
                         channel=Channel(c["channel"]) if c.get("channel") else None) for c in raw["caps"])
        if any(c.limit < 0 or not 1 <= c.days <= 30 for c in caps):
            raise ValueError("caps need limit ≥ 0 and days between 1 and 30")

    def hour(key: str, default: clock_time | None) -> clock_time | None:
        if key not in raw:
            return default
        return None if raw[key] in (None, "") else clock_time.fromisoformat(str(raw[key]))

    return PolicySettings(
        caps=caps,
        cooldown=timedelta(minutes=float(raw.get("cooldown_minutes", defaults.cooldown.total_seconds() / 60))),
        quiet_start=hour("quiet_start", defaults.quiet_start), quiet_end=hour("quiet_end", defaults.quiet_end),
        timezone=timezone, wecom_limit=_wecom_limit_setting(raw, defaults.wecom_limit),
        marketing_needs_grant=tuple(raw.get("marketing_needs_grant", defaults.marketing_needs_grant)),
    )


def _wecom_limit_setting(raw: dict, default: WeComLimit) -> WeComLimit:  # type: ignore[type-arg]
    """``wecom_limit``: month | week | day, as the admin set WeCom's 群发规则; the older
    ``wecom_daily`` setting means the 1-a-day rule."""
    if "wecom_limit" in raw:
        return WeComLimit(raw["wecom_limit"])
    return WeComLimit.DAY if "wecom_daily" in raw else default
