"""``siyu segments``: preview, save, list, show, refresh and list members, from JSON or YAML files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

segments_app = typer.Typer(help="Segments (分群): rule-defined sets of customers, kept current.",
                           no_args_is_help=True)
app.add_typer(segments_app, name="segments")

DefinitionArgument = Annotated[Path, typer.Argument(help="A definition file, JSON or YAML ('-' reads stdin).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


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
    if isinstance(loaded, dict) and "definition" in loaded and not ({"all", "any", "not"} & set(loaded)):
        loaded = loaded["definition"]  # accept the API's {"definition": ...} body too
    return loaded


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


@segments_app.command("preview")
@handles_errors
def preview(workspace: WorkspaceOption, file: DefinitionArgument, as_json: JsonOption = False) -> None:
    """Count and sample the customers a definition selects, without saving it."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.segments import membership
    from siyu.workspaces import store

    definition = _definition(file)
    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        result = membership.preview(conn, ws.id, definition, clock.now())
    if as_json:
        _print(result)
        return
    out.print(f"[bold]{result['count']:,}[/] customers match; newest: {', '.join(map(str, result['sample'])) or '—'}")


@segments_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption, name: Annotated[str, typer.Argument(help="Segment name.")],
           file: DefinitionArgument,
           description: Annotated[str | None, typer.Option(help="What the segment is for.")] = None,
           as_json: JsonOption = False) -> None:
    """Save a segment and compute its members (entering members get a Segment Entered event)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.segments import membership
    from siyu.workspaces import store

    if not 1 <= len(name) <= 200:
        raise fail("The name must be 1–200 characters.")
    definition = _definition(file)
    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        segment = membership.save(conn, ws.id, name=name, description=description, definition=definition,
                                  actor="cli", now=clock.now(), timezone=ws.timezone)
    if as_json:
        _print(segment)
        return
    out.print(f"segment [bold]{segment['id']}[/] {segment['name']!r}: {segment['size']:,} members")


@segments_app.command("list")
@handles_errors
def list_(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Active segments with their stored sizes."""
    from siyu.db.engine import read
    from siyu.segments import store as segment_store
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        rows = segment_store.list_segments(conn, ws.id)
    if as_json:
        _print(rows)
        return
    table = Table("id", "name", "size", "refreshed")
    for row in rows:
        table.add_row(str(row["id"]), row["name"], f"{row['size']:,}", str(row["refreshed_at"] or "—"))
    out.print(table)


@segments_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption, segment_id: Annotated[int, typer.Argument(help="Segment id.")],
         as_json: JsonOption = False) -> None:
    """One segment: its definition, current count, stored size and size history."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.segments import membership
    from siyu.segments import store as segment_store
    from siyu.workspaces import store

    if not 1 <= segment_id < 2**31:
        raise fail("The segment id must be a positive number.")
    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        segment = segment_store.get_segment(conn, ws.id, segment_id)
        segment["count"] = membership.live_count(conn, ws.id, segment, clock.now())
        segment["sizes"] = segment_store.size_history(conn, ws.id, segment_id)
    if as_json:
        _print(segment)
        return
    out.print(f"[bold]{segment['name']}[/] (id {segment['id']}, {segment['status']}): "
              f"{segment['count']:,} now, {segment['size']:,} stored")
    out.print_json(json.dumps(segment["definition"], ensure_ascii=False))


@segments_app.command("refresh")
@handles_errors
def refresh(workspace: WorkspaceOption,
            segment_id: Annotated[int | None, typer.Argument(help="One segment; all when omitted.")] = None,
            as_json: JsonOption = False) -> None:
    """Re-evaluate membership now (run it on a schedule: conditions like 'no order for 90 days')."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.segments import membership
    from siyu.segments import store as segment_store
    from siyu.workspaces import store

    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        if segment_id is not None:
            segment_store.get_segment(conn, ws.id, segment_id)
        changes = membership.refresh(conn, ws.id, clock.now(), ws.timezone,
                                     None if segment_id is None else [segment_id])
    result = {str(k): {"entered": v[0], "exited": v[1]} for k, v in changes.items()}
    if as_json:
        _print(result)
        return
    for key, change in result.items():
        out.print(f"segment {key}: +{change['entered']:,} −{change['exited']:,}")


@segments_app.command("members")
@handles_errors
def members(workspace: WorkspaceOption, segment_id: Annotated[int, typer.Argument(help="Segment id.")],
            limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 1000) -> None:
    """Print member profile ids, one per line (pipe into other tools)."""
    from siyu.db.engine import read
    from siyu.segments import store as segment_store
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        segment_store.get_segment(conn, ws.id, segment_id)
        ids = segment_store.member_ids(conn, ws.id, segment_id, limit=limit)
    sys.stdout.write("".join(f"{i}\n" for i in ids))


scores_app = typer.Typer(help="Built-in scores: RFM, lifecycle stage, KOC.", no_args_is_help=True)
app.add_typer(scores_app, name="scores")


@scores_app.command("compute")
@handles_errors
def scores_compute(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Compute RFM quintiles and segments, lifecycle stages and KOC scores for everyone now."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.segments import scoring
    from siyu.workspaces import store

    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        summary = scoring.compute_all(conn, ws.id, clock.now(), ws.settings)
    if as_json:
        _print(summary)
        return
    limits = summary["lifecycle_thresholds"]
    out.print(f"{summary['buyers']:,} buyers scored; active within {limits['active_days']} days, churned after "
              f"{limits['churned_days']} ({limits['source']}); {summary['koc_profiles']:,} KOC profiles")
    table = Table("stage", "customers")
    for stage, count in sorted(summary["lifecycle"].items()):
        table.add_row(stage, f"{count:,}")
    out.print(table)


@scores_app.command("rfm")
@handles_errors
def scores_rfm(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """The RFM segments (from the last `siyu scores compute`)."""
    from siyu.db.engine import read
    from siyu.segments import scoring
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        report = scoring.rfm_report(conn, store.get_workspace(conn, workspace).id)
    if as_json:
        _print(report)
        return
    table = Table("segment", "名称", "customers")
    for row in report["segments"]:
        table.add_row(row["name_en"], row["name_zh"], f"{row['customers']:,}")
    out.print(table)


rules_app = typer.Typer(help="Auto-tag rules (自动打标签): a condition that adds or removes a tag.",
                        no_args_is_help=True)
segments_app.add_typer(rules_app, name="rules")


@rules_app.command("create")
@handles_errors
def rules_create(workspace: WorkspaceOption, name: Annotated[str, typer.Argument(help="Rule name.")],
                 file: DefinitionArgument,
                 tag: Annotated[str, typer.Option(help="The tag to add or remove (created if missing).")],
                 action: Annotated[str, typer.Option(help="add, remove, or sync (add and take back).")] = "add",
                 as_json: JsonOption = False) -> None:
    """Save an auto-tag rule and apply it to everyone now."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.segments import tag_rules
    from siyu.workspaces import store

    definition = _definition(file)
    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        rule = tag_rules.create(conn, ws.id, name=name, tag=tag, action=action, definition=definition,
                                now=clock.now())
    if as_json:
        _print(rule)
        return
    out.print(f"rule [bold]{rule['id']}[/] {rule['name']!r}: {rule['action']} tag {rule['tag']!r}")


@rules_app.command("list")
@handles_errors
def rules_list(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Auto-tag rules and their state."""
    from siyu.db.engine import read
    from siyu.segments import rule_store
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        rules = rule_store.list_rules(conn, store.get_workspace(conn, workspace).id)
    if as_json:
        _print(rules)
        return
    table = Table("id", "name", "action", "tag", "status")
    for rule in rules:
        table.add_row(str(rule["id"]), rule["name"], rule["action"], rule["tag"], rule["status"])
    out.print(table)
