"""`siyu messages …` as an operator runs it: queue, check, deliver, read the log; exit 2 on bad input."""

from __future__ import annotations

import json
from typing import Any

from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.messaging.fakes import WebhookSink
from tests.messaging.test_delivery import SECRET
from tests.profiles.test_cli import siyu


def test_send_check_deliver_and_list(runtime: Runtime, database_url: str, workspace: Any, client: Any) -> None:
    hook = WebhookSink(SECRET)
    try:
        with write(runtime.engine) as conn:
            workspace_store.update_workspace_settings(conn, workspace.id, {
                "channels": {"webhook": {"url": hook.url, "secret": SECRET}},
                "messaging": {"quiet_start": None, "cooldown_minutes": 0}})
        client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "cli-1"})
        profile = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "cli-1"},
                             headers=workspace.bearer()).json()["id"]
        ws = ["--workspace", workspace.name, "--profile", str(profile)]
        checked = siyu(database_url, "messages", "check", *ws, "--channel", "email", "--json")
        assert checked.returncode == 0, checked.stderr
        assert json.loads(checked.stdout)["reason"] == "policy.no_consent"
        sent = siyu(database_url, "messages", "send", *ws, "--channel", "webhook", "--purpose", "transactional",
                    "--content", '{"order": "A1"}', "--key", "A1", "--json")
        assert sent.returncode == 0, sent.stderr
        again = siyu(database_url, "messages", "send", *ws, "--channel", "webhook", "--purpose", "transactional",
                     "--content", '{"order": "A1"}', "--key", "A1", "--json")
        assert json.loads(again.stdout) == {**json.loads(sent.stdout), "created": False}
        delivered = siyu(database_url, "messages", "deliver", "--workspace", workspace.name)
        assert delivered.returncode == 0 and "sent 1" in delivered.stdout, delivered.stdout + delivered.stderr
        listed = json.loads(siyu(database_url, "messages", "list", *ws, "--json").stdout)
        assert [(m["channel"], m["status"]) for m in listed] == [("webhook", "sent")]
        assert [body["payload"] for _, body in hook.deliveries] == [{"order": "A1"}]
        for bad in (["--channel", "pigeon"], ["--channel", "webhook", "--content", "{not json"],
                    ["--channel", "email", "--subject", "no text"]):
            refused = siyu(database_url, "messages", "send", *ws, *bad)
            assert refused.returncode == 2 and "Traceback" not in refused.stderr, (bad, refused.stderr)
    finally:
        hook.stop()


def test_broadcasts_from_the_cli(runtime: Runtime, database_url: str, workspace: Any, client: Any) -> None:
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "cli-2", "traits": {"city": "上海"}})
    segment = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "上海", "definition": {"trait": "city", "op": "eq", "value": "上海"}}).json()
    ws = ["--workspace", workspace.name]
    created = siyu(database_url, "broadcasts", "create", *ws, "双11", "--segment", str(segment["id"]),
                   "--channel", "webhook", "--content", '{"campaign": "1111"}', "--send-at",
                   "2030-11-11T20:00:00+08:00", "--rate", "100", "--json")
    assert created.returncode == 0, created.stderr
    broadcast = json.loads(created.stdout)
    assert (broadcast["status"], broadcast["rate_per_minute"]) == ("scheduled", 100)
    listed = siyu(database_url, "broadcasts", "list", *ws)
    assert "双11" in listed.stdout and "scheduled" in listed.stdout
    cancelled = siyu(database_url, "broadcasts", "cancel", *ws, str(broadcast["id"]))
    assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout, cancelled.stderr
    template = {"body": {"greeting": "{{ profile.traits.name }}"}}
    filled = siyu(database_url, "broadcasts", "create", *ws, "双11 按人", "--segment", str(segment["id"]),
                  "--channel", "webhook", "--template", json.dumps(template), "--no-track-links",
                  "--send-at", "2030-11-11T20:00:00+08:00", "--json")
    assert filled.returncode == 0, filled.stderr
    assert {k: json.loads(filled.stdout)[k] for k in ("template", "content", "track_links")} == {
        "template": template, "content": None, "track_links": False}
    measured = siyu(database_url, "broadcasts", "create", *ws, "双11 回购", "--segment", str(segment["id"]),
                    "--channel", "webhook", "--content", '{"campaign": "1111"}', "--goal-event", "Order Completed",
                    "--goal-within", "3d", "--holdout", "10", "--send-at", "2030-11-11T20:00:00+08:00")
    assert measured.returncode == 0, measured.stderr
    assert ("goal Order Completed within 3d: treatment 0/0 converted, revenue 0; holdout 0/0"
            in " ".join(measured.stdout.split()))  # the terminal's width may wrap the line
    for bad in (["--content", "{nope"], ["--content", "{}", "--send-at", "2030-11-11T20:00:00"],
                ["--content", '{"a": 1}', "--segment", "99999"], [],
                ["--content", '{"a": 1}', "--template", '{"body": {"a": "1"}}'],
                ["--template", '{"body": {"a": "{% if %}"}}'], ["--content", '{"a": 1}', "--holdout", "10"],
                ["--content", '{"a": 1}', "--goal-event", "Order Completed", "--goal-within", "soon"],
                ["--content", '{"a": 1}', "--goal-event", "Order Completed", "--holdout", "60"]):
        args = ["broadcasts", "create", *ws, "x", "--channel", "webhook", *bad]
        if "--segment" not in bad:
            args += ["--segment", str(segment["id"])]
        refused = siyu(database_url, *args)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, (bad, refused.stderr)


def test_deliver_from_the_cli_tracks_links_like_the_worker(runtime: Runtime, database_url: str, workspace: Any,
                                                           client: Any, tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    from tests.messaging.fakes import SmtpSink

    sink = SmtpSink()
    controller, port = sink.start()
    try:
        with write(runtime.engine) as conn:
            workspace_store.update_workspace_settings(conn, workspace.id, {
                "channels": {"email": {"host": "127.0.0.1", "port": port, "sender": "hi@brand.cn"}},
                "messaging": {"quiet_start": None, "cooldown_minutes": 0}})
        client.post("/v1/identify", auth=(workspace.write_key, ""),
                    json={"userId": "cli-3", "traits": {"email": "lina@example.cn"}})
        profile = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "cli-3"},
                             headers=workspace.bearer()).json()["id"]
        client.put(f"/api/profiles/{profile}/consent", headers=workspace.bearer(),
                   json={"channel": "email", "purpose": "marketing", "status": "granted"})
        queued = client.post("/api/messages", headers=workspace.bearer(), json={
            "profile_id": profile, "channel": "email", "purpose": "marketing", "content": {
                "subject": "新品", "html": '<p><a href="https://brand.cn/new">看看</a></p>'}})
        assert queued.status_code == 202, queued.text
        env = {**os.environ, "SIYU_DATABASE_URL": database_url, "SIYU_PUBLIC_URL": "https://s.brand.cn",
               "SIYU_SECRET": "cli-secret", "SIYU_DATA_DIR": str(tmp_path)}
        delivered = subprocess.run([sys.executable, "-m", "siyu", "messages", "deliver", "--workspace",
                                    workspace.name], capture_output=True, text=True, timeout=120, env=env)
        assert delivered.returncode == 0 and "sent 1" in delivered.stdout, delivered.stdout + delivered.stderr
        [mail] = sink.received
        html = mail.get_body(("html",)).get_content()
        assert "https://s.brand.cn/r/" in html and "https://brand.cn/new" not in html
        assert "https://s.brand.cn/o/" in html  # the open pixel
        assert str(mail["List-Unsubscribe"]).strip().startswith("<https://s.brand.cn/u/")
    finally:
        controller.stop()
