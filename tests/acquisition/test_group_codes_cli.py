"""`siyu group-codes …` in real subprocesses: create, add a group's QR, show, alerts; exit 2 on bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.acquisition.test_group_codes import qr_png
from tests.profiles.test_cli import siyu


def test_an_operator_sets_up_a_live_code_from_the_command_line(database_url: str, workspace: Any, client: Any,
                                                              tmp_path: Path) -> None:
    ws = ["--workspace", workspace.name]
    made = siyu(database_url, "group-codes", "create", *ws, "门店群活码", "--title", "门店福利群", "--json")
    assert made.returncode == 0, made.stderr
    code = json.loads(made.stdout)
    image = tmp_path / "qr.png"
    image.write_bytes(qr_png("门店1群"))
    added = siyu(database_url, "group-codes", "add-group", *ws, str(code["id"]), str(image), "--label", "门店1群",
                 "--capacity", "150")
    assert added.returncode == 0, added.stderr
    assert re.search(r"门店1群\s+0/150\s+available", added.stdout), added.stdout
    token = code["token"]
    assert "门店1群" in client.get(f"/g/{token}").text
    shown = siyu(database_url, "group-codes", "show", *ws, str(code["id"]))
    assert f"/g/{token}" in shown.stdout
    assert siyu(database_url, "group-codes", "alerts", *ws, "--json").stdout.strip() == "[]"

    fake = tmp_path / "qr.gif"
    fake.write_bytes(b"GIF89a nothing")
    refused = siyu(database_url, "group-codes", "add-group", *ws, str(code["id"]), str(fake), "--label", "x")
    assert refused.returncode == 2 and "not a PNG or JPEG" in refused.stderr
    missing = siyu(database_url, "group-codes", "show", *ws, "999999")
    assert missing.returncode == 2 and "No group live code 999999" in missing.stderr
