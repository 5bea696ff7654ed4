"""The vocabulary of journey scenarios: people and events in through the real ingest API, journeys
through the management API, one engine round at a time, and what landed in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from siyu.db.engine import read, write
from siyu.db.tables import journey_entries, messages
from siyu.journeys import engine
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

NOON = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, a Wednesday


def quiet_policy(runtime: Runtime, workspace_id: int, **policy: Any) -> None:
    """No quiet hours or cooldown unless a test asks: scenarios look at what the journey queued."""
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace_id, {
            "messaging": {"quiet_start": None, "cooldown_minutes": 0, "caps": [], **policy}})


def person(client: Any, workspace: Any, user: str, **traits: Any) -> int:
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""),
                       json={"userId": user, "traits": {"email": f"{user}@example.cn", **traits}})
    assert sent.status_code == 200, sent.text
    found = client.get("/api/profiles/lookup", params={"type": "user_id", "value": user}, headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return found.json()["id"]


def track(client: Any, workspace: Any, user: str, event: str, **properties: Any) -> None:
    sent = client.post("/v1/track", auth=(workspace.write_key, ""),
                       json={"userId": user, "event": event, "properties": properties})
    assert sent.status_code == 200, sent.text


def live(client: Any, workspace: Any, definition: dict[str, Any], name: str = "旅程") -> dict[str, Any]:
    created = client.post("/api/journeys", headers=workspace.bearer(), json={"name": name, "definition": definition})
    assert created.status_code == 201, created.text
    published = client.post(f"/api/journeys/{created.json()['id']}/publish", headers=workspace.bearer())
    assert published.status_code == 200, published.text
    return published.json()


def run(runtime: Runtime, workspace: Any) -> engine.RoundReport:
    """One round of the engine for this test's workspace (other tests share the database)."""
    return engine.run_due(runtime.engine, workspace_id=workspace.id)


def queued(runtime: Runtime, workspace: Any, journey_id: int) -> list[dict[str, Any]]:
    """The journey's outbox rows, oldest first."""
    with read(runtime.engine) as conn:
        rows = conn.execute(select(messages).where(messages.c.workspace_id == workspace.id,
                                                   messages.c.source == f"journey:{journey_id}")
                            .order_by(messages.c.id))
        return [dict(r._mapping) for r in rows]


def entries(runtime: Runtime, workspace: Any, journey_id: int) -> list[dict[str, Any]]:
    with read(runtime.engine) as conn:
        rows = conn.execute(select(journey_entries).where(journey_entries.c.workspace_id == workspace.id,
                                                          journey_entries.c.journey_id == journey_id)
                            .order_by(journey_entries.c.id))
        return [dict(r._mapping) for r in rows]


def subject(message: dict[str, Any], language: str = "zh") -> str:
    payload = message["payload"]
    template = payload.get("$template", payload)
    value = template["subject"]
    return value[language] if isinstance(value, dict) else value


def email(subject_text: str, text: str = "正文", purpose: str = "marketing") -> dict[str, Any]:
    return {"channel": "email", "purpose": purpose, "content": {"subject": subject_text, "text": text}}
