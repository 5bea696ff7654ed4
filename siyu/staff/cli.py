"""``siyu staff``: members and personas, their customers and today's tasks, hand-overs
(离职继承 / 在职转接) and the round that sends them to WeCom and runs SOP rules."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

staff_app = typer.Typer(help="Staff and personas (人设): customers, hand-overs, tasks (SOP).", no_args_is_help=True)
app.add_typer(staff_app, name="staff")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
UseridArgument = Annotated[str, typer.Argument(help="The member's WeCom userid.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace(conn: Any, workspace: str) -> Any:
    from siyu.workspaces import store

    return store.get_workspace(conn, workspace)


@staff_app.command("add")
@handles_errors
def add(workspace: WorkspaceOption, name: Annotated[str, typer.Argument(help="The name customers and staff see.")],
        userid: Annotated[str | None, typer.Option(help="WeCom userid (a member).")] = None,
        persona: Annotated[bool, typer.Option("--persona", help="A persona (人设) instead of a member.")] = False,
        persona_id: Annotated[int | None, typer.Option(help="The persona this member serves as.")] = None,
        signature: Annotated[str | None, typer.Option(help="A persona's signature.")] = None,
        department: Annotated[str | None, typer.Option()] = None, as_json: JsonOption = False) -> None:
    """Add a member (--userid) or a persona (--persona)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.staff import api, store
    from siyu.staff.models import StaffKind

    if persona == (userid is not None):
        raise fail("Give --userid for a member, or --persona for a persona.")
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        kind = StaffKind.PERSONA if persona else StaffKind.MEMBER
        store.check_persona(conn, ws.id, kind, persona_id)
        created = store.create_staff(conn, ws.id, kind=kind,
                                     name=name, userid=userid, avatar_url=None, signature=signature,
                                     department=department, persona_id=persona_id, now=clock.now())
        found = api.staff_dict(conn, ws.id, created)
    _print(found) if as_json else out.print(f"staff {found['id']} {found['name']} ({found['kind']})")


@staff_app.command("list")
@handles_errors
def list_staff(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Members and personas."""
    from siyu.db.engine import read
    from siyu.staff import api, store

    with read(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        found = [api.staff_dict(conn, ws.id, s) for s in store.list_staff(conn, ws.id)]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(f"{item['id']}\t{item['kind']}\t{item['userid'] or '-'}\t{item['name']}\t{item['status']}")


@staff_app.command("leave")
@handles_errors
def leave(workspace: WorkspaceOption, userid: UseridArgument) -> None:
    """Mark a member as left (then hand their customers over with `siyu staff transfer --resigned`)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.staff import store
    from siyu.staff.errors import StaffNotFound

    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        member = store.staff_by_userid(conn, ws.id, userid)
        if member is None:
            raise StaffNotFound(f"No member with userid {userid!r}.")
        now = clock.now()
        store.update_staff(conn, ws.id, member.id, now, status="left", left_at=member.left_at or now)
    out.print(f"{userid} has left")


@staff_app.command("tasks")
@handles_errors
def tasks_today(workspace: WorkspaceOption, userid: UseridArgument, as_json: JsonOption = False) -> None:
    """The member's open tasks due today or earlier."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.staff import tasks

    with read(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        found = tasks.today(conn, ws.id, userid, clock.now(), ws.timezone)
    if as_json:
        _print(found)
        return
    for task in found:
        out.print(f"{task['id']}\tprofile {task['profile_id']}\t{task['title']}\tdue {task['due_at'] or '-'}")


@staff_app.command("done")
@handles_errors
def done(workspace: WorkspaceOption, task: Annotated[int, typer.Argument(min=1, help="The task's id.")],
         note: Annotated[str | None, typer.Option(help="What happened.")] = None,
         skip: Annotated[bool, typer.Option("--skip", help="Skipped rather than done.")] = False,
         userid: Annotated[str | None, typer.Option(help="Who did it.")] = None) -> None:
    """Mark a task done (or --skip) with a note."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.staff import tasks

    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        found = tasks.finish(conn, ws.id, task, status="skipped" if skip else "done", note=note, userid=userid,
                             now=clock.now())
    out.print(f"task {task} {found['status']}")


@staff_app.command("transfer")
@handles_errors
def transfer(workspace: WorkspaceOption, handover: Annotated[str, typer.Argument(help="From (userid).")],
             takeover: Annotated[str, typer.Argument(help="To (userid).")],
             key: Annotated[str, typer.Option(help="Idempotency key: the same key again decides nothing new.")],
             resigned: Annotated[bool, typer.Option("--resigned", help="离职继承 (the member left).")] = False,
             profile: Annotated[list[int] | None, typer.Option(help="A chosen customer (repeat); default all.")]
             = None,
             message: Annotated[str | None, typer.Option(help="Shown to customers (在职转接, ≤ 200 chars).")] = None,
             as_json: JsonOption = False) -> None:
    """Decide a hand-over of customers; `siyu staff sync` sends it to WeCom."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.staff import transfers
    from siyu.staff.models import TransferKind

    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        decided = transfers.request_transfers(
            conn, ws.id, kind=TransferKind.RESIGNED if resigned else TransferKind.IN_SERVICE, handover=handover,
            takeover=takeover, profile_ids=profile or None, message=message, key=key, actor="cli", now=clock.now())
    found = [transfers.transfer_dict(t) for t, _ in decided]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(f"transfer {item['id']}\tprofile {item['profile_id']}\t{item['status']}\t{item['reason'] or ''}")


@staff_app.command("sync")
@handles_errors
def sync(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Send decided hand-overs to WeCom, poll waiting ones, and run the SOP rules."""
    from siyu import clock
    from siyu.db.engine import read, write
    from siyu.staff import tasks, transfers

    rt = runtime()
    with read(rt.engine) as conn:
        ws = _workspace(conn, workspace)
    result: dict[str, Any] = {"submitted": transfers.submit_transfers(rt.engine, ws),
                              "finished": transfers.poll_transfers(rt.engine, ws)}
    with write(rt.engine) as conn:
        result["sop"] = tasks.run_sop_rules(conn, ws.id, clock.now(), ws.timezone)
    if as_json:
        _print(result)
        return
    out.print(f"transfers: {result['submitted']} submitted, {result['finished']} finished; "
              f"SOP tasks created: {sum(r['created'] for r in result['sop'].values())}")
