"""Console pages over HTTP: sign-in, language, home figures, customers, errors, another workspace's ids."""

from __future__ import annotations

import re

import pytest

from siyu import clock
from siyu.db.engine import read, write
from siyu.identity import store as identity_store
from siyu.identity.models import Identifier
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.profiles import editing, tag_store, tagging
from siyu.profiles.models import TagGroupKind
from siyu.runtime import Runtime
from siyu.web import routes
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace

PASSWORD = "correct horse battery"


def console_user(runtime: Runtime, workspace_id: int, email: str, locale: str | None = None) -> int:
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, email, PASSWORD, display_name="运营小王", locale=locale)
        workspace_store.add_member(conn, workspace_id, user.id, Role.OPERATOR)
    return user.id


def customers(runtime: Runtime, workspace_id: int) -> None:
    """李娜 (from Xiaohongshu, one order, tagged 口红爱好者, marketing SMS granted) and 王芳 (Tmall card)."""
    messages = [parse_message(m, received_at=clock.now()) for m in [
        {"type": "identify", "userId": "m1", "traits": {"name": "李娜", "phone": "13800138001"},
         "context": {"campaign": {"source": "xiaohongshu"}}},
        {"type": "track", "userId": "m1", "event": "Order Completed", "properties": {"total": 259}},
        {"type": "identify", "userId": "m2", "traits": {"name": "王芳", "phone": "13900139002"},
         "context": {"campaign": {"source": "tmall_card"}}},
    ]]
    with write(runtime.engine) as conn:
        ingest(conn, workspace_id, messages, rules=DEFAULT_RULES)
        li_na = profile_of(conn, workspace_id, "m1")
        tag = tag_store.create_tag(conn, workspace_id, "口红爱好者", group="兴趣", kind=TagGroupKind.BUSINESS,
                                   description=None, at=clock.now())
        tagging.tag_profiles(conn, workspace_id, tag, profile_ids=[li_na], source="manual", actor="test")
        editing.set_consent(conn, workspace_id, li_na, "sms", "marketing", "granted", source="form", actor="test")


def profile_of(conn, workspace_id: int, user_id: str) -> int:  # noqa: ANN001
    return identity_store.find_profile_id(conn, workspace_id, Identifier("user_id", user_id))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client, email: str, password: str = PASSWORD, next: str = "/"):  # noqa: ANN001, ANN201
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf": token, "next": next},
                       follow_redirects=False)


@pytest.fixture
def signed_in(client, runtime: Runtime, workspace):  # noqa: ANN001, ANN201
    email = f"ops-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    customers(runtime, workspace.id)
    assert sign_in(client, email).status_code == 303
    return client


def test_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/", "/profiles", "/profiles/1", "/workspaces"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_wrong_password_is_refused_with_a_message(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    console_user(runtime, workspace.id, f"x-{workspace.name}@brand.cn")
    response = sign_in(client, f"x-{workspace.name}@brand.cn", "wrong password")
    assert response.status_code == 400 and "邮箱或密码不正确" in response.text
    unknown = sign_in(client, f"nobody-{workspace.name}@brand.cn")
    assert unknown.status_code == 400 and "邮箱或密码不正确" in unknown.text  # same answer: no account probing
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_without_the_form_token_is_refused(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    console_user(runtime, workspace.id, f"y-{workspace.name}@brand.cn")
    response = client.post("/login", data={"email": f"y-{workspace.name}@brand.cn", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    email = f"n-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    assert sign_in(client, email, next="/profiles").headers["location"] == "/profiles"
    assert sign_in(client, email, next="//evil.example/x").headers["location"] == "/"


def test_a_user_in_two_workspaces_chooses_one(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    email = f"two-{workspace.name}@brand.cn"
    user_id = console_user(runtime, workspace.id, email)
    second, stranger = make_workspace(runtime, "second"), make_workspace(runtime, "stranger")
    with write(runtime.engine) as conn:
        workspace_store.add_member(conn, second.id, user_id, Role.ANALYST)
    customers(runtime, second.id)
    assert sign_in(client, email).headers["location"] == "/workspaces"
    chooser = client.get("/workspaces")
    assert second.name in chooser.text and stranger.name not in chooser.text
    refused = client.post("/workspaces", data={"workspace_id": stranger.id, "csrf": csrf_of(chooser.text)},
                          follow_redirects=False)
    assert refused.headers["location"] == "/workspaces"
    assert client.get("/", follow_redirects=False).status_code == 303  # still no workspace chosen
    client.post("/workspaces", data={"workspace_id": second.id, "csrf": csrf_of(chooser.text)})
    home = client.get("/")
    assert home.status_code == 200 and re.search(r'id="customers">2<', home.text)


def test_home_shows_real_figures_and_chart_data(signed_in) -> None:  # noqa: ANN001
    page = signed_in.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200
    assert re.search(r'id="customers">2<', page.text) and re.search(r'id="new-today">2<', page.text)
    assert re.search(r'id="events-today">\d+<', page.text)
    assert "echarts.min.js" in page.text and 'id="chart"' in page.text
    chart = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', page.text).group(1)
    assert '"code": "xiaohongshu"' in chart and "\\u5c0f\\u7ea2\\u4e66" in chart  # 小红书, escaped for <script>
    assert "今日新增" in page.text and "客户" in page.text


def test_an_empty_workspace_has_zero_figures_and_no_chart(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    email = f"empty-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    sign_in(client, email)
    page = client.get("/", headers={"Accept-Language": "en"})
    assert re.search(r'id="customers">0<', page.text) and "No new customers in the last 30 days." in page.text
    assert "echarts.min.js" not in page.text


def test_language_follows_the_users_setting_then_accept_language(signed_in) -> None:  # noqa: ANN001
    english = signed_in.get("/profiles", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Customers" in english.text and 'lang="en"' in english.text
    chinese = signed_in.get("/profiles", headers={"Accept-Language": "zh-CN"})
    assert "客户" in chinese.text and 'lang="zh-CN"' in chinese.text
    assert 'lang="zh-CN"' in signed_in.get("/profiles", headers={"Accept-Language": "fr"}).text  # default
    signed_in.post("/settings/language", data={"locale": "en", "csrf": csrf_of(chinese.text), "back": "/profiles"})
    saved = signed_in.get("/profiles", headers={"Accept-Language": "zh-CN"})
    assert "Customers" in saved.text  # the user's own setting wins over the browser


def test_the_language_setting_is_saved_on_the_user(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    page = signed_in.get("/")
    signed_in.post("/settings/language", data={"locale": "en", "csrf": csrf_of(page.text)})
    with read(runtime.engine) as conn:
        assert workspace_store.find_user_by_email(conn, f"ops-{workspace.name}@brand.cn").locale == "en"


def test_a_language_change_without_the_form_token_changes_nothing(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    signed_in.post("/settings/language", data={"locale": "en", "csrf": "forged"})
    with read(runtime.engine) as conn:
        assert workspace_store.find_user_by_email(conn, f"ops-{workspace.name}@brand.cn").locale is None


def test_the_sign_in_page_can_switch_language_before_signing_in(client) -> None:  # noqa: ANN001
    page = client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert "登录" in page.text
    client.post("/settings/language", data={"locale": "en", "csrf": csrf_of(page.text), "back": "/login"})
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "zh-CN"}).text


def test_customer_search_and_profile_page(signed_in) -> None:  # noqa: ANN001
    listing = signed_in.get("/profiles", params={"q": "138 0013"})
    assert "李娜" in listing.text and "王芳" not in listing.text
    profile_id = re.search(r'href="/profiles/(\d+)"', listing.text).group(1)
    page = signed_in.get(f"/profiles/{profile_id}")
    assert page.status_code == 200
    for expected in ("+8613800138001", "Order Completed", "小红书", "user_id", "口红爱好者", "短信", "营销",
                     "已同意", "¥259.00", "&#34;name&#34;: &#34;李娜&#34;"):
        assert expected in page.text, expected


def test_numbers_money_and_dates_follow_the_language(signed_in) -> None:  # noqa: ANN001
    profile_id = re.search(r'href="/profiles/(\d+)"', signed_in.get("/profiles", params={"q": "李娜"}).text).group(1)
    english = signed_in.get(f"/profiles/{profile_id}", headers={"Accept-Language": "en"}).text
    assert "CN¥259.00" in english and "Xiaohongshu" in english and "Marketing" in english
    local = clock.now().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert f"{local.year}年{local.month}月{local.day}日" in signed_in.get(f"/profiles/{profile_id}").text


def test_the_tag_filter_lists_only_tagged_customers(signed_in, runtime: Runtime) -> None:  # noqa: ANN001
    listing = signed_in.get("/profiles")
    assert "李娜" in listing.text and "王芳" in listing.text
    tag_id = re.search(r'<option value="(\d+)"[^>]*>口红爱好者 \(1\)</option>', listing.text).group(1)
    tagged = signed_in.get("/profiles", params={"tag": tag_id})
    assert "李娜" in tagged.text and "王芳" not in tagged.text


def test_another_workspaces_tag_filters_to_nothing(signed_in, runtime: Runtime) -> None:  # noqa: ANN001
    other = make_workspace(runtime, "other")
    customers(runtime, other.id)
    with read(runtime.engine) as conn:
        theirs = tag_store.get_tag(conn, other.id, name="口红爱好者")["id"]
    page = signed_in.get("/profiles", params={"tag": theirs})
    assert page.status_code == 200 and "李娜" not in page.text and "<tbody>" not in page.text


def test_the_list_pages_through_every_customer(signed_in, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(routes, "PAGE_SIZE", 1)
    first = signed_in.get("/profiles")
    next_link = re.search(r'id="next-page" href="([^"]+)"|href="([^"]+)" id="next-page"', first.text)
    second = signed_in.get(next_link.group(2).replace("&amp;", "&"))
    names = {name for page in (first, second) for name in ("李娜", "王芳") if name in page.text}
    assert names == {"李娜", "王芳"} and 'id="next-page"' not in second.text and 'id="first-page"' in second.text


def test_another_workspaces_customer_is_a_404_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001
    other = make_workspace(runtime, "other")
    customers(runtime, other.id)
    with read(runtime.engine) as conn:
        theirs = profile_of(conn, other.id, "m1")
    page = signed_in.get(f"/profiles/{theirs}")
    assert page.status_code == 404 and "李娜" not in page.text and "text/html" in page.headers["content-type"]


@pytest.mark.parametrize(("path", "status"), [
    ("/profiles/abc", 404), ("/profiles/99999999999999999999", 404), ("/profiles/0", 404),
    ("/profiles?q=" + "x" * 400, 400), ("/no-such-page", 404), ("/profiles?cursor=not-a-cursor", 200),
])
def test_bad_console_input_renders_a_page_not_json(signed_in, path: str, status: int) -> None:  # noqa: ANN001
    page = signed_in.get(path, headers={"Accept": "text/html"})
    assert page.status_code == status and page.headers["content-type"].startswith("text/html")
    assert "<!doctype html>" in page.text


def test_a_malformed_form_renders_a_page(client) -> None:  # noqa: ANN001
    for path, data in (("/login", {"email": "x" * 400}), ("/workspaces", {"workspace_id": "x"})):
        page = client.post(path, data=data, follow_redirects=False)
        assert page.status_code == 400 and page.headers["content-type"].startswith("text/html"), path


def test_api_clients_still_get_the_error_envelope(client) -> None:  # noqa: ANN001
    response = client.get("/api/no-such-route", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.get("/no-such-page").json()["error"]["code"] == "not_found"  # not a browser: JSON


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


def test_pages_load_nothing_from_the_internet(signed_in) -> None:  # noqa: ANN001
    page = signed_in.get("/")
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert signed_in.get(asset).status_code == 200, asset
    assert signed_in.get("/static/vendor/echarts/LICENSE").status_code == 200


def test_a_removed_member_loses_api_access_at_once(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    from sqlalchemy import delete

    from siyu.db.tables import workspace_members

    assert signed_in.get("/api/workspace").status_code == 200
    with write(runtime.engine) as conn:
        conn.execute(delete(workspace_members).where(workspace_members.c.workspace_id == workspace.id))
    refused = signed_in.get("/api/workspace")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "auth.session_revoked"
