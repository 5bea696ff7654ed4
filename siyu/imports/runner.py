"""Running an import: read and convert (:mod:`siyu.imports.convert`), store in large chunks, report.

Converted rows are gathered into chunks of :data:`WRITE_ROWS` and each chunk is stored in one write
transaction by the set-based path, :func:`siyu.imports.bulk.store_chunk` (the same result as the
ingest pipeline, with a fixed number of statements per chunk instead of per event), with message
ids remembered for ever, so an import that stops half-way can simply be run again: what was stored
is skipped as duplicate, the rest is added. Bad rows never stop the import; they go to an error
report (the original columns plus the row number and the reason, UTF-8 with BOM for Excel). A
file that turns unreadable half-way (bytes that are not the encoding, a broken quote) marks the
import ``failed`` with the counts so far, and the error propagates.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siyu import clock
from siyu.db.engine import refresh_statistics, write
from siyu.identity.rules import IdentityRules
from siyu.imports import store
from siyu.imports.bulk import Prepared, store_chunk
from siyu.imports.convert import Chunk, Job, chunks, collected_between_chunks
from siyu.imports.errors import ImportError_
from siyu.imports.presets import Preset
from siyu.imports.readers import Table, read_table
from siyu.imports.rows import map_columns
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

Progress = Callable[[int, int, int], None]  # rows so far, bytes so far, file size

# Rows per write transaction. Larger chunks share each statement's fixed costs and touch each index
# page once for many rows, but the chunk's converted rows are held in memory meanwhile. Measured on
# 300k Tmall rows: 10,000 used as little CPU per row as 20,000 (129-134 µs against 136 µs) with a
# peak of 219 MB instead of 334 MB (bench/RESULTS.md).
WRITE_ROWS = 10_000


@dataclass
class Outcome:
    import_id: int
    rows_total: int = 0
    rows_ok: int = 0
    rows_duplicate: int = 0
    rows_failed: int = 0
    error_report: str | None = None
    status: str = "done"

    def counts(self) -> dict[str, int]:
        return {"rows_total": self.rows_total, "rows_ok": self.rows_ok, "rows_duplicate": self.rows_duplicate,
                "rows_failed": self.rows_failed}


def run_import(runtime: Runtime, workspace_id: int, path: Path, preset: Preset, *, filename: str | None = None,
               encoding: str = "auto", progress: Progress | None = None, report_to: Path | None = None) -> Outcome:
    """Import ``path`` into the workspace; the error report is also copied to ``report_to`` if given."""
    table = read_table(path, encoding)
    map_columns(preset, table.header)  # refuse a file that isn't this export before recording an import
    with write(runtime.engine) as conn:
        workspace = workspace_store.get_workspace(conn, workspace_id)
        import_id = store.create_import(conn, workspace_id, kind=preset.kind, filename=filename or path.name,
                                        sha256=_sha256(path), preset=preset.name, at=clock.now())
    outcome = Outcome(import_id)
    report_path = runtime.config.data_dir / "imports" / f"import-{import_id}-errors.csv"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with report_path.open("w", newline="", encoding="utf-8-sig") as report_file:
            _convert_and_write(runtime, workspace, preset, path, encoding, table, csv.writer(report_file), outcome,
                               progress)
    except BaseException:
        outcome.status = "failed"
        raise
    finally:
        if outcome.rows_failed:
            outcome.error_report = str(report_path)
            if report_to is not None:
                shutil.copyfile(report_path, report_to)
        else:
            report_path.unlink(missing_ok=True)
        with write(runtime.engine) as conn:
            store.finish_import(conn, workspace_id, import_id, status=outcome.status, counts=outcome.counts(),
                                error_report=outcome.error_report, at=clock.now())
    refresh_statistics(runtime.engine)
    return outcome


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _convert_and_write(runtime: Runtime, workspace: Any, preset: Preset, path: Path, encoding: str, table: Table,
                       report: Any, outcome: Outcome, progress: Progress | None) -> None:
    rules = IdentityRules.from_settings(workspace.settings)
    region = workspace.default_region
    report.writerow([*table.header, "error_row", "error_reason"])
    job = Job(path, encoding, preset, workspace.timezone, workspace.settings, region, clock.now())
    waiting: list[Prepared] = []
    with collected_between_chunks():
        try:
            for chunk in chunks(job):
                _count(chunk, report, outcome)
                waiting += chunk.prepared
                if len(waiting) >= WRITE_ROWS:
                    _flush(runtime, workspace.id, rules, waiting, outcome)
                    waiting = []
                    gc.collect(0)
                if progress:
                    progress(outcome.rows_total, chunk.position, table.size)
        except ImportError_:
            _flush(runtime, workspace.id, rules, waiting, outcome)  # what was read before the file broke
            raise
        _flush(runtime, workspace.id, rules, waiting, outcome)


def _count(chunk: Chunk, report: Any, outcome: Outcome) -> None:
    outcome.rows_total += chunk.rows
    outcome.rows_failed += len(chunk.failed)
    report.writerows([*row, number, reason] for row, number, reason in chunk.failed)


def _flush(runtime: Runtime, workspace_id: int, rules: IdentityRules, chunk: list[Prepared], outcome: Outcome) -> None:
    if not chunk:
        return
    with write(runtime.engine) as conn:
        profile_ids = store_chunk(conn, workspace_id, chunk, rules=rules, now=clock.now())
        counted: set[str] = set()
        tagged: dict[str, set[int]] = defaultdict(set)
        for item in chunk:
            message_id = item.message_id
            # Only messages stored by this call are in profile_ids; a second row with the same
            # message id in one file (an order exported twice) is a duplicate too.
            if message_id not in profile_ids or message_id in counted:
                outcome.rows_duplicate += item.rows
                continue
            counted.add(message_id)
            outcome.rows_ok += item.rows
            profile_id = profile_ids[message_id]
            if profile_id is not None:
                for name in item.tags:
                    tagged[name[:100]].add(profile_id)
        if tagged:
            _tag(conn, workspace_id, tagged)


def _tag(conn: Any, workspace_id: int, tagged: dict[str, set[int]]) -> None:
    """The chunk's tags, one call per tag; unknown tag names become business tags."""
    from siyu.profiles import tag_store
    from siyu.profiles.models import TagGroupKind
    from siyu.profiles.tagging import tag_profiles

    existing = {t["name"] for t in tag_store.list_tags(conn, workspace_id)}
    for name, profile_ids in tagged.items():
        if name not in existing:
            tag_store.create_tag(conn, workspace_id, name, group=None, kind=TagGroupKind.BUSINESS,
                                 description=None, at=clock.now())
        tag = tag_store.get_tag(conn, workspace_id, name=name)
        tag_profiles(conn, workspace_id, tag, profile_ids=sorted(profile_ids), source="import", actor="import")
