"""``siyu import customers|orders FILE``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

KINDS = ("customers", "orders")


@app.command("import")
@handles_errors
def import_file(
    kind: Annotated[str, typer.Argument(help="customers or orders")],
    file: Annotated[Path, typer.Argument(help="A .csv or .xlsx file.")],
    workspace: WorkspaceOption,
    preset: Annotated[str, typer.Option(help="tmall, youzan, shopify or siyu (our own headers).")] = "siyu",
    mapping: Annotated[Path | None, typer.Option(help="A JSON or YAML column mapping for any other file.")] = None,
    encoding: Annotated[str, typer.Option(help="auto, utf-8, gbk or gb18030.")] = "auto",
    report: Annotated[Path | None, typer.Option(help="Also write the rows that failed, and why, to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import customers or orders; re-importing the same file changes nothing."""
    from siyu.db.engine import read
    from siyu.imports.presets import load_mapping, preset_for
    from siyu.imports.runner import run_import
    from siyu.workspaces import store

    if kind not in KINDS:
        raise fail("The first argument must be 'customers' or 'orders'.")
    chosen = load_mapping(mapping, kind) if mapping else preset_for(kind, preset)
    if report is not None and not report.parent.is_dir():
        raise fail(f"The folder for --report does not exist: {report.parent}")
    rt = runtime()
    with read(rt.engine) as conn:
        ws = store.get_workspace(conn, workspace)
    # Rows for every file; bytes (and so a bar with an ETA) for CSV, where the position is known.
    columns = (TextColumn("{task.fields[name]}"), BarColumn(), DownloadColumn(),
               TextColumn("{task.fields[rows]:,} rows"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, disable=as_json) as bar:
        task = bar.add_task("import", total=None, name=file.name, rows=0)

        def advanced(rows: int, done: int, size: int) -> None:
            bar.update(task, completed=done, total=size if done else None, rows=rows)

        outcome = run_import(rt, ws.id, file, chosen, encoding=encoding, progress=advanced, report_to=report)
    report_path = str(report) if report is not None and outcome.error_report else outcome.error_report
    result = {"import_id": outcome.import_id, "status": outcome.status, **outcome.counts(),
              "error_report": report_path}
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    out.print(f"import {outcome.import_id}: {outcome.rows_total:,} rows — {outcome.rows_ok:,} imported, "
              f"{outcome.rows_duplicate:,} already there, {outcome.rows_failed:,} failed")
    out.print(f"导入 {outcome.import_id}：共 {outcome.rows_total:,} 行，新导入 {outcome.rows_ok:,}，"
              f"已存在 {outcome.rows_duplicate:,}，失败 {outcome.rows_failed:,}")
    if report_path:
        out.print(f"rows that failed, and why / 失败的行及原因: {report_path}")
