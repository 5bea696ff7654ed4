"""Running an import: read, convert, send through the ingest pipeline in chunks, report.

Each chunk is one write transaction through :func:`siyu.ingest.pipeline.ingest`, with message ids
remembered for ever, so an import that stops half-way can simply be run again: what was stored is
skipped as duplicate, the rest is added. Bad rows never stop the import; they go to an error
report (the original columns plus the row number and the reason, UTF-8 with BOM for Excel).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from siyu import clock
from siyu.db.engine import read, write
from siyu.identity.normalise import InvalidIdentifier
from siyu.identity.rules import IdentityRules
from siyu.imports import store
from siyu.imports.presets import Preset
from siyu.imports.readers import read_rows
from siyu.imports.rows import Mapped, RowError, customer_message, map_columns, order_message
from siyu.ingest.errors import IngestError
from siyu.ingest.identifiers import identifiers_of
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import Message, parse_message
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

CHUNK = 2000


@dataclass
class Outcome:
    import_id: int
    rows_total: int = 0
    rows_ok: int = 0
    rows_duplicate: int = 0
    rows_failed: int = 0
    error_report: str | None = None
    status: str = "done"
    tags: dict[str, list[int]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"rows_total": self.rows_total, "rows_ok": self.rows_ok, "rows_duplicate": self.rows_duplicate,
                "rows_failed": self.rows_failed}


def _grouped(mapped: Mapped, rows: Iterator[list[str]]) -> Iterator[tuple[list[int], list[list[str]]]]:
    """Rows grouped into orders: consecutive rows sharing an order id (Shopify's line items)."""
    number = 1
    pending: list[list[str]] = []
    numbers: list[int] = []
    for row in rows:
        number += 1
        if not mapped.preset.line_items:
            yield [number], [row]
            continue
        if pending and mapped.get(row, "order_id") != mapped.get(pending[0], "order_id"):
            yield numbers, pending
            pending, numbers = [], []
        pending.append(row)
        numbers.append(number)
    if pending:
        yield numbers, pending


def run_import(runtime: Runtime, workspace_id: int, path: Path, preset: Preset, *, filename: str | None = None,
               encoding: str = "auto", progress: Callable[[int], None] | None = None) -> Outcome:
    header, rows = read_rows(path, encoding)
    mapped = map_columns(preset, header)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    with write(runtime.engine) as conn:
        workspace = workspace_store.get_workspace(conn, workspace_id)
        import_id = store.create_import(conn, workspace_id, kind=preset.kind, filename=filename or path.name,
                                        sha256=digest.hexdigest(), preset=preset.name, at=clock.now())
    outcome = Outcome(import_id)
    zone = ZoneInfo(workspace.timezone)
    rules = IdentityRules.from_settings(workspace.settings)
    report_path = runtime.config.data_dir / "imports" / f"import-{import_id}-errors.csv"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    with report_path.open("w", newline="", encoding="utf-8-sig") as report_file:
        report = csv.writer(report_file)
        report.writerow([*header, "error_row", "error_reason"])
        chunk: list[tuple[list[int], Message, list[Any]]] = []
        for numbers, group in _grouped(mapped, rows):
            outcome.rows_total += len(group)
            try:
                raw = order_message(mapped, group, zone) if preset.kind == "orders" else customer_message(
                    mapped, group[0], zone)
                tags = raw.pop("_tags", [])
                message = parse_message(raw, received_at=clock.now(), source=f"import:{preset.name}")
                message.dedupe_forever = True
                found = identifiers_of(message, rules, workspace.default_region)
            except (RowError, IngestError, InvalidIdentifier) as error:
                outcome.rows_failed += len(group)
                for number, row in zip(numbers, group, strict=True):
                    report.writerow([*row, number, getattr(error, "message", str(error))])
                continue
            chunk.append((numbers, message, [found, tags]))
            if len(chunk) >= CHUNK:
                _flush(runtime, workspace_id, workspace.default_region, rules, chunk, outcome)
                chunk = []
                if progress:
                    progress(outcome.rows_total)
        if chunk:
            _flush(runtime, workspace_id, workspace.default_region, rules, chunk, outcome)
        if progress:
            progress(outcome.rows_total)
    if outcome.rows_failed:
        outcome.error_report = str(report_path)
    else:
        report_path.unlink()
    with write(runtime.engine) as conn:
        store.finish_import(conn, workspace_id, import_id, status=outcome.status, counts=outcome.counts(),
                            error_report=outcome.error_report, at=clock.now())
    return outcome


def _flush(runtime: Runtime, workspace_id: int, region: str, rules: IdentityRules,
           chunk: list[tuple[list[int], Message, list[Any]]], outcome: Outcome) -> None:
    from siyu.profiles import tag_store
    from siyu.profiles.models import TagGroupKind
    from siyu.profiles.tagging import tag_profiles

    with write(runtime.engine) as conn:
        result = ingest(conn, workspace_id, [m for _, m, _ in chunk], rules=rules, region=region,
                        identifiers=[extra[0] for _, _, extra in chunk])
        counted: set[str] = set()
        existing: set[str] | None = None
        for numbers, message, (_, tags) in chunk:
            if message.message_id not in result.profile_ids or message.message_id in counted:
                outcome.rows_duplicate += len(numbers)
                continue
            counted.add(message.message_id)
            outcome.rows_ok += len(numbers)
            profile_id = result.profile_ids[message.message_id]
            for name in (t[:100] for t in tags):
                if profile_id is None:
                    continue
                if existing is None:
                    existing = {t["name"] for t in tag_store.list_tags(conn, workspace_id)}
                if name not in existing:
                    tag_store.create_tag(conn, workspace_id, name, group=None, kind=TagGroupKind.BUSINESS,
                                         description=None, at=clock.now())
                    existing.add(name)
                tag = tag_store.get_tag(conn, workspace_id, name=name)
                tag_profiles(conn, workspace_id, tag, profile_ids=[profile_id], source="import", actor="import")


def imports_of(runtime: Runtime, workspace_id: int) -> list[dict[str, Any]]:
    with read(runtime.engine) as conn:
        return store.list_imports(conn, workspace_id)

