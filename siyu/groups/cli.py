"""``siyu groups``: community groups kept from WeCom — list, members, a manual sync, group tags,
broadcasts to groups."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

groups_app = typer.Typer(help="Community groups (社群): WeCom customer groups, members, tags, broadcasts.",
                         no_args_is_help=True)
app.add_typer(groups_app, name="groups")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
GroupArgument = Annotated[int, typer.Argument(min=1, max=2**62, help="The group's id.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace(conn: Any, workspace: str) -> Any:
    from siyu.workspaces import store

    return store.get_workspace(conn, workspace)


def _found(conn: Any, workspace_id: int, group_id: int) -> Any:
    from siyu.groups import store

    group = store.get_group(conn, workspace_id, group_id)
    if group is None:
        raise fail(f"No group {group_id} in this workspace.")
    return group


@groups_app.command("list")
@handles_errors
def list_groups(workspace: WorkspaceOption,
                status: Annotated[str | None, typer.Option(help="active or dismissed.")] = None,
                owner: Annotated[str | None, typer.Option(help="The owner's WeCom userid.")] = None,
                tag: Annotated[list[int] | None, typer.Option(help="Only groups with this tag id (repeatable).")]
                = None,
                as_json: JsonOption = False) -> None:
    """Groups, with member counts and tags."""
    from siyu.db.engine import read
    from siyu.groups import store

    if status not in (None, "active", "dismissed"):
        raise fail("--status is active or dismissed.")
    with read(runtime().engine) as conn:
        found = store.list_groups(conn, _workspace(conn, workspace).id, status=status, owner=owner, tag_ids=tag,
                                  limit=10_000)
    if as_json:
        _print([dataclasses.asdict(g) for g in found])
        return
    for group in found:
        tags = ", ".join(f"{t['tag_group']}:{t['name']}" for t in group.tags)
        out.print(f"{group.id}\t{group.name or group.chat_id}\t{group.status.value}\t{group.member_count} members"
                  f"\towner {group.owner_userid or '-'}" + (f"\t[{tags}]" if tags else ""))


@groups_app.command("members")
@handles_errors
def members(workspace: WorkspaceOption, group: GroupArgument,
            past: Annotated[bool, typer.Option("--past", help="Include people who left.")] = False,
            as_json: JsonOption = False) -> None:
    """A group's members: join time and scene, inviter, invite counts."""
    from siyu.db.engine import read
    from siyu.groups import store

    with read(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        _found(conn, ws.id, group)
        found = store.members_of(conn, ws.id, group, include_past=past, limit=100_000)
    if as_json:
        _print(found)
        return
    for m in found:
        left = f"\tleft {m['quit_at']:%Y-%m-%d} ({m['quit_scene']})" if m["quit_at"] else ""
        out.print(f"{m['userid']}\t{m['member_type']}\t{m['name'] or ''}\tjoined {m['joined_at']:%Y-%m-%d %H:%M}"
                  f" by {m['join_scene']}\tinvited {m['invites']}{left}")


@groups_app.command("sync")
@handles_errors
def sync(workspace: WorkspaceOption, group: GroupArgument) -> None:
    """Ask the worker to fetch a group from WeCom again."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.groups import store

    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        found = _found(conn, ws.id, group)
        store.request_sync(conn, ws.id, found.corp_id, found.chat_id, clock.now())
    out.print(f"group {group}: sync requested; `siyu worker` fetches it")


@groups_app.command("tag")
@handles_errors
def tag(workspace: WorkspaceOption,
        tag_group: Annotated[str, typer.Argument(help="The tag group, e.g. 城市.")],
        name: Annotated[str, typer.Argument(help="The tag, e.g. 上海.")],
        group: Annotated[list[int], typer.Option("--group", "-g", min=1, help="A group id (repeatable).")],
        remove: Annotated[bool, typer.Option("--remove", help="Take the tag off instead.")] = False) -> None:
    """Put a tag on groups (creating it), or take it off."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.groups import tag_store

    if not tag_group.strip() or not name.strip() or len(tag_group) > 100 or len(name) > 100:
        raise fail("The tag group and the tag are 1-100 characters.")
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        tag_id = tag_store.ensure_tag(conn, ws.id, tag_group.strip(), name.strip(), clock.now())
        if remove:
            count = tag_store.untag_groups(conn, ws.id, group, tag_id)
        else:
            count = tag_store.tag_groups(conn, ws.id, group, tag_id, clock.now())
    out.print(f"{tag_group}:{name} {'removed from' if remove else 'added to'} {count} group(s)")


@groups_app.command("broadcast")
@handles_errors
def broadcast(workspace: WorkspaceOption,
              name: Annotated[str, typer.Argument(help="A name for operators.")],
              text: Annotated[str, typer.Option(help="The message text.")],
              group: Annotated[list[int], typer.Option("--group", "-g", min=1, help="A group id (repeatable).")],
              key: Annotated[str, typer.Option(help="Idempotency key: the same key again changes nothing.")],
              as_json: JsonOption = False) -> None:
    """Broadcast a text to groups (群发到群): one WeCom task per group owner, sent by the worker."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.groups import sending

    if not 1 <= len(name) <= 200 or not 1 <= len(key) <= 150:
        raise fail("The name is 1-200 characters, the key 1-150.")
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        found, created = sending.create_broadcast(conn, ws, name=name, content={"text": {"content": text}},
                                                  group_ids=group, key=key, actor="cli", now=clock.now())
    if as_json:
        _print(found)
        return
    skipped = ", ".join(f"{s['group_id']} ({s['reason']})" for s in found["groups_skipped"])
    out.print(f"broadcast {found['id']} {'created' if created else 'already existed'}: {found['groups_chosen']} "
              f"group(s) in {len(found['tasks'])} task(s)" + (f"; left out: {skipped}" if skipped else ""))
