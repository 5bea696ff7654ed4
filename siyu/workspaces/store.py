"""All SQL of workspaces, keys, users and memberships."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from siyu import clock
from siyu.db.tables import api_keys, users, workspace_members, workspaces
from siyu.workspaces.errors import WorkspaceError, WorkspaceExists, WorkspaceNotFound
from siyu.workspaces.models import ApiKey, KeyKind, Role, User, Workspace
from siyu.workspaces.secrets import hash_password, key_digest, new_key

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _workspace(row: Any) -> Workspace:
    return Workspace(id=row.id, name=row.name, display_name=row.display_name, timezone=row.timezone,
                     default_region=row.default_region, settings=row.settings or {},
                     created_at=row.created_at)


def create_workspace(conn: Connection, name: str, *, display_name: str | None = None,
                     timezone: str = "Asia/Shanghai", default_region: str = "CN") -> Workspace:
    if not NAME_PATTERN.match(name):
        raise WorkspaceError(
            f"Workspace name {name!r} is not valid: use 1-64 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit.", details={"name": name})
    try:
        with conn.begin_nested():
            # tenancy: cross-workspace (creates the workspace itself)
            row = conn.execute(
                workspaces.insert().values(name=name, display_name=display_name or name, timezone=timezone,
                                           default_region=default_region, settings={},
                                           created_at=clock.now()).returning(*workspaces.c)
            ).one()
    except IntegrityError:
        raise WorkspaceExists(f"A workspace named {name!r} already exists.", details={"name": name}) from None
    return _workspace(row)


def get_workspace(conn: Connection, ref: str | int) -> Workspace:
    """Find a workspace by id or by name (the CLI's ``--workspace`` takes either)."""
    query = select(workspaces)  # tenancy: cross-workspace (resolves the workspace reference)
    if isinstance(ref, int) or str(ref).isdigit():
        row = conn.execute(query.where(workspaces.c.id == int(ref))).one_or_none()
    else:
        row = conn.execute(query.where(workspaces.c.name == str(ref))).one_or_none()
    if row is None:
        raise WorkspaceNotFound(f"No workspace {ref!r}. `siyu workspace list` shows the workspaces.",
                                details={"workspace": str(ref)})
    return _workspace(row)


def list_workspaces(conn: Connection) -> list[Workspace]:
    rows = conn.execute(select(workspaces).order_by(workspaces.c.id))  # tenancy: cross-workspace (admin list)
    return [_workspace(r) for r in rows]


# Bumped by every change to a workspace's row in this process, so a per-process cache of workspaces
# (the callback endpoint's) never serves one this process has changed; other processes' changes reach
# it within that cache's lifetime.
CHANGES = [0]


def update_workspace_settings(conn: Connection, workspace_id: int, settings: dict[str, Any]) -> None:
    conn.execute(update(workspaces).where(workspaces.c.id == workspace_id).values(settings=settings))
    CHANGES[0] += 1


def workspace_for_update(conn: Connection, workspace_id: int) -> Workspace:
    """The workspace, its row locked until the transaction ends (PostgreSQL; SQLite's write
    transaction already excludes other writers), for a read-modify-write of its settings."""
    row = conn.execute(select(workspaces).where(workspaces.c.id == workspace_id).with_for_update()).one_or_none()
    if row is None:
        raise WorkspaceNotFound(f"No workspace {workspace_id}.", details={"workspace": str(workspace_id)})
    return _workspace(row)


def _api_key(row: Any) -> ApiKey:
    return ApiKey(id=row.id, workspace_id=row.workspace_id, kind=KeyKind(row.kind),
                  role=Role(row.role) if row.role else None, name=row.name, key_prefix=row.key_prefix,
                  created_at=row.created_at, revoked_at=row.revoked_at)


def create_key(conn: Connection, workspace_id: int, kind: KeyKind, *, role: Role | None = None,
               name: str = "") -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext, which is never stored and shown only now."""
    if kind is KeyKind.SECRET and role is None:
        raise WorkspaceError("A secret key needs a role: owner, operator, analyst or staff.")
    if kind is KeyKind.WRITE:
        role = None
    plaintext = new_key(kind)
    row = conn.execute(
        api_keys.insert().values(workspace_id=workspace_id, kind=kind.value, role=role.value if role else None,
                                 name=name or f"{kind.value} key", key_hash=key_digest(plaintext),
                                 key_prefix=plaintext[:10], created_at=clock.now()).returning(*api_keys.c)
    ).one()
    return _api_key(row), plaintext


def find_key(conn: Connection, plaintext: str) -> ApiKey | None:
    """The live key with this plaintext, in whichever workspace it belongs to."""
    row = conn.execute(
        select(api_keys).where(api_keys.c.key_hash == key_digest(plaintext),  # tenancy: cross-workspace (auth)
                               api_keys.c.revoked_at.is_(None))
    ).one_or_none()
    return _api_key(row) if row else None


def list_keys(conn: Connection, workspace_id: int) -> list[ApiKey]:
    rows = conn.execute(select(api_keys).where(api_keys.c.workspace_id == workspace_id).order_by(api_keys.c.id))
    return [_api_key(r) for r in rows]


def revoke_key(conn: Connection, workspace_id: int, key_id: int) -> bool:
    result = conn.execute(
        update(api_keys).where(api_keys.c.workspace_id == workspace_id, api_keys.c.id == key_id,
                               api_keys.c.revoked_at.is_(None)).values(revoked_at=clock.now())
    )
    return result.rowcount == 1


def _user(row: Any) -> User:
    return User(id=row.id, email=row.email, display_name=row.display_name, locale=row.locale,
                password_hash=row.password_hash)


def create_user(conn: Connection, email: str, password: str, *, display_name: str | None = None,
                locale: str | None = None) -> User:
    email = email.strip().lower()
    if len(password) < 8:
        raise WorkspaceError("A console password needs at least 8 characters.")
    try:
        with conn.begin_nested():
            # tenancy: cross-workspace (users may belong to several workspaces)
            row = conn.execute(
                users.insert().values(email=email, password_hash=hash_password(password),
                                      display_name=display_name or email.split("@")[0], locale=locale,
                                      created_at=clock.now()).returning(*users.c)
            ).one()
    except IntegrityError:
        raise WorkspaceExists(f"A user with e-mail {email!r} already exists.") from None
    return _user(row)


def find_user_by_email(conn: Connection, email: str) -> User | None:
    row = conn.execute(
        select(users).where(users.c.email == email.strip().lower())  # tenancy: cross-workspace (login)
    ).one_or_none()
    return _user(row) if row else None


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).one_or_none()  # tenancy: cross-workspace (session)
    return _user(row) if row else None


def set_user_locale(conn: Connection, user_id: int, locale: str | None) -> None:
    # tenancy: cross-workspace (a user's own setting)
    conn.execute(update(users).where(users.c.id == user_id).values(locale=locale))


def add_member(conn: Connection, workspace_id: int, user_id: int, role: Role) -> None:
    conn.execute(workspace_members.insert().values(workspace_id=workspace_id, user_id=user_id, role=role.value,
                                                   created_at=clock.now()))


def memberships(conn: Connection, user_id: int) -> list[tuple[Workspace, Role]]:
    rows = conn.execute(
        select(workspaces, workspace_members.c.role)  # tenancy: cross-workspace (a user's own workspaces)
        .join(workspace_members, workspace_members.c.workspace_id == workspaces.c.id)
        .where(workspace_members.c.user_id == user_id).order_by(workspaces.c.id)
    )
    return [(_workspace(r), Role(r.role)) for r in rows]


def delete_workspace_data(conn: Connection, workspace_id: int) -> int:
    """Delete every customer-data row of a workspace (events, profiles, identities, tags, ...),
    keeping the workspace, its keys and its members. Used by ``siyu demo --fresh``."""
    from siyu.db.tables import metadata

    keep = {"workspaces", "api_keys", "workspace_members"}
    removed = 0
    for table in reversed(metadata.sorted_tables):
        if table.name in keep or "workspace_id" not in table.c:
            continue
        removed += conn.execute(table.delete().where(table.c.workspace_id == workspace_id)).rowcount
    return removed
