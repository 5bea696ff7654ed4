"""All SQL of channel codes: the codes, their arrivals (scans, follows, adds) and the figures read
from them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, desc, func, select, update
from sqlalchemy.exc import IntegrityError

from siyu.db.dialect import upsert
from siyu.db.tables import channel_code_arrivals, channel_codes, customer_owners, events
from siyu.errors import SiyuError

UNFOLLOW_EVENTS = ("Unfollowed",)


class ChannelCodeError(SiyuError):
    code = "channel_codes.invalid"
    status = 422


def _code(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k != "workspace_id"}


def create_code(conn: Connection, workspace_id: int, now: datetime, **values: Any) -> dict[str, Any]:
    try:
        with conn.begin_nested():
            code_id = conn.execute(channel_codes.insert().values(
                workspace_id=workspace_id, status="active", created_at=now, updated_at=now, **values,
            ).returning(channel_codes.c.id)).scalar_one()
    except IntegrityError:
        raise ChannelCodeError(f"A channel code with key {values.get('key')!r} exists already.",
                               code="channel_codes.exists", status=409, details={"key": values.get("key")}) from None
    return get_code(conn, workspace_id, code_id)


def get_code(conn: Connection, workspace_id: int, code_id: int) -> dict[str, Any]:
    row = conn.execute(select(channel_codes).where(channel_codes.c.workspace_id == workspace_id,
                                                   channel_codes.c.id == code_id)).first()
    if row is None:
        raise ChannelCodeError(f"No channel code {code_id} in this workspace.", code="channel_codes.not_found",
                               status=404, details={"code_id": code_id})
    return _code(row)


def code_by_key(conn: Connection, workspace_id: int, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(channel_codes).where(channel_codes.c.workspace_id == workspace_id,
                                                   channel_codes.c.key == key)).first()
    return None if row is None else _code(row)


def list_codes(conn: Connection, workspace_id: int, *, kind: str | None = None,
               status: str | None = None) -> list[dict[str, Any]]:
    query = select(channel_codes).where(channel_codes.c.workspace_id == workspace_id)
    if kind is not None:
        query = query.where(channel_codes.c.kind == kind)
    if status is not None:
        query = query.where(channel_codes.c.status == status)
    return [_code(r) for r in conn.execute(query.order_by(channel_codes.c.id))]


def update_code(conn: Connection, workspace_id: int, code_id: int, now: datetime, **values: Any) -> dict[str, Any]:
    conn.execute(update(channel_codes).where(channel_codes.c.workspace_id == workspace_id,
                                             channel_codes.c.id == code_id).values(updated_at=now, **values))
    return get_code(conn, workspace_id, code_id)


def record_arrival(conn: Connection, workspace_id: int, *, code_id: int, profile_id: int | None, kind: str,
                   userid: str | None, at: datetime, day: str, key: str) -> bool:
    """One arrival, once per callback event; whether it is new. ``first_time``: the person had never
    arrived through any code, nor been anyone's customer, before."""
    first = 1
    if profile_id is not None:
        earlier = conn.execute(select(channel_code_arrivals.c.id).where(
            channel_code_arrivals.c.workspace_id == workspace_id, channel_code_arrivals.c.profile_id == profile_id,
            channel_code_arrivals.c.at <= at).limit(1)).first()
        owned = conn.execute(select(customer_owners.c.id).where(
            customer_owners.c.workspace_id == workspace_id, customer_owners.c.profile_id == profile_id,
            customer_owners.c.started_at < at).limit(1)).first()
        first = 0 if earlier is not None or owned is not None else 1
    inserted = conn.execute(upsert(conn, channel_code_arrivals).values(
        workspace_id=workspace_id, code_id=code_id, profile_id=profile_id, kind=kind, userid=userid,
        first_time=first, at=at, day=day, event_key=key,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "event_key"]).returning(
        channel_code_arrivals.c.id)).first()
    return inserted is not None


def adds_on_day(conn: Connection, workspace_id: int, code_id: int, day: str) -> dict[str, int]:
    """Adds through the code per member on a local day (the daily caps and weighted shares)."""
    return {row[0]: int(row[1]) for row in conn.execute(select(channel_code_arrivals.c.userid, func.count()).where(
        channel_code_arrivals.c.workspace_id == workspace_id, channel_code_arrivals.c.code_id == code_id,
        channel_code_arrivals.c.day == day, channel_code_arrivals.c.kind == "add",
        channel_code_arrivals.c.userid.is_not(None)).group_by(channel_code_arrivals.c.userid))}


def last_assigned(conn: Connection, workspace_id: int, code_id: int) -> str | None:
    return conn.execute(select(channel_code_arrivals.c.userid).where(
        channel_code_arrivals.c.workspace_id == workspace_id, channel_code_arrivals.c.code_id == code_id,
        channel_code_arrivals.c.kind == "add").order_by(desc(channel_code_arrivals.c.at),
                                                         desc(channel_code_arrivals.c.id)).limit(1)).scalar()


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def daily_figures(conn: Connection, workspace_id: int, code_id: int, since_day: str,
                  until_day: str) -> list[dict[str, Any]]:
    """Per local day: scans (QR scans by followers and newcomers), follows, adds, new and returning people."""
    arrivals = channel_code_arrivals.c
    rows = conn.execute(select(
        arrivals.day, _count(arrivals.kind == "scan").label("scan"),
        _count(arrivals.kind == "follow").label("follows"), _count(arrivals.kind == "add").label("adds"),
        func.sum(arrivals.first_time).label("new"), func.count().label("all"),
    ).where(arrivals.workspace_id == workspace_id, arrivals.code_id == code_id, arrivals.day >= since_day,
            arrivals.day <= until_day).group_by(arrivals.day).order_by(arrivals.day))
    return [{"day": r.day, "scans": int(r.scan or 0) + int(r.follows or 0), "follows": int(r.follows or 0),
             "adds": int(r.adds or 0), "new": int(r.new or 0), "returning": int(r.all) - int(r.new or 0)}
            for r in rows]


def follow_through(conn: Connection, workspace_id: int, code_id: int, days: int, now: datetime) -> dict[str, int]:
    """Of the people who followed or added at least ``days`` ago, how many were still a follower / a
    contact of that member ``days`` later (an unfollow or a deleted contact before then counts against)."""
    arrivals = channel_code_arrivals.c
    window = timedelta(days=days)
    rows = conn.execute(select(arrivals.profile_id, arrivals.kind, arrivals.userid, arrivals.at).where(
        arrivals.workspace_id == workspace_id, arrivals.code_id == code_id, arrivals.kind.in_(["follow", "add"]),
        arrivals.profile_id.is_not(None), arrivals.at <= now - window)).all()
    kept = 0
    for row in rows:
        if row.kind == "add":
            lost = conn.execute(select(customer_owners.c.id).where(
                customer_owners.c.workspace_id == workspace_id, customer_owners.c.profile_id == row.profile_id,
                customer_owners.c.userid == row.userid, customer_owners.c.started_at <= row.at,
                customer_owners.c.ended_at.is_not(None), customer_owners.c.ended_at < row.at + window,
                customer_owners.c.end_reason.in_(["deleted_by_staff", "deleted_by_customer"])).limit(1)).first()
        else:
            lost = conn.execute(select(events.c.id).where(and_(
                events.c.workspace_id == workspace_id, events.c.profile_id == row.profile_id,
                events.c.name.in_(UNFOLLOW_EVENTS), events.c.timestamp >= row.at,
                events.c.timestamp < row.at + window)).limit(1)).first()
        kept += lost is None
    return {"days": days, "arrived": len(rows), "kept": kept}
