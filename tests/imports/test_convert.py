"""Large files are converted in a child process, and that changes nothing about the outcome."""

from __future__ import annotations

import csv
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from siyu.db.engine import read
from siyu.db.tables import imports
from siyu.imports import convert
from siyu.imports.errors import ImportError_
from siyu.imports.presets import preset_for
from siyu.imports.runner import run_import
from siyu.runtime import Runtime
from tests.imports.test_imports import stored, tmall_file, tmall_row

pytestmark = pytest.mark.slow


def _rows() -> list[list[str]]:
    rows = [tmall_row(f"9{i:05d}", f"buyer{i % 40}", f"{10 + i % 7}.90", f"1380013{i % 40:04d}",
                      when=f"2025-{1 + i % 12:02d}-{1 + i % 28:02d} 1{i % 10}:05:00") for i in range(2300)]
    rows[7] = tmall_row("bad-amount", "x", "ten yuan", "13800138001")
    rows[2200] = tmall_row("bad-phone", "y", "10", "12345")
    return rows


def _summary(runtime: Runtime, workspace_id: int) -> list[tuple]:
    """What the import stored, without the ids that differ between workspaces."""
    events = stored(runtime, workspace_id)
    first_event_of: dict[int, int] = {}
    for position, row in enumerate(events):
        first_event_of.setdefault(row.profile_id, position)
    return [(r.name, r.message_id, r.timestamp, r.properties, r.traits, first_event_of[r.profile_id]) for r in events]


def test_the_child_process_gives_the_same_import_as_converting_in_process(
        runtime: Runtime, workspace, other_workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmall_file(tmp_path / "orders.csv", _rows())
    in_process = run_import(runtime, workspace.id, path, preset_for("orders", "tmall"))
    monkeypatch.setattr(convert, "PARALLEL_BYTES", 0)
    seen: list[int] = []
    in_child = run_import(runtime, other_workspace.id, path, preset_for("orders", "tmall"),
                          progress=lambda rows, _position, _size: seen.append(rows))

    assert in_child.counts() == in_process.counts() == {
        "rows_total": 2300, "rows_ok": 2298, "rows_duplicate": 0, "rows_failed": 2}
    assert seen[-1] == 2300 and seen == sorted(seen)
    assert _summary(runtime, other_workspace.id) == _summary(runtime, workspace.id)
    reports = [list(csv.reader(Path(o.error_report).read_text(encoding="utf-8-sig").splitlines()))
               for o in (in_process, in_child)]
    assert reports[0] == reports[1] and [r[-2] for r in reports[1][1:]] == ["9", "2202"]


def test_chunks_come_from_a_child_process_for_large_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmall_file(tmp_path / "orders.csv", _rows())
    monkeypatch.setattr(convert, "PARALLEL_BYTES", 0)
    job = convert.Job(path, "auto", preset_for("orders", "tmall"), "Asia/Shanghai", {}, "CN", datetime.now(UTC))
    children: set[str] = set()
    total = 0
    for chunk in convert.chunks(job):
        children.update(p.name for p in multiprocessing.active_children())
        total += chunk.rows
    assert "siyu-import-convert" in children and total == 2300
    assert not [p for p in multiprocessing.active_children() if p.name == "siyu-import-convert"]


def test_a_file_that_breaks_half_way_in_the_child_marks_the_import_failed(
        runtime: Runtime, workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "PARALLEL_BYTES", 0)
    path = tmp_path / "half.csv"
    good = "".join(f"{n},10,2025-06-18 10:00:00\n" for n in range(3000))
    path.write_bytes(f"订单编号,买家实际支付金额,订单付款时间\n{good}".encode() + "x,10,李娜\n".encode("gbk"))
    with pytest.raises(ImportError_) as caught:
        run_import(runtime, workspace.id, path, preset_for("orders", "tmall"), encoding="utf-8")
    assert caught.value.code == "imports.bad_encoding" and "half.csv" in caught.value.message
    with read(runtime.engine) as conn:
        row = conn.execute(select(imports).where(imports.c.workspace_id == workspace.id)).one()
    assert row.status == "failed" and row.rows_total >= 2000 and row.finished_at is not None
