"""Contact policies as specifications: who may be reached, when, and why not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from siyu.messaging.models import Cap, Channel, Facts, PolicySettings, Purpose, Sent, WeComLimit
from siyu.messaging.policies import decide, quiet_hours_end, settings_from

NOON = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
OPEN_EMAIL = {("email", "marketing"): "granted"}
QUIET_OFF = PolicySettings(quiet_start=None, quiet_end=None, cooldown=timedelta(0))


def facts(**values: object) -> Facts:
    return Facts(**{"address": "a@b.cn", "consents": dict(OPEN_EMAIL), **values})  # type: ignore[arg-type]


def sent(channel: Channel, hours_ago: float, purpose: Purpose = Purpose.MARKETING) -> Sent:
    return Sent(channel, purpose, NOON - timedelta(hours=hours_ago))


def test_an_unsubscribe_stops_transactional_mail_too() -> None:
    revoked = facts(consents={("email", "transactional"): "revoked"})
    verdict = decide(Channel.EMAIL, Purpose.TRANSACTIONAL, revoked, QUIET_OFF, NOON)
    assert (verdict.action, verdict.reason) == ("stop", "policy.unsubscribed")
    anywhere = facts(consents={("any", "marketing"): "revoked", ("email", "marketing"): "granted"})
    assert decide(Channel.EMAIL, Purpose.MARKETING, anywhere, QUIET_OFF, NOON).reason == "policy.unsubscribed"


def test_marketing_by_sms_or_email_needs_an_opt_in_but_wechat_does_not() -> None:
    assert decide(Channel.EMAIL, Purpose.MARKETING, facts(consents={}), QUIET_OFF, NOON).reason == "policy.no_consent"
    assert decide(Channel.SMS, Purpose.MARKETING, facts(consents={}), QUIET_OFF, NOON).reason == "policy.no_consent"
    assert decide(Channel.EMAIL, Purpose.TRANSACTIONAL, facts(consents={}), QUIET_OFF, NOON).action == "send"
    followed = facts(consents={}, wechat_followed=True)
    assert decide(Channel.WECHAT_TEMPLATE, Purpose.MARKETING, followed, QUIET_OFF, NOON).action == "send"


def test_no_address_and_unfollowed_are_stops_with_their_reason() -> None:
    assert decide(Channel.EMAIL, Purpose.TRANSACTIONAL, facts(address=None), QUIET_OFF, NOON).reason == \
        "policy.no_address"
    gone = facts(wechat_followed=False)
    assert decide(Channel.WECHAT_TEMPLATE, Purpose.TRANSACTIONAL, gone, QUIET_OFF, NOON).reason == "policy.unfollowed"


def test_customer_service_messages_only_inside_48_hours_and_five_per_window() -> None:
    spoke = NOON - timedelta(hours=47)
    inside = facts(wechat_followed=True, last_user_message_at=spoke)
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, inside, QUIET_OFF, NOON).action == "send"
    late = facts(wechat_followed=True, last_user_message_at=NOON - timedelta(hours=49))
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, late, QUIET_OFF, NOON).reason == "policy.outside_window"
    never = facts(wechat_followed=True)
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, never, QUIET_OFF, NOON).reason == "policy.outside_window"
    used = facts(wechat_followed=True, last_user_message_at=spoke,
                 history=tuple(sent(Channel.WECHAT_CS, h, Purpose.TRANSACTIONAL) for h in (1, 2, 3, 4, 5)))
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, used, QUIET_OFF, NOON).reason == "policy.window_quota"
    before_window = facts(wechat_followed=True, last_user_message_at=spoke,
                          history=tuple(sent(Channel.WECHAT_CS, 48, Purpose.TRANSACTIONAL) for _ in range(9)))
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, before_window, QUIET_OFF, NOON).action == "send"


def test_a_follow_scan_or_menu_click_allows_three_customer_service_messages_within_a_minute() -> None:
    """The welcome card after a follow is sent although the person never wrote (WeChat's 客服消息下发规则:
    follow, QR scan, menu click — 3 messages, valid 1 minute)."""
    just = NOON - timedelta(seconds=30)
    followed = facts(wechat_followed=True, last_interaction_at=just)
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, followed, QUIET_OFF, NOON).action == "send"
    three = facts(wechat_followed=True, last_interaction_at=just,
                  history=tuple(Sent(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, NOON - timedelta(seconds=s))
                                for s in (5, 10, 20)))
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, three, QUIET_OFF, NOON).reason == "policy.window_quota"
    later = facts(wechat_followed=True, last_interaction_at=NOON - timedelta(seconds=61))
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, later, QUIET_OFF, NOON).reason == "policy.outside_window"
    # the person's own message 10 hours ago used its five; the follow a moment ago still has room
    both = facts(wechat_followed=True, last_user_message_at=NOON - timedelta(hours=10), last_interaction_at=just,
                 history=tuple(sent(Channel.WECHAT_CS, h, Purpose.TRANSACTIONAL) for h in (1, 2, 3, 4, 5)))
    assert decide(Channel.WECHAT_CS, Purpose.TRANSACTIONAL, both, QUIET_OFF, NOON).action == "send"


def test_caps_count_marketing_per_channel_and_overall_in_calendar_days() -> None:
    settings = PolicySettings(caps=(Cap(limit=2, days=1), Cap(limit=1, days=7, channel=Channel.EMAIL)),
                              quiet_start=None, quiet_end=None, cooldown=timedelta(0))
    one_email_this_week = facts(history=(sent(Channel.EMAIL, 24 * 6),))
    verdict = decide(Channel.EMAIL, Purpose.MARKETING, one_email_this_week, settings, NOON)
    assert verdict.reason == "policy.frequency_cap" and "email" in (verdict.detail or "")
    assert decide(Channel.WEBHOOK, Purpose.MARKETING, one_email_this_week, settings, NOON).action == "send"
    two_today = facts(history=(sent(Channel.WEBHOOK, 1), sent(Channel.WECHAT_TEMPLATE, 3)))
    assert decide(Channel.WEBHOOK, Purpose.MARKETING, two_today, settings, NOON).reason == "policy.frequency_cap"
    # "today" is the workspace's calendar day: 23:30 Shanghai yesterday does not count at noon today
    yesterday_late = facts(history=(sent(Channel.WEBHOOK, 12.5), sent(Channel.WEBHOOK, 13)))
    assert decide(Channel.WEBHOOK, Purpose.MARKETING, yesterday_late, settings, NOON).action == "send"


def test_transactional_messages_skip_caps_and_do_not_count_towards_them() -> None:
    settings = PolicySettings(caps=(Cap(limit=1, days=1),), quiet_start=None, quiet_end=None, cooldown=timedelta(0))
    busy = facts(history=(sent(Channel.EMAIL, 1), sent(Channel.EMAIL, 2, Purpose.TRANSACTIONAL)))
    assert decide(Channel.EMAIL, Purpose.TRANSACTIONAL, busy, settings, NOON).action == "send"
    only_transactional = facts(history=(sent(Channel.EMAIL, 1, Purpose.TRANSACTIONAL),))
    assert decide(Channel.EMAIL, Purpose.MARKETING, only_transactional, settings, NOON).action == "send"


def test_a_cooldown_defers_to_when_it_ends() -> None:
    settings = PolicySettings(caps=(), cooldown=timedelta(hours=4), quiet_start=None, quiet_end=None)
    verdict = decide(Channel.EMAIL, Purpose.MARKETING, facts(history=(sent(Channel.WEBHOOK, 1),)), settings, NOON)
    assert (verdict.action, verdict.reason, verdict.until) == ("defer", "policy.cooldown", NOON + timedelta(hours=3))


def test_quiet_hours_defer_to_their_end_in_the_workspace_time_zone() -> None:
    settings = PolicySettings(caps=(), cooldown=timedelta(0), quiet_start=time(21), quiet_end=time(8))
    late_evening = datetime(2026, 11, 11, 14, 30, tzinfo=UTC)  # 22:30 Shanghai
    verdict = decide(Channel.EMAIL, Purpose.MARKETING, facts(), settings, late_evening)
    assert (verdict.action, verdict.reason) == ("defer", "policy.quiet_hours")
    assert verdict.until == datetime(2026, 11, 12, 0, 0, tzinfo=UTC)  # 08:00 Shanghai next morning
    early = datetime(2026, 11, 11, 23, 0, tzinfo=UTC)  # 07:00 Shanghai
    assert decide(Channel.EMAIL, Purpose.MARKETING, facts(), settings, early).until == datetime(
        2026, 11, 12, 0, 0, tzinfo=UTC)
    assert decide(Channel.EMAIL, Purpose.TRANSACTIONAL, facts(), settings, late_evening).action == "send"
    assert quiet_hours_end(NOON, settings) is None
    daytime_quiet = PolicySettings(quiet_start=time(12), quiet_end=time(14))
    assert quiet_hours_end(NOON, daytime_quiet) == datetime(2026, 11, 11, 6, 0, tzinfo=UTC)


NO_LIMITS = PolicySettings(caps=(), cooldown=timedelta(0), quiet_start=None, quiet_end=None)


def wecom_facts(*days_ago: float, purpose: Purpose = Purpose.MARKETING) -> Facts:
    return facts(consents={}, address="ww1:wm123", history=tuple(sent(Channel.WECOM, 24 * d, purpose)
                                                                 for d in days_ago))


def test_a_wecom_customer_receives_as_many_mass_messages_a_month_as_the_month_has_days() -> None:
    # 2026-11-11 12:00 Shanghai: November has 30 days; ten were sent this month already, twenty in October.
    assert decide(Channel.WECOM, Purpose.MARKETING, wecom_facts(*range(10), *range(11, 31)), NO_LIMITS,
                  NOON).action == "send"
    this_month = wecom_facts(*(n / 3 for n in range(30)))  # 30 in the last 10 days
    verdict = decide(Channel.WECOM, Purpose.MARKETING, this_month, NO_LIMITS, NOON)
    assert (verdict.action, verdict.reason) == ("stop", "policy.wecom_limit")
    assert "WeCom allows 30" in (verdict.detail or "")


def test_every_wecom_message_counts_and_is_limited_whatever_its_purpose() -> None:
    full = wecom_facts(*(n / 3 for n in range(30)), purpose=Purpose.TRANSACTIONAL)
    assert decide(Channel.WECOM, Purpose.TRANSACTIONAL, full, NO_LIMITS, NOON).reason == "policy.wecom_limit"


@pytest.mark.parametrize(("rule", "days_ago", "allowed"), [
    (WeComLimit.DAY, (0.05,), False), (WeComLimit.DAY, (0.6,), True),  # 10:48 today vs. 21:36 yesterday
    (WeComLimit.WEEK, (0, 0.1, 0.2, 1, 1.1, 2, 2.1), False),  # Wednesday: 7 since Monday
    (WeComLimit.WEEK, (0, 0.1, 0.2, 1, 1.1, 2, 3), True),  # one of them last Sunday
    (WeComLimit.MONTH, (0, 0.1, 0.2, 1, 1.1, 2, 2.1), True),
])
def test_the_admins_weekly_and_daily_wecom_rules(rule: WeComLimit, days_ago: tuple[float, ...],
                                                 allowed: bool) -> None:
    settings = PolicySettings(caps=(), cooldown=timedelta(0), quiet_start=None, quiet_end=None, wecom_limit=rule)
    verdict = decide(Channel.WECOM, Purpose.MARKETING, wecom_facts(*days_ago), settings, NOON)
    assert (verdict.action == "send") is allowed


def test_the_wecom_rule_is_a_workspace_setting() -> None:
    assert settings_from(None, "Asia/Shanghai").wecom_limit is WeComLimit.MONTH
    assert settings_from({"wecom_limit": "week"}, "Asia/Shanghai").wecom_limit is WeComLimit.WEEK
    assert settings_from({"wecom_daily": 1}, "Asia/Shanghai").wecom_limit is WeComLimit.DAY  # the older setting
    with pytest.raises(ValueError):
        settings_from({"wecom_limit": "fortnight"}, "Asia/Shanghai")


def test_a_subscription_notice_needs_a_one_time_subscription_left() -> None:
    follower = facts(consents={}, address="wx1:oLina", wechat_followed=True)
    none_left = decide(Channel.WECHAT_SUBSCRIBE, Purpose.TRANSACTIONAL, replace(follower, subscription=False),
                       QUIET_OFF, NOON)
    assert (none_left.action, none_left.reason) == ("stop", "policy.no_subscription")
    assert decide(Channel.WECHAT_SUBSCRIBE, Purpose.TRANSACTIONAL, replace(follower, subscription=True),
                  QUIET_OFF, NOON).action == "send"
    unsubscribed = replace(follower, subscription=True, consents={("wechat", "transactional"): "revoked"})
    assert decide(Channel.WECHAT_SUBSCRIBE, Purpose.TRANSACTIONAL, unsubscribed, QUIET_OFF, NOON).reason == \
        "policy.unsubscribed"


def test_workspace_settings_override_the_defaults_and_refuse_nonsense() -> None:
    settings = settings_from({"caps": [{"limit": 5, "days": 7, "channel": "sms"}], "cooldown_minutes": 30,
                              "quiet_start": None}, "Asia/Shanghai")
    assert settings.caps == (Cap(limit=5, days=7, channel=Channel.SMS),) and settings.quiet_start is None
    assert settings.cooldown == timedelta(minutes=30)
    with pytest.raises(ValueError):
        settings_from({"caps": [{"limit": 1, "days": 90}]}, "Asia/Shanghai")
    with pytest.raises(ValueError):
        settings_from({"caps": [{"limit": 1, "channel": "pigeon"}]}, "Asia/Shanghai")
