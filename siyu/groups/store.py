"""SQL for community groups and their members (the sync mark, stints, the lists operators read)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import community_group_members, community_groups, group_taggings, group_tags
from siyu.groups.models import DetailMember, Group, GroupDetail, GroupStatus, QuitScene, Stint

groups_t, members_t = community_groups, community_group_members


def _group(row: Any, tags: list[dict[str, Any]] | None = None) -> Group:
    return Group(id=row.id, workspace_id=row.workspace_id, corp_id=row.corp_id, chat_id=row.chat_id, name=row.name,
                 owner_userid=row.owner_userid, notice=row.notice, status=GroupStatus(row.status),
                 member_count=row.member_count, platform_created_at=row.platform_created_at,
                 sync_due_at=row.sync_due_at, sync_attempts=row.sync_attempts, sync_error=row.sync_error,
                 synced_at=row.synced_at, dismissed_at=row.dismissed_at, created_at=row.created_at,
                 tags=tags or [])


def request_sync(conn: Connection, workspace_id: int, corp_id: str, chat_id: str, now: datetime) -> int:
    """Mark the group as needing a sync from WeCom (creating its row on first sight); its id.
    An earlier mark (or a worker's lease) is moved to ``now``: the worker that holds the lease then
    fails its compare-and-clear and the group is synced once more, after this change."""
    conn.execute(upsert(conn, groups_t).values(
        workspace_id=workspace_id, corp_id=corp_id, chat_id=chat_id, status=GroupStatus.ACTIVE.value,
        sync_due_at=now, created_at=now, updated_at=now,
    ).on_conflict_do_update(index_elements=["workspace_id", "corp_id", "chat_id"],
                            set_={"sync_due_at": now, "updated_at": now}))
    return int(conn.execute(select(groups_t.c.id).where(
        groups_t.c.workspace_id == workspace_id, groups_t.c.corp_id == corp_id,
        groups_t.c.chat_id == chat_id)).scalar_one())


def claim_due_syncs(conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[tuple[Group, datetime]]:
    """Groups whose sync is due, each leased to this worker until ``now + lease`` (the returned
    instant, which the worker hands back to :func:`finish_sync`). Workers on PostgreSQL skip each
    other's rows; on SQLite the write transaction has the database to itself.

    tenancy: cross-workspace (the worker serves every workspace; each row carries its own)
    """
    query = (select(groups_t).where(groups_t.c.sync_due_at.is_not(None), groups_t.c.sync_due_at <= now)
             .order_by(groups_t.c.sync_due_at, groups_t.c.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(conn.execute(query))
    until = now + lease
    if rows:
        conn.execute(update(groups_t).where(groups_t.c.id.in_([r.id for r in rows])).values(sync_due_at=until))
    return [(_group(row), until) for row in rows]


def lock_group(conn: Connection, workspace_id: int, group_id: int) -> Group:
    """The group, locked until the transaction ends (two syncs of one group never interleave)."""
    query = select(groups_t).where(groups_t.c.workspace_id == workspace_id, groups_t.c.id == group_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return _group(conn.execute(query).one())


def finish_sync(conn: Connection, workspace_id: int, group_id: int, detail: GroupDetail, lease: datetime,
                now: datetime) -> None:
    """Store the detail; clear the sync mark unless a newer callback moved it (compare-and-clear)."""
    count = conn.execute(select(func.count()).select_from(members_t).where(
        members_t.c.workspace_id == workspace_id, members_t.c.group_id == group_id,
        members_t.c.quit_at.is_(None))).scalar_one()
    values = {"name": detail.name or None, "owner_userid": detail.owner_userid or None, "notice": detail.notice or None,
              "member_version": detail.member_version, "platform_created_at": detail.created_at,
              "member_count": count, "synced_at": now, "sync_error": None, "sync_attempts": 0, "updated_at": now}
    scope = (groups_t.c.workspace_id == workspace_id, groups_t.c.id == group_id)
    conn.execute(update(groups_t).where(*scope).values(**values))
    conn.execute(update(groups_t).where(*scope, groups_t.c.sync_due_at == lease).values(sync_due_at=None))


def fail_sync(conn: Connection, workspace_id: int, group_id: int, lease: datetime, error: str,
              retry_at: datetime | None, now: datetime) -> None:
    """Record why the sync failed; due again at ``retry_at`` (None: given up) unless a newer
    callback marked it meanwhile."""
    scope = (groups_t.c.workspace_id == workspace_id, groups_t.c.id == group_id)
    conn.execute(update(groups_t).where(*scope).values(
        sync_error=error[:500], sync_attempts=groups_t.c.sync_attempts + 1, updated_at=now))
    conn.execute(update(groups_t).where(*scope, groups_t.c.sync_due_at == lease).values(sync_due_at=retry_at))


def find_group(conn: Connection, workspace_id: int, corp_id: str, chat_id: str) -> Group | None:
    row = conn.execute(select(groups_t).where(groups_t.c.workspace_id == workspace_id, groups_t.c.corp_id == corp_id,
                                              groups_t.c.chat_id == chat_id)).one_or_none()
    return None if row is None else _group(row)


def dismiss_group(conn: Connection, workspace_id: int, corp_id: str, chat_id: str, now: datetime) -> Group:
    """The group was dismissed: every open stint ends now; nothing is left to sync."""
    conn.execute(upsert(conn, groups_t).values(
        workspace_id=workspace_id, corp_id=corp_id, chat_id=chat_id, status=GroupStatus.DISMISSED.value,
        dismissed_at=now, created_at=now, updated_at=now,
    ).on_conflict_do_update(index_elements=["workspace_id", "corp_id", "chat_id"], set_={
        "status": GroupStatus.DISMISSED.value, "dismissed_at": now, "sync_due_at": None, "member_count": 0,
        "updated_at": now}))
    group = find_group(conn, workspace_id, corp_id, chat_id)
    assert group is not None
    return group


def open_stints(conn: Connection, workspace_id: int, group_id: int) -> list[Stint]:
    rows = conn.execute(select(members_t.c.id, members_t.c.userid, members_t.c.joined_at, members_t.c.profile_id)
                        .where(members_t.c.workspace_id == workspace_id, members_t.c.group_id == group_id,
                               members_t.c.quit_at.is_(None)).order_by(members_t.c.id))
    return [Stint(r.id, r.userid, r.joined_at, r.profile_id) for r in rows]


def open_stint(conn: Connection, workspace_id: int, group_id: int, member: DetailMember, profile_id: int | None,
               now: datetime) -> None:
    conn.execute(upsert(conn, members_t).values(
        workspace_id=workspace_id, group_id=group_id, userid=member.userid, member_type=member.member_type.value,
        unionid=member.unionid, profile_id=profile_id, name=member.name, group_nickname=member.group_nickname,
        joined_at=member.joined_at, join_scene=member.join_scene.value, invitor_userid=member.invitor_userid,
        created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "group_id", "userid", "joined_at"]))


def refresh_stint(conn: Connection, workspace_id: int, stint_id: int, member: DetailMember,
                  profile_id: int | None, now: datetime) -> None:
    values: dict[str, Any] = {"name": member.name, "group_nickname": member.group_nickname,
                              "unionid": member.unionid, "updated_at": now}
    if profile_id is not None:
        values["profile_id"] = profile_id
    conn.execute(update(members_t).where(members_t.c.workspace_id == workspace_id, members_t.c.id == stint_id)
                 .values(**values))


def close_stints(conn: Connection, workspace_id: int, group_id: int, *, at: datetime, scene: QuitScene,
                 userids: list[str] | None = None, stint_ids: list[int] | None = None) -> list[Stint]:
    """End open stints (of these members, these stints, or all); the stints that ended."""
    where = [members_t.c.workspace_id == workspace_id, members_t.c.group_id == group_id, members_t.c.quit_at.is_(None)]
    if userids is not None:
        where.append(members_t.c.userid.in_(userids))
    if stint_ids is not None:
        where.append(members_t.c.id.in_(stint_ids))
    rows = list(conn.execute(select(members_t.c.id, members_t.c.userid, members_t.c.joined_at, members_t.c.profile_id)
                             .where(*where)))
    if rows:
        conn.execute(update(members_t).where(members_t.c.workspace_id == workspace_id,
                                             members_t.c.id.in_([r.id for r in rows]))
                     .values(quit_at=at, quit_scene=scene.value, updated_at=at))
    return [Stint(r.id, r.userid, r.joined_at, r.profile_id) for r in rows]


def count_members(conn: Connection, workspace_id: int, group_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(members_t).where(
        members_t.c.workspace_id == workspace_id, members_t.c.group_id == group_id,
        members_t.c.quit_at.is_(None))).scalar_one())


def set_member_count(conn: Connection, workspace_id: int, group_id: int, now: datetime) -> None:
    conn.execute(update(groups_t).where(groups_t.c.workspace_id == workspace_id, groups_t.c.id == group_id).values(
        member_count=count_members(conn, workspace_id, group_id), updated_at=now))


# --- reading ---------------------------------------------------------------------------------------

def _tags_of(conn: Connection, workspace_id: int, group_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    if not group_ids:
        return found
    rows = conn.execute(select(group_taggings.c.group_id, group_tags.c.id, group_tags.c.tag_group, group_tags.c.name)
                        .join(group_tags, and_(group_tags.c.id == group_taggings.c.tag_id,
                                               group_tags.c.workspace_id == group_taggings.c.workspace_id))
                        .where(group_taggings.c.workspace_id == workspace_id,
                               group_taggings.c.group_id.in_(group_ids))
                        .order_by(group_tags.c.tag_group, group_tags.c.name))
    for row in rows:
        found.setdefault(row.group_id, []).append({"id": row.id, "tag_group": row.tag_group, "name": row.name})
    return found


def get_group(conn: Connection, workspace_id: int, group_id: int) -> Group | None:
    row = conn.execute(select(groups_t).where(groups_t.c.workspace_id == workspace_id,
                                              groups_t.c.id == group_id)).one_or_none()
    return None if row is None else _group(row, _tags_of(conn, workspace_id, [group_id]).get(group_id))


def list_groups(conn: Connection, workspace_id: int, *, status: str | None = None, owner: str | None = None,
                name_contains: str | None = None, tag_ids: list[int] | None = None, min_members: int | None = None,
                max_members: int | None = None, limit: int = 100, offset: int = 0) -> list[Group]:
    """Groups by the console's filters; every tag in ``tag_ids`` must be on the group."""
    query = select(groups_t).where(groups_t.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(groups_t.c.status == status)
    if owner is not None:
        query = query.where(groups_t.c.owner_userid == owner)
    if name_contains:
        query = query.where(groups_t.c.name.contains(name_contains, autoescape=True))
    if min_members is not None:
        query = query.where(groups_t.c.member_count >= min_members)
    if max_members is not None:
        query = query.where(groups_t.c.member_count <= max_members)
    for tag_id in tag_ids or []:
        query = query.where(groups_t.c.id.in_(select(group_taggings.c.group_id).where(
            group_taggings.c.workspace_id == workspace_id, group_taggings.c.tag_id == tag_id)))
    rows = list(conn.execute(query.order_by(groups_t.c.id).limit(limit).offset(offset)))
    tags = _tags_of(conn, workspace_id, [r.id for r in rows])
    return [_group(r, tags.get(r.id)) for r in rows]


def members_of(conn: Connection, workspace_id: int, group_id: int, *, include_past: bool = False,
               limit: int = 500) -> list[dict[str, Any]]:
    """The group's members (open stints; every stint with ``include_past``), each with how many
    people they invited into this group."""
    invited = (select(members_t.c.invitor_userid, func.count().label("invites"))
               .where(members_t.c.workspace_id == workspace_id, members_t.c.group_id == group_id,
                      members_t.c.invitor_userid.is_not(None))
               .group_by(members_t.c.invitor_userid).subquery())
    query = (select(members_t, func.coalesce(invited.c.invites, 0).label("invites"))
             .outerjoin(invited, invited.c.invitor_userid == members_t.c.userid)
             .where(members_t.c.workspace_id == workspace_id, members_t.c.group_id == group_id))
    if not include_past:
        query = query.where(members_t.c.quit_at.is_(None))
    rows = conn.execute(query.order_by(members_t.c.joined_at, members_t.c.id).limit(limit))
    return [_member(r) for r in rows]


def _member(row: Any) -> dict[str, Any]:
    return {"userid": row.userid, "member_type": row.member_type, "profile_id": row.profile_id,
            "unionid": row.unionid, "name": row.name, "group_nickname": row.group_nickname,
            "joined_at": row.joined_at, "join_scene": row.join_scene, "invitor_userid": row.invitor_userid,
            "quit_at": row.quit_at, "quit_scene": row.quit_scene, "invites": int(row.invites)}


def groups_of_person(conn: Connection, workspace_id: int, profile_ids: list[int],
                     userids: list[str]) -> list[dict[str, Any]]:
    """Every stint of a person (matched by profile, or by their external user ids: stints stored
    before a profile merge still name the old profile), newest first, with the group."""
    match = []
    if profile_ids:
        match.append(members_t.c.profile_id.in_(profile_ids))
    if userids:
        match.append(members_t.c.userid.in_(userids))
    if not match:
        return []
    rows = conn.execute(select(members_t, groups_t.c.name.label("group_name"), groups_t.c.chat_id,
                               groups_t.c.status.label("group_status"))
                        .join(groups_t, and_(groups_t.c.id == members_t.c.group_id,
                                             groups_t.c.workspace_id == members_t.c.workspace_id))
                        .where(members_t.c.workspace_id == workspace_id, or_(*match))
                        .order_by(members_t.c.joined_at.desc(), members_t.c.id.desc()))
    return [{"group_id": r.group_id, "group_name": r.group_name, "chat_id": r.chat_id, "group_status": r.group_status,
             "joined_at": r.joined_at, "join_scene": r.join_scene, "invitor_userid": r.invitor_userid,
             "quit_at": r.quit_at, "quit_scene": r.quit_scene} for r in rows]


def joins_per_day(conn: Connection, workspace_id: int, group_ids: list[int], since: datetime,
                  until: datetime) -> list[tuple[int, datetime]]:
    """(group id, join time) of every stint that began in [since, until) in these groups."""
    if not group_ids:
        return []
    rows = conn.execute(select(members_t.c.group_id, members_t.c.joined_at).where(
        members_t.c.workspace_id == workspace_id, members_t.c.group_id.in_(group_ids),
        members_t.c.joined_at >= since, members_t.c.joined_at < until))
    return [(r.group_id, r.joined_at) for r in rows]


def member_counts(conn: Connection, workspace_id: int, group_ids: list[int]) -> dict[int, int]:
    """Current members of each group (the kept count, updated by every sync and change event)."""
    if not group_ids:
        return {}
    rows = conn.execute(select(groups_t.c.id, groups_t.c.member_count, groups_t.c.status).where(
        groups_t.c.workspace_id == workspace_id, groups_t.c.id.in_(group_ids)))
    return {r.id: r.member_count for r in rows}


def groups_by_id(conn: Connection, workspace_id: int, group_ids: list[int]) -> list[Group]:
    """These groups of this workspace (others' ids find nothing), in id order."""
    if not group_ids:
        return []
    rows = conn.execute(select(groups_t).where(groups_t.c.workspace_id == workspace_id,
                                               groups_t.c.id.in_(group_ids)).order_by(groups_t.c.id))
    return [_group(r) for r in rows]
