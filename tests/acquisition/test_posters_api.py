"""Posters end to end through the API and the public pages, on SQLite and PostgreSQL: a template, a
person's poster drawn once and cached, their avatar fetched by the worker (never by the request), a
new version drawn anew, the signed share page, and the person's tracked share link."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from siyu.acquisition import posters_live
from siyu.acquisition.posters import qr_image
from siyu.channels.fakes.server import LoopbackServer, Request
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from tests.acquisition.test_posters import LAYOUT, image_bytes


class AvatarHost(LoopbackServer):
    """Serves one avatar image (the LoopbackServer answers JSON, so the body is replaced here)."""

    def __init__(self, image: bytes) -> None:
        self.image = image
        self.fetches = 0
        super().__init__()
        handler = self._server.RequestHandlerClass
        host = self

        def do_get(request_handler: Any) -> None:
            host.fetches += 1
            request_handler.send_response(200)
            request_handler.send_header("Content-Type", "image/png")
            request_handler.send_header("Content-Length", str(len(host.image)))
            request_handler.end_headers()
            request_handler.wfile.write(host.image)

        handler.do_GET = do_get

    def handle(self, request: Request) -> tuple[int, Any]:
        return 404, {}


@pytest.fixture
def avatar_host() -> Iterator[AvatarHost]:
    host = AvatarHost(image_bytes("#00ff00", (80, 80)))
    yield host
    host.stop()


def person(client, workspace, user: str, traits: dict[str, Any]) -> int:  # noqa: ANN001
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": user, "traits": traits})
    assert sent.status_code == 200, sent.text
    return client.get("/api/profiles/lookup", params={"type": "user_id", "value": user},
                      headers=workspace.bearer()).json()["id"]


def make_template(client, workspace, layout: dict | None = None, background: bytes | None = None) -> Any:  # noqa: ANN001
    return client.post("/api/posters", headers=workspace.bearer(),
                       data={"name": "老带新海报", "layout": json.dumps(layout or LAYOUT),
                             "target_url": "https://brand.cn/invite?from=poster"},
                       files={"background": ("bg.png", background or image_bytes(), "image/png")})


def test_a_poster_is_drawn_once_gets_its_avatar_from_the_worker_and_its_link_counts(
        runtime: Runtime, workspace, client, avatar_host: AvatarHost, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[str] = []
    real_render = posters_live.render

    def counting_render(*args: Any, **kwargs: Any) -> bytes:
        drawn.append(kwargs["nickname"])
        return real_render(*args, **kwargs)

    monkeypatch.setattr(posters_live, "render", counting_render)
    lina = person(client, workspace, "poster-lina", {"name": "李娜", "avatar": f"{avatar_host.url}/lina.png"})
    template = make_template(client, workspace)
    assert template.status_code == 201, template.text
    template_id = template.json()["id"]
    path = f"/api/posters/{template_id}/profiles/{lina}.png"

    first = client.get(path, headers=workspace.bearer())
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert avatar_host.fetches == 0  # the request never waits on a remote fetch
    poster = Image.open(io.BytesIO(first.content)).convert("RGB")
    assert poster.size == (720, 1100) and poster.getpixel((50, 100)) == (201, 205, 212)  # the default avatar
    link = client.get(f"/api/posters/{template_id}", headers=workspace.bearer()).json()["links"][0]
    share_url = f"{runtime.config.public_url}/s/{link['token']}"
    assert poster.crop((420, 820, 660, 1060)).tobytes() == qr_image(share_url, 240).tobytes()
    assert client.get(path, headers=workspace.bearer()).content == first.content
    assert drawn == ["李娜"]  # the same request twice renders once

    run_due(runtime)
    assert avatar_host.fetches == 1
    with_avatar = Image.open(io.BytesIO(client.get(path, headers=workspace.bearer()).content)).convert("RGB")
    assert with_avatar.getpixel((100, 100)) == (0, 255, 0) and len(drawn) == 2

    moved = client.patch(f"/api/posters/{template_id}", json={"layout": {**LAYOUT, "qr": {"x": 20, "y": 820,
                                                                                          "size": 240}}},
                         headers=workspace.bearer())
    assert moved.json()["version"] == 2
    client.get(path, headers=workspace.bearer())
    assert len(drawn) == 3  # a new version is a new poster

    followed = client.get(f"/s/{link['token']}", follow_redirects=False)
    assert followed.status_code == 302
    target = urlsplit(followed.headers["location"])
    query = parse_qs(target.query)
    assert (target.netloc, query["from"], query["ref"], query["utm_medium"]) == (
        "brand.cn", ["poster"], [link["token"]], ["poster"])
    assert client.get(f"/api/posters/{template_id}", headers=workspace.bearer()).json()["links"][0]["hits"] == 1
    events = client.get(f"/api/profiles/{lina}/events", headers=workspace.bearer()).json()["items"]
    assert any(e["name"] == "Poster Link Opened" and e["properties"]["ref"] == link["token"] for e in events)
    assert client.get("/s/unknown-token", follow_redirects=False).status_code == 404


def test_the_signed_share_page_shows_the_poster_and_refuses_forgeries(runtime: Runtime, workspace, client) -> None:
    wei = person(client, workspace, "poster-wei", {"nickname": "小伟"})
    template_id = make_template(client, workspace).json()["id"]
    shared = client.get(f"/api/posters/{template_id}/profiles/{wei}/share", headers=workspace.bearer()).json()
    page_path = urlsplit(shared["page_url"]).path
    page = client.get(page_path)
    assert page.status_code == 200 and 'id="poster"' in page.text
    image = client.get(urlsplit(shared["image_url"]).path)
    assert image.status_code == 200
    assert image.content == client.get(f"/api/posters/{template_id}/profiles/{wei}.png",
                                       headers=workspace.bearer()).content
    forged = page_path[:-3] + ("AAA" if not page_path.endswith("AAA") else "BBB")
    assert client.get(forged).status_code == 404 and client.get(forged + ".png").status_code == 404


def test_bad_templates_are_refused_and_other_workspaces_see_nothing(runtime: Runtime, workspace, other_workspace,
                                                                   client) -> None:
    no_qr = make_template(client, workspace, layout={"avatar": LAYOUT["avatar"]})
    assert no_qr.status_code == 422 and no_qr.json()["error"]["details"]["field"] == "layout.qr"
    outside = make_template(client, workspace, background=image_bytes(size=(300, 300)))
    assert outside.status_code == 422 and outside.json()["error"]["code"] == "posters.invalid"
    not_image = make_template(client, workspace, background=b"%PDF-1.7 not an image")
    assert not_image.status_code == 422 and not_image.json()["error"]["code"] == "posters.bad_image"
    template_id = make_template(client, workspace).json()["id"]
    someone = person(client, workspace, "poster-x", {"name": "X"})
    other = other_workspace.bearer()
    for path in (f"/api/posters/{template_id}", f"/api/posters/{template_id}/profiles/{someone}.png",
                 f"/api/posters/{template_id}/profiles/{someone}/share"):
        answer = client.get(path, headers=other)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "posters.not_found"
    nobody = client.get(f"/api/posters/{template_id}/profiles/{2**60}.png", headers=workspace.bearer())
    assert nobody.status_code == 404 and nobody.json()["error"]["code"].endswith("not_found")
