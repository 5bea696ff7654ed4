"""``siyu loyalty tasks``: growth tasks (成长任务) — list, create (from a JSON file or options),
update, a person's progress, an operator's attendance mark, and the worker's step now. Thin: parse,
call :mod:`siyu.loyalty.tasks_service`, print JSON. Bad input exits 2 with a message."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, handles_errors, runtime

tasks_app = typer.Typer(help="Growth tasks (成长任务): definitions, progress, attendance.", no_args_is_help=True)
TaskArgument = Annotated[int, typer.Argument(min=1, help="The task's id (`siyu loyalty tasks list`).")]
FileOption = Annotated[Path | None, typer.Option("--file", help="A JSON file with the task's fields.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace(conn: Any, workspace: str) -> Any:
    from siyu.workspaces import store as workspace_store

    return workspace_store.get_workspace(conn, workspace)


def _read_json(file: Path) -> dict[str, Any]:
    from siyu.loyalty.tasks_errors import TaskInvalid

    try:
        values = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TaskInvalid(f"Cannot read {file}: {error}") from None
    if not isinstance(values, dict):
        raise TaskInvalid(f"{file} holds one JSON object (the task's fields).")
    return values


def _given(**options: Any) -> dict[str, Any]:
    return {name: value for name, value in options.items() if value is not None}


def _filters(pairs: list[str] | None) -> dict[str, str] | None:
    from siyu.loyalty.tasks_errors import TaskInvalid

    if not pairs:
        return None
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise TaskInvalid(f"--filter takes property=value, not {pair!r}.", details={"field": "filter"})
        found[name] = value
    return found


@tasks_app.command("list")
@handles_errors
def list_tasks(workspace: WorkspaceOption) -> None:
    """Every task with the people making progress and its completions, one JSON object a line."""
    from siyu.db.engine import read
    from siyu.loyalty import tasks_service

    with read(runtime().engine) as conn:
        for task in tasks_service.list_tasks(conn, _workspace(conn, workspace).id):
            _print(task)


@tasks_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption, file: FileOption = None,
           key: Annotated[str | None, typer.Option(help="Stable name, the Task Completed event's `task`.")] = None,
           kind: Annotated[str | None, typer.Option(help="profile_complete, follow_account, join_group, "
                                                          "invite_friends, attend_event, write_review or custom.")]
           = None,
           name_zh: Annotated[str | None, typer.Option("--name-zh")] = None,
           name_en: Annotated[str | None, typer.Option("--name-en")] = None,
           event: Annotated[str | None, typer.Option(help="The event counted (each kind has a default).")] = None,
           filter_: Annotated[list[str] | None, typer.Option("--filter", help="property=value (repeatable).")] = None,
           trait: Annotated[list[str] | None, typer.Option("--trait", help="A required trait (repeatable).")] = None,
           target: Annotated[int | None, typer.Option(help="How many times (events, invites).")] = None,
           repeat: Annotated[str | None, typer.Option(help="once, daily, weekly or monthly.")] = None,
           points: Annotated[int | None, typer.Option(help="Points on completion.")] = None,
           offer_id: Annotated[int | None, typer.Option("--offer-id", help="An offer claimed on completion.")]
           = None) -> None:
    """Create a task from --file (JSON) and/or options (options win); prints it as JSON."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.loyalty import tasks_service

    values = _read_json(file) if file is not None else {}
    values.update(_given(key=key, kind=kind, name_zh=name_zh, name_en=name_en, event=event,
                         filter=_filters(filter_), traits=trait or None, target=target, repeat=repeat, points=points,
                         offer_id=offer_id))
    with write(runtime().engine) as conn:
        task = tasks_service.create_task(conn, _workspace(conn, workspace).id, values, now=clock.now())
    _print(task.to_dict())


@tasks_app.command("update")
@handles_errors
def update(workspace: WorkspaceOption, task_id: TaskArgument, file: FileOption = None,
           name_zh: Annotated[str | None, typer.Option("--name-zh")] = None,
           name_en: Annotated[str | None, typer.Option("--name-en")] = None,
           target: Annotated[int | None, typer.Option()] = None,
           points: Annotated[int | None, typer.Option()] = None,
           active: Annotated[bool | None, typer.Option("--active/--inactive", help="Run or stop the task.")] = None,
           ) -> None:
    """Change a task from --file (JSON) and/or options; its key and kind stay."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.loyalty import tasks_service

    changes = _read_json(file) if file is not None else {}
    changes.update(_given(name_zh=name_zh, name_en=name_en, target=target, points=points, active=active))
    with write(runtime().engine) as conn:
        task = tasks_service.update_task(conn, _workspace(conn, workspace).id, task_id, changes, now=clock.now())
    _print(task.to_dict())


@tasks_app.command("progress")
@handles_errors
def progress(workspace: WorkspaceOption, profile_id: Annotated[int, typer.Argument(min=1)],
             task_id: Annotated[int | None, typer.Option("--task", min=1, help="One task, every period.")] = None,
             ) -> None:
    """A person's tasks running now with their progress (or one task's every period, with --task)."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.loyalty import tasks_service

    with read(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        if task_id is not None:
            _print(tasks_service.progress_for(conn, ws.id, task_id, profile_id))
            return
        for task in tasks_service.tasks_for_member(conn, ws.id, profile_id, now=clock.now()):
            _print(task)


@tasks_app.command("attend")
@handles_errors
def attend(workspace: WorkspaceOption, task_id: TaskArgument, profile_id: Annotated[int, typer.Argument(min=1)],
           key: Annotated[str, typer.Option("--key", help="Idempotency key: the same key again changes nothing.")],
           ) -> None:
    """Mark that a person attended an attend_event task's event (writes the counted event once)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.loyalty import tasks_service

    with write(runtime().engine) as conn:
        _print(tasks_service.mark_attendance(conn, _workspace(conn, workspace).id, task_id, profile_id, key=key,
                                             now=clock.now()))


@tasks_app.command("run")
@handles_errors
def run(workspace: WorkspaceOption) -> None:
    """Follow the event log, count credited invites and deliver decided rewards now."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.loyalty import tasks_worker

    rt = runtime()
    with read(rt.engine) as conn:
        ws = _workspace(conn, workspace)
    _print(tasks_worker.run_workspace(rt.engine, ws.id, ws.timezone, clock.now()))
