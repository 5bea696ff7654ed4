"""``siyu journeys``: create and edit drafts from JSON or YAML files or ready templates, publish,
pause, resume, archive, enter a person, read the figures, and run one round of the engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

journeys_app = typer.Typer(help="Journeys (营销自动化): triggered flows of waits, branches and actions.",
                           no_args_is_help=True)
app.add_typer(journeys_app, name="journeys")

JourneyArgument = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The journey's id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
FileArgument = Annotated[Path | None, typer.Argument(help="A definition file, JSON or YAML ('-' reads stdin).")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _definition(path: Path) -> Any:
    import yaml

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"Cannot read {path}: {error}") from None
    try:
        loaded = yaml.safe_load(text)  # YAML is a superset of JSON: one loader for both
    except yaml.YAMLError as error:
        raise fail(f"{path} is neither valid JSON nor YAML: {error}") from None
    if isinstance(loaded, dict) and "definition" in loaded and "steps" not in loaded:
        loaded = loaded["definition"]  # accept the API's {"name", "definition"} body too
    return loaded


def _line(found: dict[str, Any]) -> str:
    published = f"version {found['version']}" if found["version"] else "not published"
    return f"journey {found['id']} 「{found['name']}」 {found['status']}, {published}"


def _workspace(conn: Any, workspace: str) -> Any:
    from siyu.workspaces import store

    return store.get_workspace(conn, workspace)


@journeys_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption,
           name: Annotated[str | None, typer.Argument(help="A name for operators (default: the template's).")] = None,
           file: FileArgument = None,
           from_template: Annotated[str | None, typer.Option(help="Start from a ready template (see `templates`).")]
           = None,
           language: Annotated[str, typer.Option(help="zh or en: the template's name and description.")] = "zh",
           as_json: JsonOption = False) -> None:
    """Create a draft journey from a definition file or a template."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.journeys import lifecycle, templates

    if (file is None) == (from_template is None):
        raise fail("Give a definition file or --from-template (not both).")
    if language not in ("zh", "en"):
        raise fail("--language is zh or en.")
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        if from_template is not None:
            ready = templates.get(from_template, language)
            definition = templates.tailored(conn, ws.id, from_template, ready["definition"])
            name, description = name or ready["name"], ready["description"]
        else:
            assert file is not None
            if name is None:
                raise fail("Give the journey a name.")
            definition, description = _definition(file), None
        journey = lifecycle.create(conn, ws.id, name=name, description=description, definition=definition,
                                   actor="cli", now=clock.now())
        found = lifecycle.describe(conn, ws.id, journey.id)
    _print(found) if as_json else out.print(_line(found))


@journeys_app.command("edit")
@handles_errors
def edit(workspace: WorkspaceOption, journey: JourneyArgument,
         file: Annotated[Path, typer.Argument(help="The new draft, JSON or YAML ('-' reads stdin).")],
         name: Annotated[str | None, typer.Option(help="A new name.")] = None, as_json: JsonOption = False) -> None:
    """Replace the draft (published versions never change; publish again to use it)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.journeys import lifecycle

    definition = _definition(file)
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        lifecycle.edit(conn, ws.id, journey, name=name, definition=definition, now=clock.now())
        found = lifecycle.describe(conn, ws.id, journey)
    _print(found) if as_json else out.print(_line(found))


@journeys_app.command("list")
@handles_errors
def list_journeys(workspace: WorkspaceOption,
                  archived: Annotated[bool, typer.Option("--archived", help="Include archived ones.")] = False,
                  as_json: JsonOption = False) -> None:
    """Journeys, newest first."""
    from siyu.db.engine import read
    from siyu.journeys import lifecycle, store

    with read(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        found = [lifecycle.as_dict(j) for j in store.list_journeys(conn, ws.id, include_archived=archived)]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(_line(item))


@journeys_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption, journey: JourneyArgument, as_json: JsonOption = False) -> None:
    """A journey: its status, versions and draft."""
    from siyu.db.engine import read
    from siyu.journeys import lifecycle

    with read(runtime().engine) as conn:
        found = lifecycle.describe(conn, _workspace(conn, workspace).id, journey)
    if as_json:
        _print(found)
        return
    out.print(_line(found))
    for version in found["versions"]:
        out.print(f"  version {version['version']} published {version['published_at']:%Y-%m-%d %H:%M} "
                  f"by {version['published_by'] or '—'}")
    out.print(json.dumps(found["draft"], ensure_ascii=False, indent=2))


def _transition(workspace: str, journey: int, action: str, as_json: bool) -> None:
    from siyu import clock
    from siyu.db.engine import write
    from siyu.journeys import lifecycle

    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        if action == "publish":
            lifecycle.publish(conn, ws.id, journey, actor="cli", now=clock.now())
        else:
            {"pause": lifecycle.pause, "resume": lifecycle.resume, "archive": lifecycle.archive}[action](
                conn, ws.id, journey, clock.now())
        found = lifecycle.describe(conn, ws.id, journey)
    _print(found) if as_json else out.print(_line(found))


@journeys_app.command("publish")
@handles_errors
def publish(workspace: WorkspaceOption, journey: JourneyArgument, as_json: JsonOption = False) -> None:
    """Publish the draft as the next version: new entries take it, people inside stay on theirs."""
    _transition(workspace, journey, "publish", as_json)


@journeys_app.command("pause")
@handles_errors
def pause(workspace: WorkspaceOption, journey: JourneyArgument, as_json: JsonOption = False) -> None:
    """Stop new entries and hold the people inside where they are."""
    _transition(workspace, journey, "pause", as_json)


@journeys_app.command("resume")
@handles_errors
def resume(workspace: WorkspaceOption, journey: JourneyArgument, as_json: JsonOption = False) -> None:
    """Take entries again and move the people inside on."""
    _transition(workspace, journey, "resume", as_json)


@journeys_app.command("archive")
@handles_errors
def archive(workspace: WorkspaceOption, journey: JourneyArgument, as_json: JsonOption = False) -> None:
    """End the journey: the people still inside exit."""
    _transition(workspace, journey, "archive", as_json)


@journeys_app.command("enter")
@handles_errors
def enter(workspace: WorkspaceOption, journey: JourneyArgument,
          profile: Annotated[int, typer.Option("--profile", min=1, help="The person's profile id.")],
          key: Annotated[str, typer.Option(help="Idempotency key: the same key again enters nobody.")],
          properties: Annotated[str | None, typer.Option(help="Context for the entry, as a JSON object.")] = None,
          as_json: JsonOption = False) -> None:
    """Enter a person into a live journey (the API trigger)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.journeys import lifecycle

    try:
        context = json.loads(properties) if properties else None
    except json.JSONDecodeError as error:
        raise fail(f"--properties is not valid JSON: {error}") from None
    if context is not None and not isinstance(context, dict):
        raise fail("--properties must be a JSON object.")
    if not 1 <= len(key) <= 150:
        raise fail("--key must be 1-150 characters.")
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        entry, created = lifecycle.enter_by_api(conn, ws.id, journey, profile_id=profile, key=key,
                                                properties=context, now=clock.now())
    if as_json:
        _print({**lifecycle.entry_dict(entry), "created": created})
        return
    out.print(f"entry {entry.id} {'created' if created else 'already made with this key'}: "
              f"{entry.status.value} ({entry.cohort.value})")


@journeys_app.command("stats")
@handles_errors
def stats(workspace: WorkspaceOption, journey: JourneyArgument, as_json: JsonOption = False) -> None:
    """Entered, active, completed and converted, treatment vs holdout with the lift, and per step."""
    from siyu.db.engine import read
    from siyu.journeys import stats as journey_stats

    with read(runtime().engine) as conn:
        found = journey_stats.journey_stats(conn, _workspace(conn, workspace).id, journey)
    if as_json:
        _print(found)
        return

    def rate(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    out.print(f"entered {found['entered']}, active {found['active']}, completed {found['completed']}, "
              f"exited {found['exited']}, converted {found['converted']} ({rate(found['conversion_rate'])})")
    out.print(f"treatment {rate(found['treatment']['conversion_rate'])} of {found['treatment']['entered']}, "
              f"holdout {rate(found['holdout']['conversion_rate'])} of {found['holdout']['entered']}, "
              f"lift {rate(found['lift'])}")
    table = Table("step", "kind", "entered", "completed", "waiting", "messages", "stopped")
    for step in found["steps"]:
        table.add_row(step["step"], step["kind"] or "", str(step["entered"]), str(step["completed"]),
                      str(step["waiting"]), str(step["messages_queued"]), str(step["messages_stopped"]))
    out.print(table)


@journeys_app.command("templates")
@handles_errors
def list_templates(language: Annotated[str, typer.Option(help="zh or en.")] = "zh", as_json: JsonOption = False
                   ) -> None:
    """Ready journeys to start from (`create --from-template KEY`)."""
    from siyu.journeys import templates

    if language not in ("zh", "en"):
        raise fail("--language is zh or en.")
    found = [templates.get(key, language) for key in templates.KEYS]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(f"[bold]{item['key']}[/]  {item['name']} — {item['description']}")


@journeys_app.command("holidays")
@handles_errors
def holidays(workspace: Annotated[str | None, typer.Option("--workspace", "-w",
                                                            help="Add this workspace's own dates.")] = None,
             year: Annotated[int, typer.Option(min=1901, max=2098, help="The year (default: this year).")] = 0,
             language: Annotated[str, typer.Option(help="zh or en.")] = "zh", as_json: JsonOption = False) -> None:
    """The holiday calendar for `{"holiday": KEY}` triggers: each holiday's date in a year."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.journeys import calendar
    from siyu.journeys.date_firing import workspace_calendar

    if language not in ("zh", "en"):
        raise fail("--language is zh or en.")
    custom: dict[str, Any] = {}
    if workspace:
        with read(runtime().engine) as conn:
            custom = workspace_calendar(conn, _workspace(conn, workspace).id)
    try:
        found = calendar.upcoming(year or clock.now().year, custom)
    except calendar.UnknownHoliday as error:
        raise fail(f"calendar.dates: {error}") from None
    named = [{"key": key, "date": day.isoformat(),
              "name": getattr(calendar.HOLIDAYS[key], language) if key in calendar.HOLIDAYS else key}
             for key, day in found]
    if as_json:
        _print(named)
        return
    for item in named:
        out.print(f"{item['date']}  [bold]{item['key']}[/]  {item['name']}")


@journeys_app.command("run")
@handles_errors
def run(workspace: WorkspaceOption) -> None:
    """One round: follow the log, fire schedules, advance due entries (the worker does it continuously)."""
    from siyu.db.engine import read
    from siyu.journeys.engine import run_due

    rt = runtime()
    with read(rt.engine) as conn:
        ws = _workspace(conn, workspace)
    report = run_due(rt.engine, workspace_id=ws.id)
    out.print(f"{report.events:,} events read, {report.entered} entered, {report.woken} woken, "
              f"{report.converted} converted; {report.advance.advanced} entries advanced through "
              f"{report.advance.steps} steps")
