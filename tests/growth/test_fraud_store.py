"""Anti-fraud facts from the identity graph and the invite log, decisions stored once, and the review
queue with its effects — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from siyu import clock
from siyu.db.engine import read, write
from siyu.growth import fraud_store, review_effects
from siyu.growth.fraud import FraudDecision, FraudPolicy, Reason, ReasonCode, Verdict, assess_invite
from siyu.growth.fraud_store import ReviewConflict, ReviewNotFound, ReviewStatus
from tests.growth.fraud_people import identify, person, profile_id

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
CAMPAIGN = 7


def facts(runtime, workspace, inviter, invitee, *, device=None, ip=None, phone=None, campaign=CAMPAIGN):  # noqa: ANN001, ANN201
    with write(runtime.engine) as conn:
        return fraud_store.gather_invite_facts(conn, workspace.id, campaign_id=campaign, inviter_profile_id=inviter,
                                               invitee_profile_id=invitee, device_id=device, ip=ip, phone=phone,
                                               now=clock.now())


def test_a_fresh_invitee_is_new_and_clean(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    inviter = person(client, workspace, "inviter")
    clock.freeze(T0 + timedelta(days=1))
    invitee = person(client, workspace, "friend")
    found = facts(runtime, workspace, inviter, invitee, device="dev-1", ip="10.0.0.1")
    assert (found.inviter_profile_id, found.invitee_profile_id) == (inviter, invitee)
    assert found.invited_at == T0 + timedelta(days=1)
    assert (found.device_cluster_size, found.ip_cluster_size, found.invites_last_hour) == (1, 1, 1)
    assert not found.invite_cycle and not found.inviter_device_match
    assert assess_invite(found, FraudPolicy(new_customers_only=True)).verdict is Verdict.ALLOW


def test_someone_merged_into_an_existing_customer_is_not_new(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0 - timedelta(days=200))
    old = person(client, workspace, "old-customer", phone="+8613912345678")
    clock.freeze(T0)
    inviter = person(client, workspace, "inviter")
    identify(client, workspace, anonymous_id="scan-1")
    newcomer = profile_id(client, workspace, "anonymous_id", "scan-1")
    assert newcomer != old
    fresh = facts(runtime, workspace, inviter, newcomer)
    assert assess_invite(fresh, FraudPolicy(new_customers_only=True)).verdict is Verdict.ALLOW
    clock.freeze(T0 + timedelta(minutes=30))
    identify(client, workspace, anonymous_id="scan-1", traits={"phone": "+8613912345678"})
    merged = facts(runtime, workspace, inviter, newcomer)
    assert merged.invitee_profile_id == profile_id(client, workspace, "anonymous_id", "scan-1")
    assert merged.invitee_first_seen_at <= T0 - timedelta(days=199)
    decision = assess_invite(merged, FraudPolicy(new_customers_only=True))
    assert decision.verdict is Verdict.DENY and decision.reasons[0].code == ReasonCode.NOT_NEW_CUSTOMER


def test_self_invite_through_a_merge_and_cycles(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    a, b, c = (person(client, workspace, name) for name in ("a", "b", "c"))
    assert not facts(runtime, workspace, a, b).invite_cycle
    assert not facts(runtime, workspace, b, c).invite_cycle
    assert facts(runtime, workspace, c, a).invite_cycle  # a → b → c → a
    assert not facts(runtime, workspace, c, a, campaign=CAMPAIGN + 1).invite_cycle  # another campaign's graph
    assert facts(runtime, workspace, a, a).invitee_profile_id == a


def test_clusters_velocity_and_the_inviters_own_device(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    inviter = person(client, workspace, "farmer")
    identify(client, workspace, user_id="farmer", anonymous_id="farm-phone")
    invitees = [person(client, workspace, f"sock-{i}") for i in range(4)]
    last = None
    for i, invitee in enumerate(invitees):
        clock.freeze(T0 + timedelta(minutes=i))
        last = facts(runtime, workspace, inviter, invitee, device="farm-phone", ip="1.2.3.4", phone="+8613900000000")
    assert (last.device_cluster_size, last.ip_cluster_size, last.phone_cluster_size) == (4, 4, 4)
    assert last.invites_last_hour == 4 and last.inviter_device_match
    again = facts(runtime, workspace, inviter, invitees[0], device="other")  # a repeat logs nothing new
    assert again.invites_last_hour == 4 and again.invited_at == T0
    decision = assess_invite(last)
    assert decision.verdict is Verdict.DENY
    assert {r.code for r in decision.reasons} >= {"device_cluster", "phone_cluster", "inviter_device"}
    clock.freeze(T0 + timedelta(days=31))
    stranger = person(client, workspace, "late-friend")
    late = facts(runtime, workspace, inviter, stranger, device="farm-phone")
    assert (late.device_cluster_size, late.invites_last_day) == (1, 1)  # a month later only this one counts


REVIEW = FraudDecision(Verdict.REVIEW, 50,
                       [Reason("inviter_device", 50, "The invitee used a device the inviter used.")])


def record(runtime, workspace, subject: str, decision: FraudDecision = REVIEW) -> int:  # noqa: ANN001
    with write(runtime.engine) as conn:
        return fraud_store.record_decision(conn, workspace.id, campaign_id=CAMPAIGN, subject_kind="credit",
                                           subject_id=subject, inviter_profile_id=1, invitee_profile_id=2,
                                           decision=decision, now=clock.now())


def test_every_decision_is_stored_once_with_its_reasons(runtime, workspace, other_workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    first = record(runtime, workspace, "11")
    assert record(runtime, workspace, "11") == first
    allowed = record(runtime, workspace, "12", FraudDecision(Verdict.ALLOW, 0, []))
    with read(runtime.engine) as conn:
        stored = fraud_store.get_decision(conn, workspace.id, first)
        queue = fraud_store.review_queue(conn, workspace.id)
        everything = fraud_store.review_queue(conn, workspace.id, status=None)
        assert fraud_store.review_queue(conn, other_workspace.id, status=None) == []
        with pytest.raises(ReviewNotFound):
            fraud_store.get_decision(conn, other_workspace.id, first)
    assert stored.reasons == [{"code": "inviter_device", "weight": 50,
                               "detail": "The invitee used a device the inviter used."}]
    assert (stored.verdict, stored.risk_score, stored.review_status) == ("review", 50, ReviewStatus.PENDING)
    assert [d.id for d in queue] == [first]
    assert [d.id for d in everything] == [allowed, first]


def test_a_review_is_resolved_once_and_its_effect_runs_once(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    calls: list[tuple[int, str]] = []

    def granted(conn, workspace_id, decision, now) -> None:  # noqa: ANN001
        calls.append((decision.id, decision.review_status.value))

    review_effects.register_review_effect("approve", granted, subject_kind="credit")
    try:
        decision_id = record(runtime, workspace, "21")
        with write(runtime.engine) as conn:
            done, changed = fraud_store.resolve_review(conn, workspace.id, decision_id, verdict="approve",
                                                       operator="ops@brand", note="same family", now=clock.now())
        with write(runtime.engine) as conn:
            again, changed_again = fraud_store.resolve_review(conn, workspace.id, decision_id, verdict="approve",
                                                              operator="other", note=None, now=clock.now())
            with pytest.raises(ReviewConflict):
                fraud_store.resolve_review(conn, workspace.id, decision_id, verdict="reject", operator="x",
                                           note=None, now=clock.now())
    finally:
        review_effects.unregister_review_effect("approve", granted, subject_kind="credit")
    assert (changed, changed_again) == (True, False)
    assert (done.review_status, done.reviewed_by, done.review_note) == (ReviewStatus.APPROVED, "ops@brand",
                                                                         "same family")
    assert again.reviewed_by == "ops@brand"
    assert calls == [(decision_id, "approved")]


def test_a_failing_effect_leaves_the_review_pending(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)

    def broken(conn, workspace_id, decision, now) -> None:  # noqa: ANN001
        raise RuntimeError("offer service down")

    review_effects.register_review_effect("reject", broken)
    try:
        decision_id = record(runtime, workspace, "31")
        with pytest.raises(RuntimeError), write(runtime.engine) as conn:
            fraud_store.resolve_review(conn, workspace.id, decision_id, verdict="reject", operator="ops", note=None,
                                       now=clock.now())
    finally:
        review_effects.unregister_review_effect("reject", broken)
    with read(runtime.engine) as conn:
        assert fraud_store.get_decision(conn, workspace.id, decision_id).review_status is ReviewStatus.PENDING


def test_concurrent_resolutions_run_the_effect_exactly_once(runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    decision_id = record(runtime, workspace, "41")
    calls: list[int] = []
    lock = threading.Lock()

    def counted(conn, workspace_id, decision, now) -> None:  # noqa: ANN001
        with lock:
            calls.append(decision.id)

    outcomes: list[object] = []

    def resolve(verdict: str) -> None:
        try:
            with write(runtime.engine) as conn:
                outcomes.append(fraud_store.resolve_review(conn, workspace.id, decision_id, verdict=verdict,
                                                           operator=verdict, note=None, now=T0)[1])
        except ReviewConflict as error:
            outcomes.append(error.code)

    review_effects.register_review_effect("approve", counted)
    review_effects.register_review_effect("reject", counted)
    try:
        threads = [threading.Thread(target=resolve, args=("approve" if i % 2 else "reject",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        review_effects.unregister_review_effect("approve", counted)
        review_effects.unregister_review_effect("reject", counted)
    assert calls == [decision_id]
    assert outcomes.count(True) == 1
    assert set(outcomes) - {True} <= {False, "growth.review_conflict"}


def test_the_campaigns_effects_are_found_without_importing_them_first() -> None:
    """`siyu reviews approve` imports only the review queue: EFFECT_MODULES brings the campaigns'
    effects in (a fresh interpreter, so nothing else imported them)."""
    import subprocess
    import sys

    code = ("from siyu.growth.fraud_store import ReviewAction\nfrom siyu.growth.review_effects import effects_for\n"
            "found = {a: [e.__module__ for e in effects_for('campaign_credit', a)] for a in ReviewAction}\n"
            "assert all('siyu.growth.credits' in m for m in found.values()), found\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_phone_shared_by_two_invitees_is_a_cluster_without_the_caller_passing_it(runtime, client,  # noqa: ANN001
                                                                                   workspace) -> None:
    clock.freeze(T0)
    inviter = person(client, workspace, "inviter")
    first = person(client, workspace, "sock-a", phone="139 1234 5670")
    second = person(client, workspace, "sock-b", phone="+86 139-1234-5670")  # the link is refused: a trait only
    assert first != second
    assert facts(runtime, workspace, inviter, first).phone_cluster_size == 1
    shared = facts(runtime, workspace, inviter, second)
    assert shared.phone_cluster_size == 2
    decision = assess_invite(shared)
    assert decision.verdict is Verdict.REVIEW and [r.code for r in decision.reasons] == ["phone_cluster"]


def test_a_revocation_is_stored_beside_the_first_decision(runtime, workspace) -> None:  # noqa: ANN001
    from siyu.growth.fraud import revoke_credit

    clock.freeze(T0)
    allowed = record(runtime, workspace, "51", FraudDecision(Verdict.ALLOW, 0, []))
    kept = revoke_credit(credited_at=T0, unfollowed_at=T0 + timedelta(days=9), within_days=7)
    taken = revoke_credit(credited_at=T0, unfollowed_at=T0 + timedelta(hours=3), within_days=7)
    with write(runtime.engine) as conn:
        args = dict(campaign_id=CAMPAIGN, subject_kind="credit", subject_id="51", inviter_profile_id=1,
                    invitee_profile_id=2, now=T0)
        assert fraud_store.record_revocation(conn, workspace.id, revocation=kept, **args) is None
        revoked = fraud_store.record_revocation(conn, workspace.id, revocation=taken, **args)
        assert fraud_store.record_revocation(conn, workspace.id, revocation=taken, **args) == revoked
        stored = fraud_store.get_decision(conn, workspace.id, revoked)
        summary = fraud_store.decision_summary(conn, workspace.id, campaign_id=CAMPAIGN)
    assert revoked != allowed and stored.subject_kind == "credit.revoked" and stored.verdict == "deny"
    assert stored.reasons[0]["code"] == "unfollowed" and "3.0 h" in stored.reasons[0]["detail"]
    assert summary["verdicts"]["deny"] == 1 and summary["reasons"] == {"unfollowed": 1}
