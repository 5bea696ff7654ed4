"""Console pages over HTTP: login, language, home figures, customers, another workspace's ids."""

from __future__ import annotations

import re

import pytest

from siyu import clock
from siyu.db.engine import write
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace

PASSWORD = "correct horse battery"


def console_user(runtime: Runtime, workspace_id: int, email: str, locale: str | None = None) -> None:
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, email, PASSWORD, display_name="运营小王", locale=locale)
        workspace_store.add_member(conn, workspace_id, user.id, Role.OPERATOR)


def customers(runtime: Runtime, workspace_id: int) -> None:
    messages = [parse_message(m, received_at=clock.now()) for m in [
        {"type": "identify", "userId": "m1", "traits": {"name": "李娜", "phone": "13800138001"},
         "context": {"campaign": {"source": "xiaohongshu"}}},
        {"type": "track", "userId": "m1", "event": "Order Completed", "properties": {"total": 259}},
        {"type": "identify", "userId": "m2", "traits": {"name": "王芳", "phone": "13900139002"},
         "context": {"campaign": {"source": "tmall_card"}}},
    ]]
    with write(runtime.engine) as conn:
        ingest(conn, workspace_id, messages, rules=DEFAULT_RULES)


def sign_in(client, email: str, password: str = PASSWORD):  # noqa: ANN001, ANN201
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf": token, "next": "/"},
                       follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def signed_in(client, runtime: Runtime, workspace):  # noqa: ANN001, ANN201
    email = f"ops-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    customers(runtime, workspace.id)
    assert sign_in(client, email).status_code == 303
    return client


def test_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/", "/profiles", "/profiles/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_wrong_password_is_refused_with_a_message(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    console_user(runtime, workspace.id, f"x-{workspace.name}@brand.cn")
    response = sign_in(client, f"x-{workspace.name}@brand.cn", "wrong password")
    assert response.status_code == 400 and "邮箱或密码不正确" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_without_the_form_token_is_refused(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    console_user(runtime, workspace.id, f"y-{workspace.name}@brand.cn")
    response = client.post("/login", data={"email": f"y-{workspace.name}@brand.cn", "password": PASSWORD})
    assert response.status_code == 400


def test_home_shows_real_figures_and_chart_data(signed_in) -> None:  # noqa: ANN001
    page = signed_in.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200
    assert re.search(r'id="customers">2<', page.text)
    assert re.search(r'id="events-today">3<', page.text)
    assert '"xiaohongshu"' in page.text and "echarts.min.js" in page.text
    assert "今日新增" in page.text and "客户" in page.text


def test_language_follows_accept_language_then_the_users_setting(signed_in) -> None:  # noqa: ANN001
    english = signed_in.get("/profiles", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Customers" in english.text and 'lang="en"' in english.text
    chinese = signed_in.get("/profiles", headers={"Accept-Language": "zh-CN"})
    assert "客户" in chinese.text and 'lang="zh-CN"' in chinese.text
    signed_in.post("/settings/language", data={"locale": "en", "csrf": csrf_of(chinese.text), "back": "/profiles"})
    saved = signed_in.get("/profiles", headers={"Accept-Language": "zh-CN"})
    assert "Customers" in saved.text  # the user's own setting wins over the browser


def test_customer_search_and_profile_page(signed_in) -> None:  # noqa: ANN001
    listing = signed_in.get("/profiles", params={"q": "138 0013"})
    assert "李娜" in listing.text and "王芳" not in listing.text
    profile_id = re.search(r'href="/profiles/(\d+)"', listing.text).group(1)
    page = signed_in.get(f"/profiles/{profile_id}")
    assert page.status_code == 200
    for expected in ("+8613800138001", "Order Completed", "xiaohongshu", "user_id"):
        assert expected in page.text


def test_another_workspaces_customer_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001
    other = make_workspace(runtime, "other")
    customers(runtime, other.id)
    from siyu.db.engine import read
    from siyu.identity import store as identity_store
    from siyu.identity.models import Identifier

    with read(runtime.engine) as conn:
        theirs = identity_store.find_profile_id(conn, other.id, Identifier("user_id", "m1"))
    page = signed_in.get(f"/profiles/{theirs}")
    assert page.status_code == 404 and "李娜" not in page.text
    assert signed_in.get("/profiles/99999999999999999999").status_code in (404, 422, 400)


def test_a_console_session_cannot_change_data_through_the_api_without_the_token(signed_in) -> None:  # noqa: ANN001
    listing = signed_in.get("/profiles")
    profile_id = re.search(r'href="/profiles/(\d+)"', listing.text).group(1)
    assert signed_in.get(f"/api/profiles/{profile_id}").status_code == 200
    refused = signed_in.patch(f"/api/profiles/{profile_id}/traits", json={"set": {"x": 1}})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "auth.csrf"
    allowed = signed_in.patch(f"/api/profiles/{profile_id}/traits", json={"set": {"x": 1}},
                              headers={"X-CSRF-Token": csrf_of(listing.text)})
    assert allowed.status_code == 200


def test_sign_out(signed_in) -> None:  # noqa: ANN001
    page = signed_in.get("/")
    signed_in.post("/logout", data={"csrf": csrf_of(page.text)})
    assert signed_in.get("/", follow_redirects=False).status_code == 303


def test_the_search_form_with_no_tag_chosen_works(signed_in) -> None:  # noqa: ANN001
    page = signed_in.get("/profiles", params={"q": "王", "tag": ""})
    assert page.status_code == 200 and "王芳" in page.text
