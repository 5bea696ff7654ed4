"""Console pages for segments and scores over HTTP: list, builder data, one segment, export, RFM grid."""

from __future__ import annotations

import csv
import io
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


def test_the_builder_offers_labels_in_the_readers_language_and_sends_codes(signed_in) -> None:  # noqa: ANN001, F811
    zh = _builder(signed_in.get("/segments").text)["vocabulary"]
    en = _builder(signed_in.get("/segments", headers={"Accept-Language": "en-US"}).text)["vocabulary"]
    assert (zh["operators"]["gte"], en["operators"]["gte"]) == ("大于或等于", "at least")
    assert ["count", "次数"] in zh["measures"] and ["wechat_unionid", "微信 UnionID"] in zh["identifiers"]
    stages = {s["code"]: s for s in en["scores"]}["lifecycle_stage"]
    assert stages["label"] == "Lifecycle stage" and ["won_back", "Won back"] in stages["choices"]
    assert {s["code"]: s for s in zh["scores"]}["rfm_segment"]["choices"][0] == ["champions", "重要价值客户"]
    assert {r["code"]: r["label"] for r in zh["rollups"]}["order_count"] == "订单数"


def _link(html: str, link_id: str) -> str:
    return re.search(rf'id="{link_id}" href="([^"]+)"', html).group(1)


def test_the_size_history_rfm_grid_and_lifecycle_download_from_their_pages(signed_in) -> None:  # noqa: ANN001, F811
    from openpyxl import load_workbook

    headers = {"X-CSRF-Token": _csrf(signed_in)}
    saved = signed_in.post("/api/segments", json={"name": "下单客户", "definition": BUYERS}, headers=headers).json()
    page = signed_in.get(f"/segments/{saved['id']}").text
    sizes = signed_in.get(_link(page, "export-sizes-csv"))
    assert sizes.status_code == 200 and "attachment" in sizes.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(sizes.content.decode("utf-8-sig"))))
    assert rows[0] == ["day", "size", "entered", "exited"] and [r[1:] for r in rows[1:]] == [["1", "1", "0"]]
    sheet = load_workbook(io.BytesIO(signed_in.get(_link(page, "export-sizes-xlsx")).content)).active
    assert [c.value for c in sheet[2]][1:] == [1, 1, 0]

    assert signed_in.post("/api/scores/compute", headers=headers).status_code == 200
    scores = signed_in.get("/scores").text
    rfm = list(csv.reader(io.StringIO(signed_in.get(_link(scores, "export-rfm-csv")).content.decode("utf-8-sig"))))
    assert sum(int(r[3]) for r in rfm[1:]) == 1 and len(rfm) == 26
    sheet = load_workbook(io.BytesIO(signed_in.get(_link(scores, "export-rfm-xlsx")).content)).active
    assert sheet["A1"].value == "recency_score" and sum(c.value for c in sheet["D"][1:]) == 1
    stages = signed_in.get(_link(scores, "export-lifecycle-csv")).content.decode("utf-8-sig").splitlines()
    assert stages[0] == "stage,customers,active_days,churned_days" and stages[1].startswith("new,1,")
    sheet = load_workbook(io.BytesIO(signed_in.get(_link(scores, "export-lifecycle-xlsx")).content)).active
    assert (sheet["A2"].value, sheet["B2"].value) == ("new", 1)


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


def test_downloading_members_needs_the_export_permission(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    """A members file is a bulk export: staff (no ``export``) get a 403 page that says why, in their
    language, and can still read the segment's page; an analyst (``export``) downloads it."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.segments import membership
    from siyu.workspaces import store
    from siyu.workspaces.models import Role
    from tests.web.test_pages import PASSWORD, customers, sign_in

    customers(runtime, workspace.id)
    with write(runtime.engine) as conn:
        segment = membership.save(conn, workspace.id, name="下单客户", description=None, definition=BUYERS,
                                  actor="t", now=clock.now(), timezone="Asia/Shanghai")
        for role in (Role.STAFF, Role.ANALYST):
            user = store.create_user(conn, f"{role.value}-{workspace.name}@brand.cn", PASSWORD)
            store.add_member(conn, workspace.id, user.id, role)
    members = f"/segments/{segment['id']}/members.csv"

    assert sign_in(client, f"staff-{workspace.name}@brand.cn").status_code == 303
    refused = client.get(members)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "你的角色不能导出分群成员" in refused.text and "export 权限" in refused.text
    english = client.get(members, headers={"Accept-Language": "en-US"})
    assert english.status_code == 403 and "Your role may not export segment members" in english.text
    assert "profile_id" not in refused.text + english.text
    assert client.get(f"/segments/{segment['id']}").status_code == 200

    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    allowed = client.get(members)
    assert allowed.status_code == 200 and allowed.headers["content-type"].startswith("text/csv")
    assert allowed.text.lstrip("\ufeff").splitlines()[0] == "profile_id" and len(allowed.text.splitlines()) == 2
