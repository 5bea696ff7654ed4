"""A group live code at work: the public page's choice (counted per group per day, alerts written
once), the worker's alert check for codes nobody is viewing, and the alert webhooks.

The page never waits on anything remote: it reads the code and its groups, writes one counter and,
rarely, an alert row, in one short write transaction. Webhooks go from the worker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Connection

from siyu import clock
from siyu.acquisition import group_codes_store as store
from siyu.acquisition.group_codes import Entry, Strategy, alerts_due, choose
from siyu.channels import http
from siyu.db.counters import counter_for
from siyu.db.engine import read, write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

log = logging.getLogger("siyu.group_codes")
WEBHOOK_ATTEMPTS = 5


def entries(rows: list[dict[str, Any]]) -> list[Entry]:
    return [Entry(id=r["id"], position=r["position"], label=r["label"], capacity=r["capacity"], count=r["count"],
                  uploaded_at=r["uploaded_at"], expires_at=r["expires_at"], removed=r["removed_at"] is not None)
            for r in rows]


def check_alerts(conn: Connection, code: dict[str, Any], rows: list[dict[str, Any]], now: datetime) -> list[int]:
    """Write the alerts due for this code (each once); the ids of new ones."""
    new = []
    for alert in alerts_due(entries(rows), now):
        alert_id = store.record_alert(conn, code["workspace_id"], code["id"], kind=alert.kind.value, key=alert.key,
                                      message=alert.message, details=alert.details,
                                      webhook=bool(code["alert_webhook_url"]), now=now)
        if alert_id is not None:
            new.append(alert_id)
            log.warning("group code %s (workspace %s): %s", code["id"], code["workspace_id"], alert.message)
    return new


def view(rt: Runtime, token: str) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """A view of the public page: ``(code, the group to show or None)``; None for no such (active) code.

    Read-only unless an alert falls due: the view itself is counted in memory and written with the
    others within a second (:mod:`siyu.db.counters`), so a code shared in a live stream costs no write
    transaction per scan."""
    with read(rt.engine) as conn:
        code = store.code_by_token(conn, token)
        if code is None or code["status"] != "active":
            return None
        now = clock.now()
        rows = store.entries_of(conn, code["workspace_id"], code["id"])
        chosen = choose(entries(rows), Strategy(code["strategy"]), now)
        zone = ZoneInfo(workspace_store.get_workspace(conn, code["workspace_id"]).timezone)
    day = now.astimezone(zone).date().isoformat()
    views(rt).add((code["workspace_id"], code["id"], chosen.id if chosen else 0, day))
    if alerts_due(entries(rows), now):
        with write(rt.engine) as conn:
            check_alerts(conn, code, rows, now)
    shown = next((row for row in rows if chosen is not None and row["id"] == chosen.id), None)
    return code, shown


def _write_views(conn: Connection, counts: dict[Any, int]) -> None:
    for (workspace_id, code_id, entry_id, day), count in sorted(counts.items()):
        store.count_shown(conn, workspace_id, code_id, entry_id, day, count)


def views(rt: Runtime) -> Any:
    """The process's page-view counter for group live codes."""
    return counter_for(rt, "group_code_views", _write_views)


def check_all(rt: Runtime) -> int:
    """The worker's pass over every active code: alerts that time alone makes due (an expiry
    nearing), or member counts changed by a sync. How many new alerts."""
    with write(rt.engine) as conn:
        codes = store.active_codes(conn)
    new = 0
    for code in codes:
        with write(rt.engine) as conn:
            rows = store.entries_of(conn, code["workspace_id"], code["id"])
            if rows:
                new += len(check_alerts(conn, code, rows, clock.now()))
    return new


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhooks(rt: Runtime) -> int:
    """POST each new alert to its code's webhook (JSON; ``X-Siyu-Signature``: HMAC-SHA256 of the
    body with SIYU_SECRET's session secret); how many went."""
    with write(rt.engine) as conn:
        claimed = store.claim_pending_webhooks(conn, 50)
    sent = 0
    for alert in claimed:
        body = json.dumps({"type": "group_code.alert", "alert_id": alert["id"], "kind": alert["kind"],
                           "code_id": alert["code_id"], "code_name": alert["code_name"], "message": alert["message"],
                           "details": alert["details"], "created_at": alert["created_at"].isoformat()},
                          ensure_ascii=False).encode()
        try:
            answer = http.client().post(alert["alert_webhook_url"], content=body, timeout=10, headers={
                "Content-Type": "application/json", "X-Siyu-Signature": signature(rt.session_secret(), body)})
            ok = 200 <= answer.status_code < 300
        except httpx.HTTPError as error:
            log.warning("group code alert %s: webhook failed: %s", alert["id"], error)
            ok = False
        status = "sent" if ok else "failed" if alert["webhook_attempts"] + 1 >= WEBHOOK_ATTEMPTS else "pending"
        with write(rt.engine) as conn:
            store.mark_webhook(conn, alert["workspace_id"], alert["id"], status)
        sent += ok
    return sent
