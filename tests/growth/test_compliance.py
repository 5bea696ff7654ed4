"""Compliance: rewards for sharing to Moments or groups, share wording, distribution depth."""

from __future__ import annotations

import pytest

from siyu.growth.compliance import Severity, check_rules, has_errors

DESCRIPTION = {"zh": "邀请好友扫码关注,好友首单后你得 10 元券。",
               "en": "Invite a friend; get a coupon after their first order."}


def codes(findings):
    return {(f.code, f.severity, f.field) for f in findings}


def test_clean_referral_rules_have_no_findings():
    assert check_rules("referral", {"description": DESCRIPTION, "share_reward_targets": []}) == []


@pytest.mark.parametrize("target,severity", [("moments", Severity.ERROR), ("group", Severity.ERROR),
                                             ("friend", Severity.WARNING)])
def test_rewards_for_sharing_are_flagged(target, severity):
    findings = check_rules("referral", {"description": DESCRIPTION, "share_reward_targets": [target]})
    assert codes(findings) == {(f"compliance.share_reward_{target}", severity, "share_reward_targets.0")}
    assert findings[0].message_zh and findings[0].message_en


@pytest.mark.parametrize("text,code", [
    ("转发到朋友圈即可领取红包", "compliance.inducing_text_moments"),
    ("分享到3个群", "compliance.inducing_text_group"),
    ("集赞 38 个送面膜", "compliance.inducing_text_collect_likes"),
    ("分享后即可查看答案", "compliance.inducing_text_share_to_unlock"),
    ("不转不是中国人", "compliance.inducing_text_goading"),
    ("Share to your Moments to win", "compliance.inducing_text_moments"),
    ("Share and unlock the full guide", "compliance.inducing_text_share_to_unlock"),
])
def test_share_wording_is_flagged_where_it_is(text, code):
    findings = check_rules("assist", {"description": DESCRIPTION, "share_text": {"zh": text, "en": "ok"}})
    assert any(f.code == code and f.field.startswith("share_text") for f in findings), findings
    assert has_errors(findings)


def test_assist_and_bargain_carry_the_external_link_warning():
    for kind in ("assist", "bargain"):
        findings = check_rules(kind, {"description": DESCRIPTION})
        assert codes(findings) == {(f"compliance.{kind}_external_link", Severity.WARNING, "")}
        assert not has_errors(findings)


def test_rules_must_be_shown_and_auto_fill_disclosed():
    findings = check_rules("group_buy", {"auto_fill": True})
    assert {f.code for f in findings} == {"compliance.rules_missing", "compliance.group_buy_auto_fill"}
    assert findings[0].severity is Severity.ERROR


@pytest.mark.parametrize("levels,flagged", [(1, False), (2, False), (3, True), ([{}, {}, {}], True)])
def test_distribution_beyond_two_levels_is_an_error(levels, flagged):
    findings = check_rules("distribution", {"levels": levels})
    assert any(f.code == "compliance.distribution_levels" for f in findings) is flagged
    if flagged:
        assert "224" in findings[0].message_zh and "3" in findings[0].message_en


@pytest.mark.parametrize("text", ["入群领红包", "加入会员群享专属价", "下单后发红包群里抽奖", "邀请好友扫码关注"])
def test_ordinary_wording_is_not_flagged(text):
    assert check_rules("referral", {"description": {"zh": text, "en": "Join"}}) == []


def test_a_follow_reward_is_noted_not_blocked():
    findings = check_rules("referral", {"description": DESCRIPTION, "qualifying": "follow_stay"})
    assert codes(findings) == {("compliance.follow_reward", Severity.INFO, "qualifying")}
    assert not has_errors(findings)
    assert check_rules("referral", {"description": DESCRIPTION, "qualifying": "first_order"}) == []
