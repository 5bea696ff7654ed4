"""``/api/growth/reviews``: list, look, approve, reject — idempotent, scoped to the workspace, and
errors in the one shape."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu import clock
from siyu.db.engine import write
from siyu.growth import fraud_store
from siyu.growth.fraud import FraudDecision, Reason, Verdict

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def decided(runtime, workspace, subject: str, verdict: Verdict = Verdict.REVIEW, score: int = 50) -> int:  # noqa: ANN001
    decision = FraudDecision(verdict, score, [Reason("device_cluster", score, "3 invitees on one device.")])
    with write(runtime.engine) as conn:
        return fraud_store.record_decision(conn, workspace.id, campaign_id=3, subject_kind="test", subject_id=subject,
                                           inviter_profile_id=10, invitee_profile_id=11, decision=decision,
                                           now=clock.now())


def error_code(answer, status: int) -> str:  # noqa: ANN001
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]["code"]


def test_the_queue_lists_pending_reviews_and_filters(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    pending = decided(runtime, workspace, "1")
    denied = decided(runtime, workspace, "2", Verdict.DENY, 90)
    queue = client.get("/api/growth/reviews", headers=workspace.bearer())
    assert queue.status_code == 200
    assert [d["id"] for d in queue.json()] == [pending]
    assert queue.json()[0]["reasons"][0]["code"] == "device_cluster"
    everything = client.get("/api/growth/reviews", params={"status": "all"}, headers=workspace.bearer()).json()
    assert [d["id"] for d in everything] == [denied, pending]
    denials = client.get("/api/growth/reviews", params={"status": "all", "verdict": "deny"},
                         headers=workspace.bearer()).json()
    assert [d["id"] for d in denials] == [denied]
    one = client.get(f"/api/growth/reviews/{pending}", headers=workspace.bearer())
    assert one.status_code == 200 and one.json()["review_status"] == "pending"


def test_approve_is_idempotent_and_reject_after_it_conflicts(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    decision_id = decided(runtime, workspace, "3")
    first = client.post(f"/api/growth/reviews/{decision_id}/approve", headers=workspace.bearer(),
                        json={"note": "family, same Wi-Fi"})
    assert first.status_code == 200, first.text
    assert (first.json()["review_status"], first.json()["changed"], first.json()["review_note"]) == (
        "approved", True, "family, same Wi-Fi")
    assert first.json()["reviewed_by"].startswith("key:")
    again = client.post(f"/api/growth/reviews/{decision_id}/approve", headers=workspace.bearer())
    assert again.status_code == 200 and again.json()["changed"] is False
    assert error_code(client.post(f"/api/growth/reviews/{decision_id}/reject", headers=workspace.bearer()),
                      409) == "growth.review_conflict"
    assert client.get("/api/growth/reviews", headers=workspace.bearer()).json() == []


def test_an_allowed_decision_is_not_reviewable(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    decision_id = decided(runtime, workspace, "4", Verdict.ALLOW, 0)
    assert error_code(client.post(f"/api/growth/reviews/{decision_id}/reject", headers=workspace.bearer()),
                      409) == "growth.review_conflict"


def test_another_workspace_sees_nothing(runtime, client, workspace, other_workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    decision_id = decided(runtime, workspace, "5")
    assert client.get("/api/growth/reviews", headers=other_workspace.bearer()).json() == []
    assert error_code(client.get(f"/api/growth/reviews/{decision_id}", headers=other_workspace.bearer()),
                      404) == "growth.review_not_found"
    assert error_code(client.post(f"/api/growth/reviews/{decision_id}/approve", headers=other_workspace.bearer()),
                      404) == "growth.review_not_found"
    still = client.get(f"/api/growth/reviews/{decision_id}", headers=workspace.bearer()).json()
    assert still["review_status"] == "pending"


def test_bad_input_is_a_4xx_never_a_500(client, workspace) -> None:  # noqa: ANN001
    assert error_code(client.get("/api/growth/reviews", params={"status": "maybe"}, headers=workspace.bearer()),
                      400) == "request.invalid"
    assert error_code(client.get("/api/growth/reviews/0", headers=workspace.bearer()), 400) == "request.invalid"
    assert error_code(client.post("/api/growth/reviews/1/approve", headers=workspace.bearer(),
                                  json={"note": "x" * 3000}), 400) == "request.invalid"
    assert error_code(client.post("/api/growth/reviews/99999/approve", headers=workspace.bearer()),
                      404) == "growth.review_not_found"
    assert client.get("/api/growth/reviews").status_code == 401


def test_a_campaigns_summary_counts_verdicts_reviews_and_reasons(runtime, client, workspace,  # noqa: ANN001
                                                                  other_workspace) -> None:
    clock.freeze(T0)
    held = decided(runtime, workspace, "s1")
    decided(runtime, workspace, "s2")
    decided(runtime, workspace, "s3", Verdict.DENY, 90)
    decided(runtime, workspace, "s4", Verdict.ALLOW, 0)
    client.post(f"/api/growth/reviews/{held}/reject", headers=workspace.bearer())
    found = client.get("/api/growth/reviews/summary", params={"campaign_id": 3}, headers=workspace.bearer())
    assert found.status_code == 200, found.text
    assert found.json() == {"campaign_id": 3, "verdicts": {"allow": 1, "review": 2, "deny": 1},
                            "reviews": {"pending": 1, "approved": 0, "rejected": 1},
                            "reasons": {"device_cluster": 3}}
    elsewhere = client.get("/api/growth/reviews/summary", params={"campaign_id": 3},
                           headers=other_workspace.bearer()).json()
    assert elsewhere["verdicts"] == {"allow": 0, "review": 0, "deny": 0} and elsewhere["reasons"] == {}
    assert error_code(client.get("/api/growth/reviews/summary", headers=workspace.bearer()), 400) == "request.invalid"
