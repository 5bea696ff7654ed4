"""`siyu forms …` in real subprocesses: create from YAML, list, show, archive; exit 2 on a bad file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.profiles.test_cli import siyu

YAML = """\
name: 门店扫码留资
title: {zh: 领取会员礼, en: Claim your member gift}
consent:
  text: {zh: 我同意接收短信优惠, en: I agree to SMS offers}
sms: {sign_name: 完美日记, template_code: SMS_VERIFY}
channel: {source: store, medium: qr}
"""


def test_a_form_from_yaml_through_its_life(database_url: str, workspace: Any, tmp_path: Path) -> None:
    ws = ["--workspace", workspace.name]
    definition = tmp_path / "form.yaml"
    definition.write_text(YAML, encoding="utf-8")
    created = siyu(database_url, "forms", "create", *ws, str(definition), "--json")
    assert created.returncode == 0, created.stderr
    form = json.loads(created.stdout)
    assert form["name"] == "门店扫码留资" and form["url"].endswith(f"/f/{form['slug']}")
    listed = json.loads(siyu(database_url, "forms", "list", *ws, "--json").stdout)
    assert [(f["id"], f["submissions"]) for f in listed] == [(form["id"], 0)]
    shown = json.loads(siyu(database_url, "forms", "show", *ws, str(form["id"]), "--json").stdout)
    assert shown["definition"]["channel"] == {"source": "store", "medium": "qr"}
    archived = siyu(database_url, "forms", "archive", *ws, str(form["id"]))
    assert archived.returncode == 0 and "archived" in archived.stdout


def test_bad_input_exits_2_with_a_message(database_url: str, workspace: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nconsent: {text: ok}\n", encoding="utf-8")  # verify_phone without sms
    refused = siyu(database_url, "forms", "create", "--workspace", workspace.name, str(broken))
    assert refused.returncode == 2 and "sms" in refused.stderr + refused.stdout
    missing = siyu(database_url, "forms", "show", "--workspace", workspace.name, "999999")
    assert missing.returncode == 2 and "No form 999999" in missing.stderr + missing.stdout
