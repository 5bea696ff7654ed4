"""``siyu import customers|orders FILE``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime


@app.command("import")
@handles_errors
def import_file(
    kind: Annotated[str, typer.Argument(help="customers or orders")],
    file: Annotated[Path, typer.Argument(help="A .csv or .xlsx file.")],
    workspace: WorkspaceOption,
    preset: Annotated[str, typer.Option(help="tmall, youzan, shopify or siyu (our own headers).")] = "siyu",
    mapping: Annotated[Path | None, typer.Option(help="A JSON or YAML column mapping for any other file.")] = None,
    encoding: Annotated[str, typer.Option(help="auto, utf-8, gbk or gb18030.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import customers or orders; re-importing the same file changes nothing."""
    from siyu.db.engine import read
    from siyu.imports.presets import load_mapping, preset_for
    from siyu.imports.runner import run_import
    from siyu.workspaces import store

    if kind not in ("customers", "orders"):
        raise fail("The first argument must be 'customers' or 'orders'.")
    chosen = load_mapping(mapping, kind) if mapping else preset_for(kind, preset)
    rt = runtime()
    with read(rt.engine) as conn:
        ws = store.get_workspace(conn, workspace)
    with Progress(SpinnerColumn(), TextColumn("importing {task.fields[name]}: {task.completed:,} rows"),
                  TimeElapsedColumn(), console=out, disable=as_json) as bar:
        task = bar.add_task("import", total=None, name=file.name)
        outcome = run_import(rt, ws.id, file, chosen, encoding=encoding,
                             progress=lambda rows: bar.update(task, completed=rows))
    result = {"import_id": outcome.import_id, **outcome.counts(), "error_report": outcome.error_report}
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    out.print(f"import {outcome.import_id}: {outcome.rows_total:,} rows — {outcome.rows_ok:,} imported, "
              f"{outcome.rows_duplicate:,} already there, {outcome.rows_failed:,} failed")
    if outcome.error_report:
        out.print(f"rows that failed, and why: {outcome.error_report}")
