"""`siyu analytics sync|rebuild|status`: the columnar mirror from the command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, handles_errors, out, runtime

analytics_app = typer.Typer(help="The analytics engine's columnar event mirror.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _workspace_id(rt: Any, ref: str) -> int:
    from siyu.db.engine import read
    from siyu.workspaces import store

    with read(rt.engine) as conn:
        return store.get_workspace(conn, ref).id


def _print(data: Any, as_json: bool, lines: list[str]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
        return
    for line in lines:
        out.print(line)


def _aggregates_line(data: dict[str, Any]) -> str:
    figures = data["aggregates"]
    state = "complete" if figures["complete"] else "rebuilt at the next sync; reports read raw events until then"
    return (
        f"{state}: {figures['person_days_rows']} person-day rows, {figures['first_touch_rows']} first-touch rows "
        f"in {figures['files']} files ({data['aggregate_bytes']} bytes)"
    )


@analytics_app.command("sync")
@handles_errors
def analytics_sync(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Workspace id or name; all if omitted.")
    ] = None,
    snapshot: Annotated[bool, typer.Option(help="Also copy profiles, tags, scores ... now.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Append new events to the mirror (what `siyu serve` does every few seconds)."""
    from siyu.analytics.mirror import sync
    from siyu.db.engine import read
    from siyu.workspaces import store

    rt = runtime()
    if workspace is not None:
        ids = [_workspace_id(rt, workspace)]
    else:
        with read(rt.engine) as conn:
            ids = [w.id for w in store.list_workspaces(conn)]
    reports = [sync(rt, workspace_id, snapshot_tables=True if snapshot else None).as_dict() for workspace_id in ids]
    _print(
        reports,
        as_json,
        [
            f"workspace {r['workspace_id']}: +{r['appended']} events, watermark {r['watermark']}, "
            f"{r['parts']} parts ({r['seconds']} s)"
            for r in reports
        ],
    )


@analytics_app.command("rebuild")
@handles_errors
def analytics_rebuild(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Drop and rebuild a workspace's mirror from the operational store."""
    from siyu.analytics.mirror import rebuild

    rt = runtime()
    report = rebuild(rt, _workspace_id(rt, workspace)).as_dict()
    _print(
        report,
        as_json,
        [
            f"rebuilt: {report['appended']} events in {report['parts']} parts, "
            f"watermark {report['watermark']} ({report['seconds']} s)"
        ],
    )


@analytics_app.command("status")
@handles_errors
def analytics_status(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Watermark, parts, rows, bytes and lag of a workspace's mirror."""
    from siyu.analytics.mirror import status

    rt = runtime()
    data = status(rt, _workspace_id(rt, workspace))
    if not data["built"]:
        lines = ["mirror not built yet: run `siyu analytics rebuild` (or `siyu serve` syncs it)"]
    else:
        ratio = f"{data['size_ratio']:.1%}" if data["size_ratio"] is not None else "unknown"
        lines = [
            f"watermark        {data['watermark']} (lag {data['lag_ids']} ids, "
            f"{data['pending_events']} events pending, {data['pending_gaps']} ids in gaps)",
            f"events           {data['rows']} mirrored / {data['store_events']} in the store",
            f"parts            {data['parts']} ({data['event_bytes']} bytes)",
            f"aggregates       {_aggregates_line(data)}",
            f"size             parts and aggregates are {ratio} of the operational event table",
            f"all files        {data['bytes']} bytes under {data['directory']}",
            f"last sync        {data['seconds_since_sync']} s ago",
        ]
    _print(data, as_json, lines)
