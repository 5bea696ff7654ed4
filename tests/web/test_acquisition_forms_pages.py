"""Console pages for hosted forms over HTTP: the list with views, submissions and conversion, the
editor's starting definition and the API calls it makes (with the parser's refusal naming a path),
the detail page's funnel and consent evidence, roles, other workspaces."""

from __future__ import annotations

import json
import re
from typing import Any

from siyu import clock
from siyu.acquisition import forms_store
from siyu.channels.fakes import FakeAliyunSms
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.acquisition.test_forms import DEFINITION, aliyun, ask, form, sent_code, submit  # noqa: F401 - fixtures
from tests.conftest import make_workspace
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def _cell(html: str, row_id: int, name: str) -> str:
    row = re.search(rf'<tr data-id="{row_id}">(.*?)</tr>', html, re.S).group(1)
    return re.search(rf'class="{name}">(.*?)</td>', row, re.S).group(1)


def test_create_a_form_as_the_editor_does_and_see_the_parser_refusal(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                     workspace) -> None:
    listed = signed_in.get("/forms")
    assert listed.status_code == 200 and 'id="no-forms"' in listed.text and "留资表单" in listed.text
    editor = signed_in.get("/forms/new")
    assert editor.status_code == 200 and 'data-api="/api/forms"' in editor.text and 'data-method="POST"' in editor.text
    starter = json.loads(re.search(r'<textarea id="definition"[^>]*>(.*?)</textarea>', editor.text, re.S).group(1)
                         .replace("&#34;", '"').replace("&quot;", '"'))
    headers = {"X-CSRF-Token": _data(editor.text, "form-data")["csrf"]}
    assert signed_in.post("/api/forms", headers=headers, json={"definition": starter}).status_code == 201
    broken = {**DEFINITION, "fields": [DEFINITION["fields"][0], {**DEFINITION["fields"][1], "options": []}]}
    refused = signed_in.post("/api/forms", headers=headers, json={"definition": broken})
    assert refused.status_code == 422 and refused.json()["error"]["details"]["path"] == "fields[1].options"
    created = signed_in.post("/api/forms", headers=headers, json={"definition": DEFINITION})
    assert created.status_code == 201
    form_id = created.json()["id"]
    html = signed_in.get("/forms").text
    assert "双11 新客礼" in html and _cell(html, form_id, "status") == "收集中"
    assert _cell(html, form_id, "conversion") == "—"

    edit = signed_in.get(f"/forms/{form_id}/edit")
    assert f'data-api="/api/forms/{form_id}"' in edit.text and 'data-method="PATCH"' in edit.text
    assert "领取双11新客礼" in edit.text
    changed = signed_in.patch(f"/api/forms/{form_id}", headers=headers,
                              json={"definition": {**DEFINITION, "name": "双11 新客礼 v2"}})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    page = signed_in.get(f"/forms/{form_id}").text
    assert 'id="form-version">2<' in page and 'id="close"' in page and 'id="no-submissions"' in page


def test_the_detail_page_shows_the_funnel_and_consent_evidence(client, runtime: Runtime, workspace,  # noqa: ANN001
                                                               form: dict[str, Any],  # noqa: F811
                                                               aliyun: FakeAliyunSms) -> None:  # noqa: F811
    client.get(f"/f/{form['slug']}", headers={"Accept-Language": "zh-CN"})
    client.get(f"/f/{form['slug']}", headers={"Accept-Language": "zh-CN"})
    assert ask(client, form).status_code == 200
    assert submit(client, form, sent_code(aliyun)).status_code == 200
    email = f"ops-{workspace.name}@brand.cn"
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, email, PASSWORD)
        workspace_store.add_member(conn, workspace.id, user.id, Role.OPERATOR)
    assert sign_in(client, email).status_code == 303
    html = client.get("/forms").text
    assert _cell(html, form["id"], "views") == "2" and _cell(html, form["id"], "submissions") == "1"
    assert _cell(html, form["id"], "conversion") == "50.0%"
    page = client.get(f"/forms/{form['id']}").text
    assert 'id="total-views">2<' in page and 'id="total-codes">1<' in page and 'id="total-conversion">50.0%<' in page
    chart = _data(page, "chart-data")
    assert chart["type"] == "bar" and chart["labels"] == ["11-11"]
    assert {s["code"]: s["values"] for s in chart["series"]} == {"views": [2], "codes_sent": [1], "submissions": [1]}
    [row] = re.findall(r'<tr data-id="\d+">(.*?)</tr>', page, re.S)
    assert "13912345678" in row and "“我同意完美日记通过短信向我发送优惠信息”" in row and "(zh" in row
    assert "https://brand.example/privacy" in row and "xhs_kol_0611" in row and "name: 林娜" in row


def test_an_analyst_reads_forms_but_may_not_change_them(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    with write(runtime.engine) as conn:
        created = forms_store.create_form(conn, workspace.id, {**DEFINITION, "name": "门店留资"}, clock.now())
        user = workspace_store.create_user(conn, f"analyst-{workspace.name}@brand.cn", PASSWORD, locale="en")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, f"analyst-{workspace.name}@brand.cn").status_code == 303
    listed = client.get("/forms")
    assert listed.status_code == 200 and "门店留资" in listed.text and 'id="new-form"' not in listed.text
    assert ">Open<" in listed.text
    for path in ("/forms/new", f"/forms/{created['id']}/edit"):
        refused = client.get(path)
        assert refused.status_code == 403 and "needs the profiles:write permission" in refused.text
    page = client.get(f"/forms/{created['id']}")
    assert page.status_code == 200 and 'id="actions"' not in page.text


def test_another_workspaces_form_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    other = make_workspace(runtime, "other")
    with write(runtime.engine) as conn:
        theirs = forms_store.create_form(conn, other.id, {**DEFINITION, "name": "theirs"}, clock.now())
    assert signed_in.get(f"/forms/{theirs['id']}").status_code == 404
    assert signed_in.get(f"/forms/{theirs['id']}/edit").status_code == 404
    assert "theirs" not in signed_in.get("/forms").text
    assert signed_in.get("/forms/abc").status_code == 404


def test_form_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/forms", "/forms/new", "/forms/1", "/forms/1/edit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")

