"""Console pages for segments and scores over HTTP: list, builder data, one segment, export, RFM grid."""

from __future__ import annotations

import json
import re

from siyu.runtime import Runtime
from tests.conftest import make_workspace
from tests.web.test_pages import signed_in  # noqa: F401 - the fixture

BUYERS = {"event": "Order Completed"}


def _builder(html: str) -> dict:
    return json.loads(re.search(r'id="builder-data" type="application/json">(.*?)</script>', html, re.S).group(1))


def _csrf(client) -> str:  # noqa: ANN001
    return _builder(client.get("/segments").text)["csrf"]


def test_build_preview_save_and_open_a_segment_as_the_console_does(signed_in) -> None:  # noqa: ANN001, F811
    page = signed_in.get("/segments")
    assert page.status_code == 200 and 'id="no-segments"' in page.text
    assert _builder(page.text)["vocabulary"]["tags"] == ["口红爱好者"]
    headers = {"X-CSRF-Token": _csrf(signed_in)}
    preview = signed_in.post("/api/segments/preview", json={"definition": BUYERS}, headers=headers)
    assert preview.json()["count"] == 1
    saved = signed_in.post("/api/segments", json={"name": "下单客户", "definition": BUYERS}, headers=headers).json()
    listed = signed_in.get("/segments").text
    assert f'href="/segments/{saved["id"]}"' in listed and "下单客户" in listed
    detail = signed_in.get(f"/segments/{saved['id']}")
    assert detail.status_code == 200 and 'id="count">1<' in detail.text
    data = json.loads(re.search(r'id="chart-data" type="application/json">(.*?)</script>', detail.text, re.S).group(1))
    assert data["size"] == [1] and data["entered"] == [1]
    export = signed_in.get(f"/segments/{saved['id']}/members.csv")
    assert export.headers["content-type"].startswith("text/csv")
    assert export.text.lstrip("\ufeff").splitlines()[0] == "profile_id" and len(export.text.splitlines()) == 2


def test_saving_from_the_console_needs_the_token(signed_in) -> None:  # noqa: ANN001, F811
    refused = signed_in.post("/api/segments", json={"name": "x", "definition": BUYERS})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.csrf"


def test_scores_page_shows_the_rfm_grid_and_lifecycle(signed_in) -> None:  # noqa: ANN001, F811
    empty = signed_in.get("/scores")
    assert empty.status_code == 200 and 'id="no-scores"' in empty.text
    headers = {"X-CSRF-Token": _csrf(signed_in)}
    assert signed_in.post("/api/scores/compute", headers=headers).status_code == 200
    page = signed_in.get("/scores").text
    data = json.loads(re.search(r'id="chart-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert sum(cell["customers"] for cell in data["grid"]) == 1
    assert {s["value"] for s in data["stages"]} == {0, 1}


def test_another_workspaces_segment_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    other = make_workspace(runtime, "other")
    from siyu import clock
    from siyu.db.engine import write
    from siyu.segments import membership

    with write(runtime.engine) as conn:
        segment = membership.save(conn, other.id, name="theirs", description=None, definition=BUYERS, actor="t",
                                  now=clock.now(), timezone="Asia/Shanghai")
    assert signed_in.get(f"/segments/{segment['id']}").status_code == 404
    assert signed_in.get(f"/segments/{segment['id']}/members.csv").status_code == 404
