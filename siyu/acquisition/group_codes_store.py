"""SQL for group live codes: the codes, their groups (with QR images), daily figures, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import group_code_alerts, group_code_daily, group_code_groups, group_codes
from siyu.groups import store as group_store

codes_t, entries_t, daily_t, alerts_t = group_codes, group_code_groups, group_code_daily, group_code_alerts
ENTRY_COLUMNS = [c for c in entries_t.c if c.name != "qr_image"]  # images are read one at a time


def create_code(conn: Connection, workspace_id: int, *, token: str, name: str, title: str | None, strategy: str,
                alert_webhook_url: str | None, now: datetime) -> int:
    return int(conn.execute(codes_t.insert().values(
        workspace_id=workspace_id, token=token, name=name, title=title, strategy=strategy,
        alert_webhook_url=alert_webhook_url, status="active", created_at=now, updated_at=now,
    ).returning(codes_t.c.id)).scalar_one())


def get_code(conn: Connection, workspace_id: int, code_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(codes_t).where(codes_t.c.workspace_id == workspace_id,
                                             codes_t.c.id == code_id)).one_or_none()
    return None if row is None else dict(row._mapping)


def code_by_token(conn: Connection, token: str) -> dict[str, Any] | None:
    """The code behind a public page address.

    tenancy: cross-workspace (the random token is the address; the row names its workspace)
    """
    row = conn.execute(select(codes_t).where(codes_t.c.token == token)).one_or_none()
    return None if row is None else dict(row._mapping)


def list_codes(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(codes_t).where(codes_t.c.workspace_id == workspace_id)
                                                   .order_by(codes_t.c.id))]


def active_codes(conn: Connection) -> list[dict[str, Any]]:
    """Every active code, for the worker's alert check.

    tenancy: cross-workspace (the worker serves every workspace; each row carries its own)
    """
    return [dict(r._mapping) for r in conn.execute(select(codes_t).where(codes_t.c.status == "active"))]


def update_code(conn: Connection, workspace_id: int, code_id: int, now: datetime, **values: Any) -> None:
    conn.execute(update(codes_t).where(codes_t.c.workspace_id == workspace_id, codes_t.c.id == code_id)
                 .values(updated_at=now, **values))


def add_entry(conn: Connection, workspace_id: int, code_id: int, *, label: str, capacity: int, manual_count: int,
              group_id: int | None, image: bytes, mime: str, sha256: str, uploaded_at: datetime,
              expires_at: datetime, position: int | None) -> int:
    if position is None:
        position = int(conn.execute(select(func.coalesce(func.max(entries_t.c.position), 0)).where(
            entries_t.c.workspace_id == workspace_id, entries_t.c.code_id == code_id)).scalar_one()) + 1
    return int(conn.execute(entries_t.insert().values(
        workspace_id=workspace_id, code_id=code_id, position=position, label=label, group_id=group_id,
        capacity=capacity, manual_count=manual_count, qr_image=image, qr_mime=mime, qr_sha256=sha256,
        uploaded_at=uploaded_at, expires_at=expires_at, created_at=uploaded_at,
    ).returning(entries_t.c.id)).scalar_one())


def update_entry(conn: Connection, workspace_id: int, code_id: int, entry_id: int, **values: Any) -> bool:
    return conn.execute(update(entries_t).where(
        entries_t.c.workspace_id == workspace_id, entries_t.c.code_id == code_id, entries_t.c.id == entry_id,
        entries_t.c.removed_at.is_(None)).values(**values)).rowcount > 0


def entries_of(conn: Connection, workspace_id: int, code_id: int, *, include_removed: bool = False
               ) -> list[dict[str, Any]]:
    """The code's groups with ``count``: the linked community group's kept member count, else the
    manual count."""
    query = select(*ENTRY_COLUMNS).where(entries_t.c.workspace_id == workspace_id, entries_t.c.code_id == code_id)
    if not include_removed:
        query = query.where(entries_t.c.removed_at.is_(None))
    rows = [dict(r._mapping) for r in conn.execute(query.order_by(entries_t.c.position, entries_t.c.id))]
    linked = group_store.member_counts(conn, workspace_id, [r["group_id"] for r in rows if r["group_id"]])
    for row in rows:
        row["count"] = linked.get(row["group_id"], row["manual_count"]) if row["group_id"] else row["manual_count"]
    return rows


def entry_image(conn: Connection, workspace_id: int, code_id: int, entry_id: int) -> tuple[bytes, str, str] | None:
    row = conn.execute(select(entries_t.c.qr_image, entries_t.c.qr_mime, entries_t.c.qr_sha256).where(
        entries_t.c.workspace_id == workspace_id, entries_t.c.code_id == code_id,
        entries_t.c.id == entry_id)).one_or_none()
    return None if row is None else (bytes(row.qr_image), row.qr_mime, row.qr_sha256)


def count_shown(conn: Connection, workspace_id: int, code_id: int, entry_id: int, day: str, views: int = 1) -> None:
    """``views`` more views of the page that showed ``entry_id`` (0: none was left) on ``day``. An
    upsert that adds: concurrent writers each count (the row lock serialises the increments)."""
    conn.execute(upsert(conn, daily_t).values(
        workspace_id=workspace_id, code_id=code_id, entry_id=entry_id, day=day, shown=views,
    ).on_conflict_do_update(index_elements=["workspace_id", "code_id", "entry_id", "day"],
                            set_={"shown": daily_t.c.shown + views}))


def shown_per_day(conn: Connection, workspace_id: int, code_id: int, since_day: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(daily_t.c.entry_id, daily_t.c.day, daily_t.c.shown).where(
        daily_t.c.workspace_id == workspace_id, daily_t.c.code_id == code_id, daily_t.c.day >= since_day))
    return [dict(r._mapping) for r in rows]


def shown_totals(conn: Connection, workspace_id: int, code_id: int) -> dict[int, int]:
    rows = conn.execute(select(daily_t.c.entry_id, func.sum(daily_t.c.shown).label("shown")).where(
        daily_t.c.workspace_id == workspace_id, daily_t.c.code_id == code_id).group_by(daily_t.c.entry_id))
    return {r.entry_id: int(r.shown) for r in rows}


def record_alert(conn: Connection, workspace_id: int, code_id: int, *, kind: str, key: str, message: str,
                 details: dict[str, Any], webhook: bool, now: datetime) -> int | None:
    """The alert's id if it is new; None when this situation was alerted already (the unique key)."""
    return conn.execute(upsert(conn, alerts_t).values(
        workspace_id=workspace_id, code_id=code_id, kind=kind, key=key, message=message, details=details,
        webhook_status="pending" if webhook else "none", created_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "code_id", "key"]).returning(
        alerts_t.c.id)).scalar_one_or_none()


def alerts_of(conn: Connection, workspace_id: int, code_id: int | None = None, limit: int = 100
              ) -> list[dict[str, Any]]:
    query = select(alerts_t).where(alerts_t.c.workspace_id == workspace_id)
    if code_id is not None:
        query = query.where(alerts_t.c.code_id == code_id)
    return [dict(r._mapping) for r in conn.execute(query.order_by(alerts_t.c.id.desc()).limit(limit))]


def claim_pending_webhooks(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """Alerts whose webhook has not gone yet, with the code's URL, marked ``sending`` (so two
    workers never both send one; a worker that dies mid-send leaves it there, unsent — an alert is
    also in the API, so losing a webhook beats sending it twice).

    tenancy: cross-workspace (the worker serves every workspace; each row carries its own)
    """
    query = (select(alerts_t, codes_t.c.alert_webhook_url, codes_t.c.name.label("code_name"),
                    codes_t.c.token.label("code_token"))
             .join(codes_t, codes_t.c.id == alerts_t.c.code_id)
             .where(alerts_t.c.webhook_status == "pending").order_by(alerts_t.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=alerts_t, skip_locked=True)
    rows = [dict(r._mapping) for r in conn.execute(query)]
    if rows:
        conn.execute(update(alerts_t).where(alerts_t.c.id.in_([r["id"] for r in rows])).values(
            webhook_status="sending"))
    return rows


def mark_webhook(conn: Connection, workspace_id: int, alert_id: int, status: str) -> None:
    conn.execute(update(alerts_t).where(alerts_t.c.workspace_id == workspace_id, alerts_t.c.id == alert_id).values(
        webhook_status=status, webhook_attempts=alerts_t.c.webhook_attempts + 1))
