"""The campaign editor's API on both databases: rules validated per kind with stable codes, compliance
findings with their reasons, the draft → live → ended life, and tenancy."""

from __future__ import annotations

from siyu import clock
from tests.growth.campaign_helpers import DESCRIPTION, OPERATOR, START, campaign

REFERRAL = {"inviter_reward": {"cost_fen": 500}, "invitee_reward": {"cost_fen": 300}, "attribution_days": 7}


def _body(kind: str, rules: dict, **more) -> dict:  # noqa: ANN003
    return {"kind": kind, "name": "test", "rules": rules, "operator": OPERATOR,
            "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z", **more}


def test_bad_rules_are_refused_with_a_stable_code_and_where(client, workspace) -> None:  # noqa: ANN001
    answer = client.post("/api/campaigns", headers=workspace.bearer(),
                         json=_body("task_unlock", {"description": DESCRIPTION, "tiers": [
                             {"threshold": 10, "stock": 5, "reward": {}}, {"threshold": 3, "stock": 5, "reward": {}}]}))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "campaigns.invalid_rules"
    assert "rise strictly" in error["details"]["errors"][0]["message"]
    missing = client.post("/api/campaigns", headers=workspace.bearer(),
                          json=_body("assist", {"description": DESCRIPTION, "reward": {}}))
    assert missing.status_code == 422
    assert [e["loc"] for e in missing.json()["error"]["details"]["errors"]] == ["helpers_needed"]
    unknown = client.post("/api/campaigns", headers=workspace.bearer(), json=_body("lottery", {}))
    assert unknown.status_code in (400, 422) and "error" in unknown.json()


def test_the_window_and_the_operator_are_required(client, workspace) -> None:  # noqa: ANN001
    rules = {"description": DESCRIPTION, **REFERRAL}
    backwards = client.post("/api/campaigns", headers=workspace.bearer(),
                            json=_body("referral", rules, ends_at="2026-11-01T00:00:00Z"))
    assert backwards.json()["error"]["code"] == "campaigns.invalid_window"
    nameless = client.post("/api/campaigns", headers=workspace.bearer(),
                           json=_body("referral", rules, operator={"name": " "}))
    assert nameless.json()["error"]["code"] == "campaigns.operator_required"


def test_validate_shows_compliance_findings_with_the_reason(client, workspace) -> None:  # noqa: ANN001
    rules = {"description": {"zh": "分享到朋友圈即可领取优惠券", "en": "Get a coupon"}, **REFERRAL,
             "share_reward_targets": ["moments"]}
    answer = client.post("/api/campaigns/validate", headers=workspace.bearer(),
                         json={"kind": "referral", "rules": rules})
    assert answer.status_code == 200
    found = answer.json()
    assert found["valid"] is True
    codes = {f["code"] for f in found["findings"]}
    assert {"compliance.share_reward_moments", "compliance.inducing_text_moments"} <= codes
    assert all(f["message_zh"] and f["message_en"] for f in found["findings"])
    broken = client.post("/api/campaigns/validate", headers=workspace.bearer(),
                         json={"kind": "referral", "rules": {"description": DESCRIPTION}})
    assert broken.json()["valid"] is False and broken.json()["errors"][0]["loc"] == "inviter_reward"


def test_a_campaign_that_breaks_a_platform_rule_cannot_launch(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    rules = {**REFERRAL, "share_reward_targets": ["group"]}
    draft = campaign(client, workspace, "referral", rules, launch=False)
    refused = client.post(f"/api/campaigns/{draft['id']}/launch", headers=workspace.bearer())
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "campaigns.compliance"
    assert refused.json()["error"]["details"]["findings"][0]["code"] == "compliance.share_reward_group"


def test_draft_live_ended_and_only_a_draft_is_edited(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    draft = campaign(client, workspace, "referral", REFERRAL, launch=False, budget_fen=10_000)
    assert draft["status"] == "draft" and draft["page_url"].endswith(f"/c/{draft['token']}")
    body = _body("referral", {"description": DESCRIPTION, **REFERRAL, "attribution_days": 14}, name="renamed",
                 budget_fen=10_000)
    edited = client.put(f"/api/campaigns/{draft['id']}", json=body, headers=workspace.bearer())
    assert edited.status_code == 200 and edited.json()["rules"]["attribution_days"] == 14
    live = client.post(f"/api/campaigns/{draft['id']}/launch", headers=workspace.bearer()).json()
    assert live["status"] == "live"
    shown = client.get(f"/api/campaigns/{draft['id']}", headers=workspace.bearer()).json()
    assert shown["counters"] == {"budget": {"cap": 10_000, "used": 0}}
    again = client.put(f"/api/campaigns/{draft['id']}", json=body, headers=workspace.bearer())
    assert (again.status_code, again.json()["error"]["code"]) == (409, "campaigns.not_draft")
    twice = client.post(f"/api/campaigns/{draft['id']}/launch", headers=workspace.bearer())
    assert twice.json()["error"]["code"] == "campaigns.not_draft"
    ended = client.post(f"/api/campaigns/{draft['id']}/end", headers=workspace.bearer())
    assert ended.json()["status"] == "ended"
    listed = client.get("/api/campaigns", params={"status": "ended"}, headers=workspace.bearer()).json()
    assert [c["id"] for c in listed] == [draft["id"]]


def test_another_workspace_sees_nothing(client, workspace, other_workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    mine = campaign(client, workspace, "referral", REFERRAL)
    theirs = other_workspace.bearer()
    assert client.get("/api/campaigns", headers=theirs).json() == []
    for path in ("", "/credits", "/rewards", "/measurement", "/leaderboard"):
        answer = client.get(f"/api/campaigns/{mine['id']}{path}", headers=theirs)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "campaigns.not_found"), path
    joined = client.post(f"/api/campaigns/{mine['id']}/participants", json={"profile_id": 1}, headers=theirs)
    assert joined.status_code == 404
