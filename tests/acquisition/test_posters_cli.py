"""`siyu posters …` in real subprocesses: create a template from files, render one person's poster to
a file (with an avatar passed in); exit 2 on bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from tests.acquisition.test_posters import LAYOUT, image_bytes
from tests.acquisition.test_posters_api import person
from tests.profiles.test_cli import siyu


def test_an_operator_renders_a_poster_to_a_file(database_url: str, workspace: Any, client: Any,
                                                tmp_path: Path) -> None:
    ws = ["--workspace", workspace.name]
    background, layout, avatar = tmp_path / "bg.png", tmp_path / "layout.json", tmp_path / "me.png"
    background.write_bytes(image_bytes())
    layout.write_text(json.dumps(LAYOUT, ensure_ascii=False), encoding="utf-8")
    avatar.write_bytes(image_bytes("#0000ff", (50, 50)))
    made = siyu(database_url, "posters", "create", *ws, "双11海报", "--background", str(background), "--layout",
                str(layout), "--target-url", "https://brand.cn/1111", "--json")
    assert made.returncode == 0, made.stderr
    template = json.loads(made.stdout)["id"]
    lina = person(client, workspace, "cli-poster-lina", {"name": "李娜"})
    output = tmp_path / "lina.png"
    drawn = siyu(database_url, "posters", "render", *ws, str(template), str(lina), "--out", str(output),
                 "--avatar", str(avatar))
    assert drawn.returncode == 0 and "wrote" in drawn.stdout, drawn.stderr
    poster = Image.open(io.BytesIO(output.read_bytes())).convert("RGB")
    assert poster.size == (720, 1100) and poster.getpixel((100, 100)) == (0, 0, 255)

    layout.write_text('{"avatar": {"x": 1, "y": 1, "size": 10}}', encoding="utf-8")
    refused = siyu(database_url, "posters", "create", *ws, "坏海报", "--background", str(background), "--layout",
                   str(layout), "--target-url", "https://brand.cn")
    assert refused.returncode == 2 and "layout.qr is required" in refused.stderr
    missing = siyu(database_url, "posters", "render", *ws, "999999", str(lina), "--out", str(output))
    assert missing.returncode == 2 and "No poster template 999999" in missing.stderr
