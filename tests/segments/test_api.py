"""Segments over HTTP: preview equals the saved count, precise errors, membership events, isolation, and the
CSV / XLSX downloads of the size history, the RFM grid and the lifecycle stages."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read
from siyu.db.tables import events
from siyu.runtime import Runtime
from tests.api.test_error_shape import assert_envelope
from tests.ingest.test_pipeline import NOW, send


def code_of(response, status: int) -> str:  # noqa: ANN001
    return assert_envelope(response, status)["code"]


BIG_SPENDERS = {"all": [{"event": "Order Completed", "measure": "sum", "property": "revenue", "op": "gte",
                         "value": 500, "within": "90d"},
                        {"trait": "city", "op": "eq", "value": "上海"}]}


def _people(runtime: Runtime, workspace_id: int) -> None:
    clock.freeze(NOW)
    send(runtime, workspace_id,
         {"type": "identify", "userId": "a", "traits": {"city": "上海"}},
         {"type": "track", "userId": "a", "event": "Order Completed", "properties": {"revenue": 600}},
         {"type": "identify", "userId": "b", "traits": {"city": "上海"}},
         {"type": "track", "userId": "b", "event": "Order Completed", "properties": {"revenue": 100}},
         {"type": "identify", "userId": "c", "traits": {"city": "北京"}},
         {"type": "track", "userId": "c", "event": "Order Completed", "properties": {"revenue": 900}})


def test_preview_and_the_saved_segment_agree(runtime: Runtime, workspace, client) -> None:  # noqa: ANN001
    _people(runtime, workspace.id)
    preview = client.post("/api/segments/preview", json={"definition": BIG_SPENDERS}, headers=workspace.bearer())
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == 1 and len(preview.json()["sample"]) == 1
    saved = client.post("/api/segments", json={"name": "上海高消费", "definition": BIG_SPENDERS},
                        headers=workspace.bearer())
    assert saved.status_code == 201, saved.text
    body = saved.json()
    assert body["count"] == body["size"] == 1
    got = client.get(f"/api/segments/{body['id']}", headers=workspace.bearer()).json()
    assert got["count"] == 1 and got["definition"]["all"][0]["within"] == "90d"
    members = client.get(f"/api/segments/{body['id']}/members", headers=workspace.bearer()).json()
    assert members["profile_ids"] == preview.json()["sample"]
    sizes = client.get(f"/api/segments/{body['id']}/sizes", headers=workspace.bearer()).json()
    assert sizes == [{"day": "2026-11-11", "size": 1, "entered": 1, "exited": 0}]


def test_time_passing_makes_people_exit_on_refresh_with_an_event(runtime: Runtime, workspace, client) -> None:  # noqa: ANN001
    _people(runtime, workspace.id)
    segment = client.post("/api/segments", json={"name": "recent", "definition": BIG_SPENDERS},
                          headers=workspace.bearer()).json()
    clock.freeze(NOW + timedelta(days=91))
    assert client.get(f"/api/segments/{segment['id']}", headers=workspace.bearer()).json()["count"] == 0
    refreshed = client.post(f"/api/segments/{segment['id']}/refresh", headers=workspace.bearer()).json()
    assert refreshed == {"segment_id": segment["id"], "entered": 0, "exited": 1, "size": 0}
    with read(runtime.engine) as conn:
        names = list(conn.execute(select(events.c.name).where(
            events.c.workspace_id == workspace.id, events.c.source == "segments").order_by(events.c.id)).scalars())
    assert names == ["Segment Entered", "Segment Exited"]
    again = client.post(f"/api/segments/{segment['id']}/refresh", headers=workspace.bearer()).json()
    assert again["exited"] == 0, "a second refresh changes nothing"


def test_an_invalid_definition_names_the_node_and_the_reason(workspace, client) -> None:  # noqa: ANN001
    bad = {"all": [{"trait": "city", "op": "eq", "value": "上海"},
                   {"event": "Order Completed", "measure": "sum", "op": "gte", "value": 5}]}
    response = client.post("/api/segments/preview", json={"definition": bad}, headers=workspace.bearer())
    assert code_of(response, 422) == "segments.invalid_definition"
    details = response.json()["error"]["details"]
    assert details["path"] == "$.all[1].property" and "sum" in details["reason"]
    for definition, path in [({"trait": "age", "op": "gte", "value": "x"}, "$.value"),
                             ({"any": []}, "$.any"),
                             ({"tag": "VIP", "op": "maybe"}, "$.op"),
                             ({"event": "X", "within": "forever"}, "$.within"),
                             ({"segment": 999_999}, None),
                             ({"trait": "a", "tag": "b"}, "$")]:
        response = client.post("/api/segments/preview", json={"definition": definition}, headers=workspace.bearer())
        assert code_of(response, 422) == "segments.invalid_definition"
        if path:
            assert response.json()["error"]["details"]["path"] == path


def test_segments_can_use_segments_but_never_in_a_cycle(runtime: Runtime, workspace, client) -> None:  # noqa: ANN001
    _people(runtime, workspace.id)
    headers = workspace.bearer()
    shanghai = client.post("/api/segments", json={"name": "上海", "definition": {
        "trait": "city", "op": "eq", "value": "上海"}}, headers=headers).json()
    buyers = client.post("/api/segments", json={"name": "上海买家", "definition": {"all": [
        {"segment": shanghai["id"]}, {"event": "Order Completed"}]}}, headers=headers).json()
    assert shanghai["count"] == 2 and buyers["count"] == 2
    cycle = client.patch(f"/api/segments/{shanghai['id']}", json={"definition": {"segment": buyers["id"]}},
                         headers=headers)
    assert code_of(cycle, 422) == "segments.invalid_definition"
    assert cycle.json()["error"]["details"]["reason"] == "cycle"
    in_use = client.patch(f"/api/segments/{shanghai['id']}", json={"status": "archived"}, headers=headers)
    assert code_of(in_use, 409) == "segments.in_use"


def test_names_are_unique_and_other_workspaces_see_nothing(runtime: Runtime, workspace, other_workspace,
                                                           client) -> None:  # noqa: ANN001
    _people(runtime, workspace.id)
    segment = client.post("/api/segments", json={"name": "all", "definition": {"event": "Order Completed"}},
                          headers=workspace.bearer()).json()
    assert segment["count"] == 3
    again = client.post("/api/segments", json={"name": "all", "definition": {"event": "Order Completed"}},
                        headers=workspace.bearer())
    assert code_of(again, 409) == "segments.conflict"
    other = other_workspace.bearer()
    assert code_of(client.get(f"/api/segments/{segment['id']}", headers=other), 404) == "segments.not_found"
    assert code_of(client.get(f"/api/segments/{segment['id']}/members", headers=other), 404) == "segments.not_found"
    assert code_of(client.post(f"/api/segments/{segment['id']}/refresh", headers=other), 404) == "segments.not_found"
    assert client.get("/api/segments", headers=other).json() == []
    assert client.post("/api/segments/preview", json={"definition": {"event": "Order Completed"}},
                       headers=other).json()["count"] == 0


def _sheet(content: bytes) -> tuple[str, list[tuple]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    return sheet.title, [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _csv(response) -> list[list[str]]:  # noqa: ANN001
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())  # Excel reads the Chinese of other exports right
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_size_history_downloads_as_csv_and_xlsx(runtime: Runtime, workspace, client) -> None:  # noqa: ANN001
    _people(runtime, workspace.id)
    segment = client.post("/api/segments", json={"name": "recent", "definition": BIG_SPENDERS},
                          headers=workspace.bearer()).json()
    clock.freeze(NOW + timedelta(days=91))
    client.post(f"/api/segments/{segment['id']}/refresh", headers=workspace.bearer())
    url = f"/api/segments/{segment['id']}/sizes"
    history = client.get(url, headers=workspace.bearer()).json()
    assert [(h["size"], h["entered"], h["exited"]) for h in history] == [(1, 1, 0), (0, 0, 1)]
    as_csv = client.get(url, params={"format": "csv"}, headers=workspace.bearer())
    assert as_csv.headers["content-disposition"] == f'attachment; filename="segment-{segment["id"]}-sizes.csv"'
    assert _csv(as_csv) == [["day", "size", "entered", "exited"],
                            *[[h["day"], str(h["size"]), str(h["entered"]), str(h["exited"])] for h in history]]
    as_xlsx = client.get(url, params={"format": "xlsx"}, headers=workspace.bearer())
    assert as_xlsx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    title, rows = _sheet(as_xlsx.content)
    assert title == "sizes" and rows == [("day", "size", "entered", "exited"),
                                         (history[0]["day"], 1, 1, 0), (history[1]["day"], 0, 0, 1)]


def test_exports_refuse_an_unknown_format_and_another_workspaces_segment(runtime: Runtime, workspace,  # noqa: ANN001
                                                                          other_workspace, client) -> None:
    _people(runtime, workspace.id)
    segment = client.post("/api/segments", json={"name": "buyers", "definition": {"event": "Order Completed"}},
                          headers=workspace.bearer()).json()
    url = f"/api/segments/{segment['id']}/sizes"
    for path in (url, "/api/scores/rfm", "/api/scores/lifecycle"):
        wrong = client.get(path, params={"format": "pdf"}, headers=workspace.bearer())
        assert code_of(wrong, 400) == "request.invalid" and "format" in wrong.json()["error"]["message"]
    hidden = client.get(url, params={"format": "xlsx"}, headers=other_workspace.bearer())
    assert code_of(hidden, 404) == "segments.not_found"


def test_the_rfm_grid_and_lifecycle_stages_download_as_csv_and_xlsx(runtime: Runtime, workspace, client) -> None:  # noqa: ANN001
    _people(runtime, workspace.id)  # a ¥600, b ¥100, c ¥900: one order each, the same day
    assert client.post("/api/scores/compute", headers=workspace.bearer()).status_code == 200
    grid = client.get("/api/scores/rfm", headers=workspace.bearer()).json()["grid"]
    assert [(c["r"], c["f"], c["customers"]) for c in grid] == [(1, 1, 3)]  # ties share the lowest score
    rows = _csv(client.get("/api/scores/rfm", params={"format": "csv"}, headers=workspace.bearer()))
    assert rows[0] == ["recency_score", "frequency_score", "segment", "customers", "average_spend"]
    assert len(rows) == 1 + 25 and rows[1] == ["1", "1", "hibernating", "3", "533.33"]
    assert rows[-1] == ["5", "5", "champions", "0", ""]
    title, cells = _sheet(client.get("/api/scores/rfm", params={"format": "xlsx"}, headers=workspace.bearer()).content)
    assert title == "rfm" and cells[1] == (1, 1, "hibernating", 3, 533.33) and cells[25] == (5, 5, "champions", 0, None)
    assert {row[2] for row in cells[1:]} >= {"at_risk", "cant_lose", "loyal", "new_customers", "promising"}

    lifecycle = client.get("/api/scores/lifecycle", headers=workspace.bearer()).json()
    active, churned = lifecycle["thresholds"]["active_days"], lifecycle["thresholds"]["churned_days"]
    exported = client.get("/api/scores/lifecycle", params={"format": "csv"}, headers=workspace.bearer())
    assert exported.headers["content-disposition"] == 'attachment; filename="lifecycle-stages.csv"'
    assert _csv(exported) == [["stage", "customers", "active_days", "churned_days"],
                              *[[s["stage"], str(s["customers"]), str(active), str(churned)]
                                for s in lifecycle["stages"]]]
    title, cells = _sheet(client.get("/api/scores/lifecycle", params={"format": "xlsx"},
                                     headers=workspace.bearer()).content)
    assert title == "lifecycle" and cells[1:] == [("new", 3, active, churned), ("active", 0, active, churned),
                                                  ("dormant", 0, active, churned), ("churned", 0, active, churned),
                                                  ("won_back", 0, active, churned)]


def test_segment_events_are_kept_out_of_profile_rollups(runtime: Runtime, workspace, client) -> None:  # noqa: ANN001
    """docs/segments.md: the worker's Segment Entered / Exited events are on the timeline, but a person
    does not become "last seen" or gain an event because a segment moved them."""
    from siyu.db.tables import profile_event_counts

    _people(runtime, workspace.id)
    person = client.get("/api/profiles", headers=workspace.bearer()).json()["items"][-1]["id"]
    before = client.get(f"/api/profiles/{person}", headers=workspace.bearer()).json()
    segment = client.post("/api/segments", json={"name": "recent", "definition": BIG_SPENDERS},
                          headers=workspace.bearer()).json()
    clock.freeze(NOW + timedelta(days=91))
    assert client.post(f"/api/segments/{segment['id']}/refresh", headers=workspace.bearer()).json()["exited"] == 1
    after = client.get(f"/api/profiles/{person}", headers=workspace.bearer()).json()
    assert after["rollups"] == before["rollups"] and after["rollups"]["event_count"] == 2
    with read(runtime.engine) as conn:
        counted = set(conn.execute(select(profile_event_counts.c.name).where(
            profile_event_counts.c.workspace_id == workspace.id)).scalars())
        written = list(conn.execute(select(events.c.name).where(
            events.c.workspace_id == workspace.id, events.c.profile_id == person,
            events.c.source == "segments").order_by(events.c.id)).scalars())
    assert written == ["Segment Entered", "Segment Exited"]
    assert counted.isdisjoint({"Segment Entered", "Segment Exited"})
