"""All SQL of hosted forms: definitions, verification codes, submissions and daily views."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select, update

from siyu.acquisition.forms import FormNotFound
from siyu.db.dialect import upsert
from siyu.db.tables import form_codes, form_submissions, form_views, forms


def _form(row: Any) -> dict[str, Any]:
    return {"id": row.id, "slug": row.slug, "name": row.name, "status": row.status,
            "definition": dict(row.definition), "version": row.version, "created_at": row.created_at,
            "updated_at": row.updated_at}


def create_form(conn: Connection, workspace_id: int, definition: dict[str, Any], now: datetime) -> dict[str, Any]:
    slug = secrets.token_urlsafe(9)  # 12 characters: public, but not guessable from another form's
    form_id = conn.execute(forms.insert().values(
        workspace_id=workspace_id, slug=slug, name=definition["name"], status="active", definition=definition,
        version=1, created_at=now, updated_at=now).returning(forms.c.id)).scalar_one()
    return get_form(conn, workspace_id, form_id)


def get_form(conn: Connection, workspace_id: int, form_id: int) -> dict[str, Any]:
    row = conn.execute(select(forms).where(forms.c.workspace_id == workspace_id, forms.c.id == form_id)).first()
    if row is None:
        raise FormNotFound(f"No form {form_id} in this workspace.")
    return _form(row)


def form_by_slug(conn: Connection, slug: str) -> tuple[int, dict[str, Any]] | None:
    """The public page's lookup: the slug names the workspace. # tenancy: cross-workspace (public address)"""
    row = conn.execute(select(forms).where(forms.c.slug == slug)).first()
    return None if row is None else (row.workspace_id, _form(row))


def list_forms(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(forms).where(forms.c.workspace_id == workspace_id).order_by(forms.c.id.desc()))
    return [_form(r) for r in rows]


def update_form(conn: Connection, workspace_id: int, form_id: int, *, definition: dict[str, Any] | None,
                status: str | None, now: datetime) -> dict[str, Any]:
    current = get_form(conn, workspace_id, form_id)
    values: dict[str, Any] = {"updated_at": now}
    if definition is not None:
        values.update(definition=definition, name=definition["name"], version=current["version"] + 1)
    if status is not None:
        values["status"] = status
    conn.execute(update(forms).where(forms.c.workspace_id == workspace_id, forms.c.id == form_id).values(**values))
    return get_form(conn, workspace_id, form_id)


def count_view(conn: Connection, workspace_id: int, form_id: int, day: str, views: int = 1) -> None:
    conn.execute(upsert(conn, form_views).values(workspace_id=workspace_id, form_id=form_id, day=day, views=views)
                 .on_conflict_do_update(index_elements=["workspace_id", "form_id", "day"],
                                        set_={"views": form_views.c.views + views}))


def codes_sent_since(conn: Connection, workspace_id: int, *, since: datetime, phone: str | None = None,
                     ip: str | None = None) -> list[datetime]:
    """When codes went (or were being sent) to this number, or from this address, since ``since``."""
    query = select(form_codes.c.created_at).where(form_codes.c.workspace_id == workspace_id,
                                                  form_codes.c.created_at > since,
                                                  form_codes.c.status != "failed")
    query = query.where(form_codes.c.phone == phone) if phone is not None else query.where(form_codes.c.ip == ip)
    return list(conn.execute(query).scalars())


def add_code(conn: Connection, workspace_id: int, form_id: int, *, phone: str, code_hash: str, ip: str | None,
             now: datetime, ttl: timedelta) -> int:
    return conn.execute(form_codes.insert().values(
        workspace_id=workspace_id, form_id=form_id, phone=phone, code_hash=code_hash, status="sending", attempts=0,
        ip=ip, created_at=now, expires_at=now + ttl).returning(form_codes.c.id)).scalar_one()


def finish_code(conn: Connection, workspace_id: int, code_id: int, *, status: str, provider_id: str | None = None,
                detail: str | None = None) -> None:
    conn.execute(update(form_codes).where(form_codes.c.workspace_id == workspace_id, form_codes.c.id == code_id)
                 .values(status=status, provider_id=provider_id, detail=detail))


def latest_code(conn: Connection, workspace_id: int, form_id: int, phone: str) -> dict[str, Any] | None:
    row = conn.execute(select(form_codes).where(
        form_codes.c.workspace_id == workspace_id, form_codes.c.form_id == form_id, form_codes.c.phone == phone,
        form_codes.c.status.in_(("sent", "used", "locked"))).order_by(form_codes.c.id.desc()).limit(1)).first()
    return None if row is None else dict(row._mapping)


def wrong_guess(conn: Connection, workspace_id: int, code_id: int, *, lock_at: int) -> int:
    """Count a wrong guess; the code locks at ``lock_at``. Returns the attempts so far."""
    conn.execute(update(form_codes).where(form_codes.c.workspace_id == workspace_id, form_codes.c.id == code_id)
                 .values(attempts=form_codes.c.attempts + 1))
    attempts = conn.execute(select(form_codes.c.attempts).where(
        form_codes.c.workspace_id == workspace_id, form_codes.c.id == code_id)).scalar_one()
    if attempts >= lock_at:
        finish_code(conn, workspace_id, code_id, status="locked")
    return attempts


def use_code(conn: Connection, workspace_id: int, code_id: int) -> bool:
    """Mark a code used; False when another request used it first (the double-click)."""
    return conn.execute(update(form_codes).where(
        form_codes.c.workspace_id == workspace_id, form_codes.c.id == code_id, form_codes.c.status == "sent")
        .values(status="used")).rowcount == 1


def submission_by_key(conn: Connection, workspace_id: int, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(form_submissions).where(form_submissions.c.workspace_id == workspace_id,
                                                      form_submissions.c.idempotency_key == key)).first()
    return None if row is None else dict(row._mapping)


def add_submission(conn: Connection, workspace_id: int, values: dict[str, Any]) -> int:
    return conn.execute(form_submissions.insert().values(workspace_id=workspace_id, **values)
                        .returning(form_submissions.c.id)).scalar_one()


def submissions(conn: Connection, workspace_id: int, form_id: int, *, limit: int,
                before_id: int | None = None) -> list[dict[str, Any]]:
    query = select(form_submissions).where(form_submissions.c.workspace_id == workspace_id,
                                           form_submissions.c.form_id == form_id)
    if before_id is not None:
        query = query.where(form_submissions.c.id < before_id)
    return [dict(r._mapping) for r in conn.execute(query.order_by(form_submissions.c.id.desc()).limit(limit))]


def daily_figures(conn: Connection, workspace_id: int, form_id: int, timezone: str = "UTC"
                  ) -> dict[str, dict[str, int]]:
    """Views, codes sent and submissions per day of the workspace's time zone (the page counts its
    views by that day too)."""
    zone = ZoneInfo(timezone)
    days: dict[str, dict[str, int]] = {}

    def at(day: str) -> dict[str, int]:
        return days.setdefault(day, {"views": 0, "codes_sent": 0, "codes_failed": 0, "submissions": 0})

    for row in conn.execute(select(form_views.c.day, form_views.c.views).where(
            form_views.c.workspace_id == workspace_id, form_views.c.form_id == form_id)):
        at(row.day)["views"] += row.views
    for row in conn.execute(select(form_codes.c.created_at, form_codes.c.status).where(
            form_codes.c.workspace_id == workspace_id, form_codes.c.form_id == form_id)):
        at(row.created_at.astimezone(zone).date().isoformat())[
            "codes_failed" if row.status == "failed" else "codes_sent"] += 1
    for created in conn.execute(select(form_submissions.c.created_at).where(
            form_submissions.c.workspace_id == workspace_id, form_submissions.c.form_id == form_id)).scalars():
        at(created.astimezone(zone).date().isoformat())["submissions"] += 1
    return dict(sorted(days.items()))


def submission_count(conn: Connection, workspace_id: int, form_id: int) -> int:
    return conn.execute(select(func.count()).select_from(form_submissions).where(
        form_submissions.c.workspace_id == workspace_id, form_submissions.c.form_id == form_id)).scalar_one()
