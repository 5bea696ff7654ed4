"""Group live codes end to end through the API and the public page, on SQLite and PostgreSQL: the
page moves on as groups fill up (counted from the kept members of a linked community group, or by
hand) and expire, says so kindly when none is left, and alerts the operator once (API and webhook)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from siyu import clock
from siyu.channels.fakes.server import LoopbackServer, Request
from siyu.channels.fakes.wecom import FakeWeCom
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from tests.acquisition.test_group_codes import qr_png
from tests.groups.scene import CORP, SECRET, T0, configure, member, push


class AlertSink(LoopbackServer):
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        super().__init__()

    def handle(self, request: Request) -> tuple[int, Any]:
        with self.lock:
            self.received.append((request.headers, request.body))
        return 200, {"ok": True}


@pytest.fixture
def sink() -> Iterator[AlertSink]:
    server = AlertSink()
    yield server
    server.stop()


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom({CORP: SECRET}) as server:
        yield server


def make_code(client, workspace, **body: Any) -> dict:  # noqa: ANN001
    made = client.post("/api/group-codes", json={"name": "福利群活码", "title": "完美日记福利群", **body},
                       headers=workspace.bearer())
    assert made.status_code == 201, made.text
    return made.json()


def add_group(client, workspace, code_id: int, label: str, **form: Any) -> Any:  # noqa: ANN001
    image = form.pop("image", qr_png(label))
    return client.post(f"/api/group-codes/{code_id}/groups", headers=workspace.bearer(),
                       data={"label": label, **{k: str(v) for k, v in form.items()}},
                       files={"image": ("qr.png", image, "image/png")})


def test_the_page_moves_on_as_groups_fill_and_expire_and_alerts_once_when_none_is_left(
        runtime: Runtime, workspace, client, fake: FakeWeCom, sink: AlertSink) -> None:
    configure(runtime, workspace.id, fake)
    fake.set_group_chat("wrLive1", name="福利1群", owner="zhangsan",
                        members=[member(f"wm{i}", T0 + i) for i in range(3)])
    push(runtime, workspace.id, "chat_create", "wrLive1")
    run_due(runtime)
    linked = client.get("/api/groups", headers=workspace.bearer()).json()[0]["id"]

    code = make_code(client, workspace, alert_webhook_url=f"{sink.url}/alerts")
    token = code["page_url"].rsplit("/", 1)[1]
    first = add_group(client, workspace, code["id"], "福利1群", capacity=4, group_id=linked)
    assert first.status_code == 201, first.text
    second = add_group(client, workspace, code["id"], "福利2群", capacity=2, manual_count=0).json()
    one, two = (g["id"] for g in second["groups"])
    assert [(g["count"], g["state"]) for g in second["groups"]] == [(3, "available"), (0, "available")]
    assert second["groups"][0]["expires_at"].startswith(str((clock.now() + timedelta(days=7)).date()))

    page = client.get(f"/g/{token}")
    assert page.status_code == 200 and "福利1群" in page.text and f"/g/{token}/qr/{one}" in page.text
    assert page.headers["cache-control"].startswith("no-store")
    image_path = page.text.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    shown = client.get(image_path)
    assert shown.status_code == 200 and shown.content == qr_png("福利1群")

    # A fourth customer joins the linked group: it is full, the page moves on to the next one.
    fake.set_group_chat("wrLive1", name="福利1群", owner="zhangsan",
                        members=[member(f"wm{i}", T0 + i) for i in range(4)])
    push(runtime, workspace.id, "chat_update", "wrLive1", UpdateDetail="add_member", JoinScene="3",
         MemChangeList="wm3")
    run_due(runtime)
    as_json = client.get(f"/g/{token}.json").json()
    assert (as_json["group"]["id"], as_json["group"]["label"], as_json["group"]["room"]) == (two, "福利2群", 2)
    # The last group left is at 90 %: one alert ahead, not one per view.
    client.patch(f"/api/group-codes/{code['id']}/groups/{two}", json={"capacity": 20, "manual_count": 18},
                 headers=workspace.bearer())
    client.get(f"/g/{token}")
    client.get(f"/g/{token}")
    kinds = [a["kind"] for a in client.get(f"/api/group-codes/{code['id']}/alerts", headers=workspace.bearer()).json()]
    assert kinds == ["nearly_full"]

    # A week later every QR has expired: the page says so kindly, the operator hears it once.
    clock.freeze(clock.now() + timedelta(days=8))
    empty = client.get(f"/g/{token}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert empty.status_code == 200 and 'id="none-left"' in empty.text and "please open this page again" in empty.text
    assert "群已满" in client.get(f"/g/{token}?lang=zh").text
    assert client.get(f"/g/{token}.json").json() == {"title": "完美日记福利群", "group": None, "none_left": True}
    alerts = client.get("/api/group-codes/alerts", headers=workspace.bearer()).json()
    assert [a["kind"] for a in alerts] == ["exhausted", "nearly_full"]
    run_due(runtime)
    run_due(runtime)
    bodies = [body for _, body in sink.received]
    assert len(bodies) == 2 and b'"exhausted"' in bodies[1]
    headers, body = sink.received[1]
    expected = hmac.new(runtime.session_secret().encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-siyu-signature"] == expected

    detail = client.get(f"/api/group-codes/{code['id']}", headers=workspace.bearer()).json()
    assert detail["showing"] is None and {g["state"] for g in detail["groups"]} == {"expired"}
    assert detail["none_left_views"] == 3 and detail["views"] == 7
    assert {g["id"]: g["shown"] for g in detail["groups"]} == {one: 1, two: 3}

    # A fresh QR for the second group: the page has a group again, and a later exhaustion alerts anew.
    fresh = client.put(f"/api/group-codes/{code['id']}/groups/{two}/image", headers=workspace.bearer(),
                       files={"image": ("new.png", qr_png("福利2群 新"), "image/png")})
    assert fresh.status_code == 200 and fresh.json()["showing"] == two
    assert client.get(f"/g/{token}.json").json()["group"]["id"] == two


def test_stats_count_views_shown_groups_and_joins_per_day(runtime: Runtime, workspace, client,
                                                          fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    now = int(clock.now().timestamp())
    fake.set_group_chat("wrStats", name="统计群", owner="zhangsan",
                        members=[member("wmOld", now - 3 * 86400), member("wmA", now - 60), member("wmB", now - 30)])
    push(runtime, workspace.id, "chat_create", "wrStats")
    run_due(runtime)
    linked = client.get("/api/groups", headers=workspace.bearer()).json()[0]["id"]
    code = make_code(client, workspace, strategy="least_full")
    entry = add_group(client, workspace, code["id"], "统计群", group_id=linked).json()["groups"][0]["id"]
    token = code["page_url"].rsplit("/", 1)[1]
    for _ in range(3):
        client.get(f"/g/{token}")
    days = client.get(f"/api/group-codes/{code['id']}/stats", params={"days": 7}, headers=workspace.bearer()).json()
    assert len(days) == 7
    today = days[-1]
    assert (today["views"], today["shown"], today["none_left"]) == (3, {str(entry): 3}, 0)
    assert today["joins"] == {str(entry): 2}
    assert sum(sum(d["joins"].values()) for d in days) == 3


def test_uploads_are_checked_and_other_workspaces_see_nothing(runtime: Runtime, workspace, other_workspace,
                                                             client) -> None:
    code = make_code(client, workspace)
    not_image = add_group(client, workspace, code["id"], "假图", image=b"GIF89a not really")
    assert not_image.status_code == 422 and not_image.json()["error"]["code"] == "group_codes.bad_image"
    huge = add_group(client, workspace, code["id"], "大图", image=b"\x89PNG" + b"0" * (2 * 1024 * 1024 + 10))
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "group_codes.image_too_large"
    no_group = add_group(client, workspace, code["id"], "群", group_id=2**40)
    assert no_group.status_code == 422 and no_group.json()["error"]["details"]["field"] == "group_id"
    ok = add_group(client, workspace, code["id"], "群").json()
    entry = ok["groups"][0]["id"]
    other = other_workspace.bearer()
    for method, path in (("get", f"/api/group-codes/{code['id']}"), ("get", f"/api/group-codes/{code['id']}/stats"),
                         ("get", f"/api/group-codes/{code['id']}/groups/{entry}/image"),
                         ("delete", f"/api/group-codes/{code['id']}/groups/{entry}")):
        answer = getattr(client, method)(path, headers=other)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "group_codes.not_found"
    assert client.get("/api/group-codes", headers=other).json() == []
    assert client.get("/g/not-a-real-token").status_code == 404
    assert client.get("/g/not-a-real-token.json").json()["error"]["code"] == "group_codes.not_found"
    assert client.get(f"/g/{code['page_url'].rsplit('/', 1)[1]}/qr/999999").status_code == 404
    archived = client.patch(f"/api/group-codes/{code['id']}", json={"status": "archived"}, headers=workspace.bearer())
    assert archived.json()["status"] == "archived"
    assert client.get(f"/g/{code['page_url'].rsplit('/', 1)[1]}").status_code == 404
