"""`siyu analytics sync|rebuild|status` through the real Typer app, and `GET /api/analytics/status`."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from siyu.runtime import Runtime
from tests.analytics.test_mirror import mirror_ids, orders, send, store_ids
from tests.conftest import make_workspace


def cli(runtime: Runtime, *args: str):  # noqa: ANN201
    import siyu.analytics.mirror_cli  # noqa: F401 - registers `siyu analytics` on the app
    from siyu.cli import app

    return CliRunner().invoke(
        app,
        list(args),
        env={"SIYU_DATABASE_URL": runtime.config.database_url, "SIYU_DATA_DIR": str(runtime.config.data_dir)},
    )


def test_sync_status_and_rebuild_from_the_command_line(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, orders("cli-user", 4))
    synced = cli(runtime, "analytics", "sync", "--workspace", workspace.name, "--json")
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.stdout)[0]["appended"] == 4
    shown = cli(runtime, "analytics", "status", "--workspace", str(workspace.id), "--json")
    assert shown.exit_code == 0, shown.output
    figures = json.loads(shown.stdout)
    assert (figures["rows"], figures["store_events"], figures["pending_events"]) == (4, 4, 0)
    assert figures["parts"] == 1 and figures["event_bytes"] > 0 and figures["lag_ids"] >= 0
    rebuilt = cli(runtime, "analytics", "rebuild", "--workspace", workspace.name)
    assert rebuilt.exit_code == 0 and "rebuilt: 4 events" in rebuilt.output
    assert mirror_ids(runtime, workspace.id) == store_ids(runtime, workspace.id)
    readable = cli(runtime, "analytics", "status", "--workspace", workspace.name)
    assert readable.exit_code == 0 and "4 mirrored / 4 in the store" in readable.output
    assert "aggregates       complete" in readable.output
    assert figures["aggregates"]["complete"] and figures["aggregates"]["events"] == 4


def test_sync_without_a_workspace_syncs_every_workspace(runtime: Runtime, workspace) -> None:
    other = make_workspace(runtime, "other")
    send(runtime, workspace.id, orders("a", 1))
    send(runtime, other.id, orders("b", 2))
    result = cli(runtime, "analytics", "sync", "--json")
    assert result.exit_code == 0, result.output
    assert {r["workspace_id"] for r in json.loads(result.stdout)} >= {workspace.id, other.id}
    assert mirror_ids(runtime, other.id) == store_ids(runtime, other.id)


def test_an_unknown_workspace_exits_2_with_a_message(runtime: Runtime) -> None:
    for command in ("sync", "rebuild", "status"):
        result = cli(runtime, "analytics", command, "--workspace", "no-such-brand")
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output and "no-such-brand" in result.output


def test_status_before_the_first_sync_says_how_to_build(runtime: Runtime, workspace) -> None:
    result = cli(runtime, "analytics", "status", "--workspace", workspace.name)
    assert result.exit_code == 0 and "siyu analytics rebuild" in result.output


def api_client(app) -> TestClient:  # noqa: ANN001
    from siyu.analytics.mirror_api import router

    if not any(getattr(route, "path", "") == "/api/analytics/status" for route in app.routes):
        app.include_router(router)  # until siyu/api/routers.py mounts it
    return TestClient(app)


def test_the_api_reports_the_callers_workspace_only(runtime: Runtime, app, workspace) -> None:
    other = make_workspace(runtime, "other")
    send(runtime, workspace.id, orders("api", 3))
    send(runtime, other.id, orders("api", 5))
    cli(runtime, "analytics", "sync")
    with api_client(app) as client:
        mine = client.get("/api/analytics/status", headers=workspace.bearer())
        theirs = client.get("/api/analytics/status", headers=other.bearer())
        anonymous = client.get("/api/analytics/status")
    assert mine.status_code == 200 and theirs.status_code == 200
    assert (mine.json()["workspace_id"], mine.json()["rows"]) == (workspace.id, 3)
    assert (theirs.json()["workspace_id"], theirs.json()["rows"]) == (other.id, 5)
    assert "directory" not in mine.json()
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "auth.missing"
