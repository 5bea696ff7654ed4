"""Campaign test helpers: people, events and campaigns made through the real HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from siyu import clock

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
DESCRIPTION = {"zh": "邀请好友关注并下单，双方各得一张券。",
               "en": "Invite a friend to follow and order; you both get a coupon."}
OPERATOR = {"name": "悦妆旗舰店 Yuezhuang Store", "contact": "400-800-1234"}


def person(client: Any, workspace: Any, user_id: str, **traits: Any) -> int:
    """A profile (``user_id``), first seen now; its id."""
    answer = client.post("/v1/identify", auth=(workspace.write_key, ""),
                         json={"userId": user_id, "traits": {"name": user_id, **traits},
                               "timestamp": clock.now().isoformat()})
    assert answer.status_code == 200, answer.text
    found = client.get("/api/profiles/lookup", params={"type": "user_id", "value": user_id},
                       headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return int(found.json()["id"])


def track(client: Any, workspace: Any, user_id: str, name: str, **properties: Any) -> None:
    answer = client.post("/v1/track", auth=(workspace.write_key, ""),
                         json={"userId": user_id, "event": name, "properties": properties,
                               "timestamp": clock.now().isoformat()})
    assert answer.status_code == 200, answer.text


def run_worker(runtime: Any, client: Any, workspace: Any) -> dict[str, int]:
    """Queued events resolved into the log, then the campaigns' step (what `siyu worker` does)."""
    from siyu.ingest.resolver import resolve_queued

    resolve_queued(runtime.engine)
    answer = client.post("/api/campaigns/run-due", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return answer.json()


def campaign(client: Any, workspace: Any, kind: str, rules: dict[str, Any], *, launch: bool = True,
             days: int = 30, budget_fen: int | None = None, name: str = "双十二老带新") -> dict[str, Any]:
    body = {"kind": kind, "name": name, "rules": {"description": DESCRIPTION, **rules}, "operator": OPERATOR,
            "starts_at": clock.now().isoformat(), "ends_at": (clock.now() + timedelta(days=days)).isoformat(),
            "budget_fen": budget_fen}
    created = client.post("/api/campaigns", json=body, headers=workspace.bearer())
    assert created.status_code == 201, created.text
    if not launch:
        return created.json()
    launched = client.post(f"/api/campaigns/{created.json()['id']}/launch", headers=workspace.bearer())
    assert launched.status_code == 200, launched.text
    return launched.json()


def join(client: Any, workspace: Any, campaign_id: int, profile_id: int) -> dict[str, Any]:
    answer = client.post(f"/api/campaigns/{campaign_id}/participants", json={"profile_id": profile_id},
                         headers=workspace.bearer())
    assert answer.status_code == 201, answer.text
    return answer.json()


def arrive(client: Any, workspace: Any, campaign_id: int, what: str, ref: str, profile_id: int,
           **facts: Any) -> Any:
    """POST an invite or a help; the raw response."""
    return client.post(f"/api/campaigns/{campaign_id}/{what}", json={"ref": ref, "profile_id": profile_id, **facts},
                       headers=workspace.bearer())


def rewards(client: Any, workspace: Any, campaign_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/api/campaigns/{campaign_id}/rewards", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return answer.json()
