"""``/api/loyalty/tasks`` and ``siyu loyalty tasks`` end to end: create, list with completions, get,
update, deactivate, a person's progress, attendance marks (idempotent), the worker's step, errors
in the one shape with stable codes (CLI: exit 2), and another workspace sees nothing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu import clock
from siyu.worker import run_pass
from tests.loyalty.helpers import NOW, make_programme
from tests.payments.pay import person


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.loyalty.cli  # noqa: F401 - registers `siyu loyalty tasks`
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_tasks_over_http_from_creation_to_a_completed_attendance(runtime, client, workspace,  # noqa: ANN001
                                                                 other_workspace) -> None:
    clock.freeze(NOW)
    auth = workspace.bearer()
    make_programme(runtime, workspace)
    made = client.post("/api/loyalty/tasks", headers=auth, json={
        "key": "salon", "name_zh": "参加沙龙", "name_en": "Attend a salon", "kind": "attend_event", "target": 2,
        "points": 20})
    assert made.status_code == 201, made.text
    task = made.json()
    assert (task["counted_event"], task["target"], task["repeat"], task["active"]) == ("Event Attended", 2, "once",
                                                                                       True)
    again = client.post("/api/loyalty/tasks", headers=auth, json={
        "key": "salon", "name_zh": "x", "name_en": "x", "kind": "custom", "event": "X"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "loyalty.task_exists"
    bad = client.post("/api/loyalty/tasks", headers=auth, json={"key": "p", "name_zh": "x", "name_en": "x",
                                                                "kind": "profile_complete"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "loyalty.task_invalid"
    assert client.post("/api/loyalty/tasks", headers=auth, json=[1]).json()["error"]["code"] == "loyalty.task_invalid"
    no_offer = client.post("/api/loyalty/tasks", headers=auth, json={
        "key": "f", "name_zh": "x", "name_en": "x", "kind": "follow_account", "offer_id": 999999})
    assert no_offer.status_code == 422 and no_offer.json()["error"]["details"]["field"] == "offer_id"

    ann = person(client, workspace, None, "ann")
    mark = {"profile_id": ann, "idempotency_key": "salon-1"}
    first = client.post(f"/api/loyalty/tasks/{task['id']}/attendance", headers=auth, json=mark)
    repeat = client.post(f"/api/loyalty/tasks/{task['id']}/attendance", headers=auth, json=mark)
    assert (first.status_code, first.json()["recorded"], repeat.json()["recorded"]) == (201, True, False)
    client.post(f"/api/loyalty/tasks/{task['id']}/attendance", headers=auth,
                json={"profile_id": ann, "idempotency_key": "salon-2"})
    run_pass(runtime)  # the worker's registered step
    progress = client.get(f"/api/loyalty/tasks/{task['id']}/progress", params={"profile_id": ann}, headers=auth)
    assert progress.status_code == 200, progress.text
    assert [(p["progress"], p["completed"]) for p in progress.json()["periods"]] == [(2, True)]
    assert progress.json()["rewards"][0]["status"] == "delivered"
    listed = client.get("/api/loyalty/tasks", headers=auth).json()
    assert [(t["key"], t["people"], t["completions"]) for t in listed] == [("salon", 1, 1)]
    member = client.get(f"/api/loyalty/tasks/member/{ann}", headers=auth).json()
    assert member[0]["completed"] and member[0]["name_zh"] == "参加沙龙"
    assert client.get(f"/api/loyalty/members/{ann}", headers=auth).json()["member"]["points_balance"] == 20

    changed = client.patch(f"/api/loyalty/tasks/{task['id']}", headers=auth, json={"name_en": "Salon", "target": 3})
    assert changed.status_code == 200 and changed.json()["name_en"] == "Salon"
    fixed = client.patch(f"/api/loyalty/tasks/{task['id']}", headers=auth, json={"kind": "custom"})
    assert fixed.status_code == 422 and fixed.json()["error"]["details"]["field"] == "kind"
    stopped = client.post(f"/api/loyalty/tasks/{task['id']}/deactivate", headers=auth)
    assert stopped.json()["active"] is False
    assert client.get(f"/api/loyalty/tasks/member/{ann}", headers=auth).json() == []

    follow = client.post("/api/loyalty/tasks", headers=auth, json={
        "key": "follow", "name_zh": "关注公众号", "name_en": "Follow", "kind": "follow_account"}).json()
    wrong = client.post(f"/api/loyalty/tasks/{follow['id']}/attendance", headers=auth, json=mark)
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "loyalty.task_not_attendance"
    reused = client.post(f"/api/loyalty/tasks/{task['id']}/attendance", headers=auth,
                         json={"profile_id": person(client, workspace, None, "bo"), "idempotency_key": "salon-1"})
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "loyalty.key_reused"
    assert client.get("/api/loyalty/tasks/99999999", headers=auth).json()["error"]["code"] == "loyalty.task_not_found"
    assert client.post("/api/loyalty/tasks/run", headers=auth).status_code == 200

    other = other_workspace.bearer()
    assert client.get("/api/loyalty/tasks", headers=other).json() == []
    assert client.get(f"/api/loyalty/tasks/{task['id']}", headers=other).status_code == 404
    assert client.post(f"/api/loyalty/tasks/{task['id']}/attendance", headers=other, json=mark).status_code == 404
    assert client.get("/api/loyalty/tasks", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_tasks_from_the_cli_create_update_attend_and_progress(runtime, client, workspace, tmp_path) -> None:  # noqa: ANN001
    ws = str(workspace.id)
    spec = tmp_path / "task.json"
    spec.write_text(json.dumps({"key": "meetup", "name_zh": "线下活动", "name_en": "Meetup", "kind": "attend_event",
                                "target": 1}), encoding="utf-8")
    made = cli(runtime, "loyalty", "tasks", "create", "--workspace", ws, "--file", str(spec))
    assert made.exit_code == 0, made.output
    task_id = json.loads(made.output)["id"]
    custom = cli(runtime, "loyalty", "tasks", "create", "--workspace", ws, "--key", "visit", "--kind", "custom",
                 "--name-zh", "到店", "--name-en", "Visit", "--event", "Store Visited", "--filter", "store=SH01",
                 "--target", "2", "--repeat", "weekly", "--points", "5")
    assert custom.exit_code == 0, custom.output
    assert json.loads(custom.output)["filter"] == {"store": "SH01"}
    bad = cli(runtime, "loyalty", "tasks", "create", "--workspace", ws, "--key", "x", "--kind", "nope",
              "--name-zh", "x", "--name-en", "x")
    assert bad.exit_code == 2 and "kind" in bad.output
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert cli(runtime, "loyalty", "tasks", "create", "--workspace", ws, "--file", str(broken)).exit_code == 2
    assert cli(runtime, "loyalty", "tasks", "create", "--workspace", ws, "--filter", "nothing").exit_code == 2
    updated = cli(runtime, "loyalty", "tasks", "update", "--workspace", ws, str(task_id), "--name-en", "Meet-up")
    assert updated.exit_code == 0 and json.loads(updated.output)["name_en"] == "Meet-up"
    ann = person(client, workspace, None, "ann")
    attended = cli(runtime, "loyalty", "tasks", "attend", "--workspace", ws, str(task_id), str(ann), "--key", "m1")
    assert attended.exit_code == 0 and json.loads(attended.output)["recorded"] is True
    assert cli(runtime, "loyalty", "tasks", "attend", "--workspace", ws, str(task_id), "99999999",
               "--key", "m2").exit_code == 2
    assert cli(runtime, "loyalty", "tasks", "run", "--workspace", ws).exit_code == 0
    shown = cli(runtime, "loyalty", "tasks", "progress", "--workspace", ws, str(ann))
    rows = {r["key"]: r for r in map(json.loads, shown.output.splitlines())}
    assert rows["meetup"]["completed"] and rows["visit"]["progress"] == 0
    one = cli(runtime, "loyalty", "tasks", "progress", "--workspace", ws, str(ann), "--task", str(task_id))
    assert json.loads(one.output)["periods"][0]["completed"] is True
    listed = [json.loads(line) for line in cli(runtime, "loyalty", "tasks", "list", "--workspace", ws)
              .output.splitlines()]
    assert [(t["key"], t["completions"]) for t in listed] == [("meetup", 1), ("visit", 0)]
    stopped = cli(runtime, "loyalty", "tasks", "update", "--workspace", ws, str(task_id), "--inactive")
    assert json.loads(stopped.output)["active"] is False
