"""`siyu profiles show`, `siyu export profiles`, `siyu tags add|remove`, run as subprocesses."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from siyu import clock
from siyu.db.engine import write
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.runtime import Runtime


def siyu(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "siyu", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SIYU_DATABASE_URL": database_url})


def people(runtime: Runtime, workspace_id: int, count: int) -> None:
    messages = [parse_message({"type": "identify", "userId": f"u{i}", "traits": {
        "phone": f"1390000{i:04d}", "name": f"客户{i}", "city": "上海" if i % 2 else "北京"}},
        received_at=clock.now()) for i in range(count)]
    with write(runtime.engine) as conn:
        ingest(conn, workspace_id, messages, rules=DEFAULT_RULES)


def test_profiles_show_by_identifier_and_as_json(runtime: Runtime, database_url: str, workspace) -> None:
    people(runtime, workspace.id, 3)
    shown = siyu(database_url, "profiles", "show", "--workspace", workspace.name, "--type", "phone",
                 "--value", "13900000001", "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["traits"]["name"] == "客户1"
    table = siyu(database_url, "profiles", "show", "--workspace", str(workspace.id), "--id", str(detail["id"]))
    assert table.returncode == 0 and "+8613900000001" in table.stdout
    missing = siyu(database_url, "profiles", "show", "--workspace", workspace.name, "--type", "phone",
                   "--value", "13911112222")
    assert missing.returncode == 2 and "No profile" in missing.stderr
    bad = siyu(database_url, "profiles", "show", "--workspace", workspace.name)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_export_profiles_as_csv_and_xlsx(runtime: Runtime, database_url: str, workspace, tmp_path: Path) -> None:
    people(runtime, workspace.id, 25)
    target = tmp_path / "out.csv"
    result = siyu(database_url, "export", "profiles", "--workspace", workspace.name, "--output", str(target))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(target.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 25 and {r["phone"] for r in rows} == {f"+861390000{i:04d}" for i in range(25)}
    book = tmp_path / "out.xlsx"
    assert siyu(database_url, "export", "profiles", "--workspace", workspace.name, "--format", "xlsx",
                "--output", str(book)).returncode == 0
    sheet = load_workbook(book, read_only=True)["profiles"]
    assert sum(1 for _ in sheet.iter_rows()) == 26
    assert siyu(database_url, "export", "profiles", "--workspace", workspace.name, "--format", "pdf").returncode == 2


def test_tags_add_from_a_file_and_by_trait(runtime: Runtime, database_url: str, workspace, tmp_path: Path) -> None:
    people(runtime, workspace.id, 10)
    listing = tmp_path / "vip.csv"
    listing.write_text("type,value\nphone,13900000001\nphone,13900000002\nphone,13999999999\n", encoding="utf-8")
    added = siyu(database_url, "tags", "add", "--workspace", workspace.name, "--tag", "VIP", "--file", str(listing))
    assert added.returncode == 0, added.stderr
    assert "tagged 2 profiles" in added.stdout and "1 unknown" in added.stdout
    by_trait = siyu(database_url, "tags", "add", "--workspace", workspace.name, "--tag", "上海", "--trait", "city:上海")
    assert by_trait.returncode == 0 and "tagged 5 of 5" in by_trait.stdout
    removed = siyu(database_url, "tags", "remove", "--workspace", workspace.name, "--tag", "VIP", "--file",
                   str(listing))
    assert "untagged 2" in removed.stdout
    assert siyu(database_url, "tags", "remove", "--workspace", workspace.name, "--tag", "nope", "--trait",
                "a:b").returncode == 2
