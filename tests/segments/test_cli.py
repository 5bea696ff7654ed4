"""`siyu segments …` as an operator runs it: YAML definitions, JSON for scripts, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from siyu.runtime import Runtime
from tests.profiles.test_cli import people, siyu

SHANGHAI_YAML = """\
# 上海的客户
all:
  - trait: city
    op: eq
    value: 上海
  - not:
      tag: 黑名单
"""


def test_preview_create_show_refresh_and_members(runtime: Runtime, database_url: str, workspace,
                                                  tmp_path: Path) -> None:
    people(runtime, workspace.id, 6)  # odd-numbered people live in 上海
    definition = tmp_path / "shanghai.yaml"
    definition.write_text(SHANGHAI_YAML, encoding="utf-8")
    ws = ["--workspace", workspace.name]
    preview = siyu(database_url, "segments", "preview", *ws, str(definition), "--json")
    assert preview.returncode == 0, preview.stderr
    assert json.loads(preview.stdout)["count"] == 3
    created = siyu(database_url, "segments", "create", *ws, "上海客户", str(definition), "--json")
    assert created.returncode == 0, created.stderr
    segment = json.loads(created.stdout)
    assert segment["size"] == 3
    shown = json.loads(siyu(database_url, "segments", "show", *ws, str(segment["id"]), "--json").stdout)
    assert shown["count"] == 3 and shown["definition"]["all"][1] == {"not": {"tag": "黑名单", "op": "has"}}
    members = siyu(database_url, "segments", "members", *ws, str(segment["id"]))
    assert members.stdout.split() == [str(i) for i in json.loads(preview.stdout)["sample"][::-1]]
    refreshed = siyu(database_url, "segments", "refresh", *ws, "--json")
    assert json.loads(refreshed.stdout) == {str(segment["id"]): {"entered": 0, "exited": 0}}
    listed = json.loads(siyu(database_url, "segments", "list", *ws, "--json").stdout)
    assert [s["name"] for s in listed] == ["上海客户"]


def test_bad_definitions_exit_2_with_the_node_and_reason(database_url: str, workspace, tmp_path: Path) -> None:
    ws = ["--workspace", workspace.name]
    bad = tmp_path / "bad.yaml"
    bad.write_text("all:\n  - trait: age\n    op: gte\n    value: old\n", encoding="utf-8")
    result = siyu(database_url, "segments", "preview", *ws, str(bad))
    assert result.returncode == 2 and "$.all[0].value" in result.stderr and "number" in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("all: [\n", encoding="utf-8")
    result = siyu(database_url, "segments", "preview", *ws, str(broken))
    assert result.returncode == 2 and "neither valid JSON nor YAML" in result.stderr
    missing = siyu(database_url, "segments", "show", *ws, "424242")
    assert missing.returncode == 2 and "No segment 424242" in missing.stderr
    assert "Traceback" not in result.stderr + missing.stderr
