"""Anti-fraud decisions: hard rules, the score, new customers against the identity graph, revocation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.growth.fraud import (
    FraudPolicy,
    InviteFacts,
    ReasonCode,
    Verdict,
    assess_invite,
    is_new_customer,
    revoke_credit,
)

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
CLEAN = InviteFacts(inviter_profile_id=1, invitee_profile_id=2, invited_at=T0, invitee_first_seen_at=T0,
                    device_cluster_size=1, ip_cluster_size=1, invites_last_hour=1, invites_last_day=1)


def test_a_clean_invite_is_allowed_with_score_zero():
    decision = assess_invite(CLEAN)
    assert (decision.verdict, decision.risk_score, decision.reasons) == (Verdict.ALLOW, 0, [])


@pytest.mark.parametrize("change,code", [
    ({"invitee_profile_id": 1}, ReasonCode.SELF_INVITE),
    ({"invite_cycle": True}, ReasonCode.INVITE_CYCLE),
])
def test_self_invites_and_cycles_are_denied_whatever_the_score(change, code):
    decision = assess_invite(replace(CLEAN, **change))
    assert decision.verdict is Verdict.DENY and decision.risk_score == 100
    assert [r.code for r in decision.reasons] == [code]


@pytest.mark.parametrize("change,verdict,score,codes", [
    ({"ip_cluster_size": 5}, Verdict.ALLOW, 20, ["ip_cluster"]),
    ({"device_cluster_size": 3}, Verdict.REVIEW, 40, ["device_cluster"]),
    ({"phone_cluster_size": 2}, Verdict.REVIEW, 40, ["phone_cluster"]),
    ({"inviter_device_match": True}, Verdict.REVIEW, 50, ["inviter_device"]),
    ({"invites_last_hour": 10}, Verdict.ALLOW, 30, ["velocity_hour"]),
    ({"invites_last_hour": 10, "invites_last_day": 50}, Verdict.REVIEW, 60, ["velocity_hour", "velocity_day"]),
    ({"device_cluster_size": 4, "phone_cluster_size": 3}, Verdict.DENY, 80, ["device_cluster", "phone_cluster"]),
    ({"device_cluster_size": 9, "phone_cluster_size": 9, "inviter_device_match": True, "ip_cluster_size": 9},
     Verdict.DENY, 100, ["device_cluster", "ip_cluster", "phone_cluster", "inviter_device"]),
])
def test_scored_signals(change, verdict, score, codes):
    decision = assess_invite(replace(CLEAN, **change))
    assert (decision.verdict, decision.risk_score) == (verdict, score)
    assert [r.code for r in decision.reasons] == codes
    assert all(r.detail for r in decision.reasons)


def test_thresholds_and_weights_are_the_policy():
    policy = FraudPolicy.from_dict({"ip_cluster_at": 2, "weights": {"ip_cluster": 90}, "unknown": 1})
    decision = assess_invite(replace(CLEAN, ip_cluster_size=2), policy)
    assert (decision.verdict, decision.risk_score) == (Verdict.DENY, 90)


def test_someone_merged_into_an_old_profile_is_not_new():
    merged = replace(CLEAN, invitee_first_seen_at=T0 - timedelta(days=200), invitee_merged_profiles=1)
    assert not is_new_customer(merged, FraudPolicy())
    decision = assess_invite(merged, FraudPolicy(new_customers_only=True))
    assert decision.verdict is Verdict.DENY and not decision.invitee_is_new
    assert decision.reasons[0].code == ReasonCode.NOT_NEW_CUSTOMER and "merged" in decision.reasons[0].detail
    assert assess_invite(merged).verdict is Verdict.ALLOW  # not required: recorded, not refused


def test_identifiers_created_by_the_invite_scan_itself_still_count_as_new():
    policy = FraudPolicy()
    assert is_new_customer(replace(CLEAN, invitee_first_seen_at=T0 - timedelta(minutes=5)), policy)
    assert not is_new_customer(replace(CLEAN, invitee_first_seen_at=T0 - timedelta(minutes=11)), policy)
    assert not is_new_customer(replace(CLEAN, invitee_first_order_at=T0 - timedelta(days=1)), policy)


@pytest.mark.parametrize("unfollow,leave,revoked,code", [
    (timedelta(hours=1), None, True, ReasonCode.UNFOLLOWED),
    (None, timedelta(days=6, hours=23), True, ReasonCode.LEFT_GROUP),
    (timedelta(days=7), None, False, None),
    (timedelta(days=3), timedelta(days=1), True, ReasonCode.LEFT_GROUP),
    (None, None, False, None),
])
def test_credit_is_revoked_for_an_unfollow_or_leave_within_the_window(unfollow, leave, revoked, code):
    result = revoke_credit(credited_at=T0, unfollowed_at=unfollow and T0 + unfollow,
                           left_group_at=leave and T0 + leave, within_days=7)
    assert result.revoke is revoked
    assert (result.reason.code if result.reason else None) == code


def test_policy_settings_ignore_unknown_keys_and_name_bad_values():
    policy = FraudPolicy.from_dict({"per_hour": 3, "new_customer_grace_minutes": 2, "new_customers_only": 1,
                                    "weights": {"velocity_hour": 70, "future_signal": 5}, "something_else": "x"})
    assert (policy.per_hour, policy.new_customer_grace, policy.new_customers_only) == (3, timedelta(minutes=2), True)
    assert policy.weights[ReasonCode.VELOCITY_HOUR] == 70 and policy.weights[ReasonCode.IP_CLUSTER] == 20
    assert assess_invite(replace(CLEAN, invites_last_hour=3), policy).verdict is Verdict.REVIEW
    for bad in ({"per_hour": "ten"}, {"deny_at": -1}, {"weights": {"ip_cluster": 1.5}}, {"weights": [1]},
                {"review_at": True}):
        with pytest.raises(ValueError, match="fraud"):
            FraudPolicy.from_dict(bad)


facts_strategy = st.builds(
    InviteFacts, inviter_profile_id=st.just(1), invitee_profile_id=st.just(2), invited_at=st.just(T0),
    invitee_first_seen_at=st.just(T0), device_cluster_size=st.integers(0, 10), ip_cluster_size=st.integers(0, 10),
    phone_cluster_size=st.integers(0, 10), inviter_device_match=st.booleans(), invites_last_hour=st.integers(0, 30),
    invites_last_day=st.integers(0, 100), invite_cycle=st.booleans())
ORDER = {Verdict.ALLOW: 0, Verdict.REVIEW: 1, Verdict.DENY: 2}


@given(facts_strategy, st.sampled_from(["device_cluster_size", "ip_cluster_size", "phone_cluster_size",
                                        "invites_last_hour", "invites_last_day"]), st.integers(1, 20))
@settings(max_examples=400, deadline=None)
def test_more_evidence_never_lowers_the_score_or_the_verdict(facts, field, more):
    before = assess_invite(facts)
    after = assess_invite(replace(facts, **{field: getattr(facts, field) + more}))
    assert after.risk_score >= before.risk_score and ORDER[after.verdict] >= ORDER[before.verdict]
    assert 0 <= after.risk_score <= 100
    assert after.risk_score == min(100, sum(r.weight for r in after.reasons))
