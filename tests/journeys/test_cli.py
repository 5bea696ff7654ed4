"""`siyu journeys …` as an operator runs it, in real subprocesses: a YAML draft, a template, the
state changes, an entry, a round of the engine, the figures; exit 2 with a message on bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from siyu.runtime import Runtime
from tests.journeys.scenario import person, quiet_policy
from tests.profiles.test_cli import siyu

YAML = """\
# 新客欢迎
trigger: {api: true}
entry: {rule: every_time}
steps:
  - id: hello
    send:
      channel: email
      content: {subject: 欢迎, text: 欢迎加入}
  - id: vip
    tag: {add: [新客]}
"""


def test_a_journey_from_yaml_through_its_life(runtime: Runtime, database_url: str, workspace: Any, client: Any,
                                              tmp_path: Path) -> None:
    quiet_policy(runtime, workspace.id)
    lina = person(client, workspace, "cli-lina")
    ws = ["--workspace", workspace.name]
    draft = tmp_path / "welcome.yaml"
    draft.write_text(YAML, encoding="utf-8")
    created = siyu(database_url, "journeys", "create", *ws, "新客欢迎", str(draft), "--json")
    assert created.returncode == 0, created.stderr
    journey = json.loads(created.stdout)
    assert (journey["status"], journey["draft"]["steps"][0]["id"]) == ("draft", "hello")
    number = str(journey["id"])
    draft.write_text(YAML.replace("新客]", "新客, 欢迎过]"), encoding="utf-8")
    assert siyu(database_url, "journeys", "edit", *ws, number, str(draft)).returncode == 0
    published = siyu(database_url, "journeys", "publish", *ws, number)
    assert published.returncode == 0 and "live, version 1" in published.stdout, published.stdout + published.stderr
    assert "新客欢迎" in siyu(database_url, "journeys", "list", *ws).stdout
    shown = siyu(database_url, "journeys", "show", *ws, number)
    assert "version 1 published" in shown.stdout and "欢迎过" in shown.stdout
    entered = siyu(database_url, "journeys", "enter", *ws, number, "--profile", str(lina), "--key", "k1", "--json")
    assert entered.returncode == 0, entered.stderr
    assert json.loads(entered.stdout)["created"] is True
    again = siyu(database_url, "journeys", "enter", *ws, number, "--profile", str(lina), "--key", "k1")
    assert "already made with this key" in again.stdout
    ran = siyu(database_url, "journeys", "run", *ws)
    assert ran.returncode == 0 and "1 entries advanced through 2 steps" in " ".join(ran.stdout.split()), ran.stderr
    stats = json.loads(siyu(database_url, "journeys", "stats", *ws, number, "--json").stdout)
    assert (stats["entered"], stats["completed"], stats["steps"][0]["messages_queued"]) == (1, 1, 1)
    assert "entered 1" in siyu(database_url, "journeys", "stats", *ws, number).stdout
    for action, status in (("pause", "paused"), ("resume", "live"), ("archive", "archived")):
        changed = siyu(database_url, "journeys", action, *ws, number)
        assert changed.returncode == 0 and status in changed.stdout, changed.stderr


def test_templates_from_the_cli(runtime: Runtime, database_url: str, workspace: Any) -> None:
    listed = siyu(database_url, "journeys", "templates", "--language", "en")
    assert listed.returncode == 0 and "cart_abandonment" in listed.stdout and "Birthday gift" in listed.stdout
    created = siyu(database_url, "journeys", "create", "--workspace", workspace.name, "--from-template", "welcome",
                   "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == "关注后欢迎系列"


def test_bad_input_exits_2_with_a_message(runtime: Runtime, database_url: str, workspace: Any,
                                          tmp_path: Path) -> None:
    ws = ["--workspace", workspace.name]
    bad = tmp_path / "bad.yaml"
    bad.write_text("trigger: {event: x}\nsteps:\n  - id: a\n    send: {channel: pigeon, content: {}}\n",
                   encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("steps: [", encoding="utf-8")
    for args, words in ((["create", *ws, "x", str(bad)], "steps[0].send.channel"),
                        (["create", *ws, "x", str(broken)], "neither valid JSON nor YAML"),
                        (["create", *ws, "x", str(tmp_path / "missing.yaml")], "Cannot read"),
                        (["create", *ws], "definition file or --from-template"),
                        (["create", *ws, "--from-template", "nope"], "No journey template"),
                        (["publish", *ws, "999999"], "No journey 999999"),
                        (["enter", *ws, "999999", "--profile", "1", "--key", "k", "--properties", "[1]"],
                         "JSON object")):
        refused = siyu(database_url, "journeys", *args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert words in refused.stderr.replace("\n", "") and "Traceback" not in refused.stderr, (args, refused.stderr)
