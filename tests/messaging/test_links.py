"""Tracked links and open pixels: which URLs are rewritten (pure), and the whole loop on both
databases — a message goes out with ``/r/`` links and a pixel, the person clicks and opens, the
events land on their timeline and the message shows it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from siyu import clock
from siyu.channels.fakes import FakeAliyunSms, FakeWeChat
from siyu.db.engine import read, write
from siyu.db.tables import message_links
from siyu.messaging import delivery, links
from siyu.messaging.models import Channel
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.conftest import free_port
from tests.messaging.fakes import SmtpSink
from tests.messaging.test_delivery import NOON, configure, person, queue, smtp  # noqa: F401 - fixture

PUBLIC = "https://siyu.brand.cn"
TRACKED = f"{PUBLIC}/r/"


def tracked_as(url: str) -> str:
    return f"TRACKED({url})"


def track_all(channel: Channel, payload: dict[str, Any]) -> dict[str, Any]:
    return links.rewrite(channel, payload, lambda url: tracked_as(url) if links.trackable(url, PUBLIC) else None)


# --- which URLs, pure ---------------------------------------------------------------------------

def test_email_links_in_html_hrefs_and_bare_text_urls_are_rewritten_but_not_our_own_or_mailto() -> None:
    html = ('<p>看看<a href="https://brand.cn/sale?a=1&amp;b=2">新品</a>和<a class="x" href=\'https://brand.cn/b\'>'
            '这个</a>。<a href="mailto:kf@brand.cn">客服</a> <a href="https://siyu.brand.cn/u/TOKEN">退订</a>'
            ' https://brand.cn/in-html-text</p>')
    text = "新品：https://brand.cn/sale?a=1&b=2，详情见 (https://brand.cn/b). 退订 https://siyu.brand.cn/u/TOKEN"
    out = track_all(Channel.EMAIL, {"subject": "双11", "html": html, "text": text})
    assert 'href="TRACKED(https://brand.cn/sale?a=1&amp;b=2)"' in out["html"]
    assert "href='TRACKED(https://brand.cn/b)'" in out["html"]
    assert 'href="mailto:kf@brand.cn"' in out["html"] and 'href="https://siyu.brand.cn/u/TOKEN"' in out["html"]
    assert "https://brand.cn/in-html-text" in out["html"]  # only hrefs are links in HTML
    assert out["text"] == ("新品：TRACKED(https://brand.cn/sale?a=1&b=2)，详情见 (TRACKED(https://brand.cn/b)). "
                           "退订 https://siyu.brand.cn/u/TOKEN")
    assert out["subject"] == "双11"


def test_urls_are_found_once_each_in_order_and_the_payload_is_not_changed() -> None:
    payload = {"subject": "s", "html": '<a href="https://b.cn/2">x</a>', "text": "https://b.cn/1 https://b.cn/2"}
    assert links.urls_in(Channel.EMAIL, payload, PUBLIC) == ["https://b.cn/2", "https://b.cn/1"]
    assert payload["html"] == '<a href="https://b.cn/2">x</a>'


@pytest.mark.parametrize(("channel", "payload", "expected"), [
    (Channel.SMS, {"sign_name": "完美日记", "template_code": "SMS_1", "params": {"url": "https://b.cn/x", "n": "1"}},
     {"sign_name": "完美日记", "template_code": "SMS_1", "params": {"url": "TRACKED(https://b.cn/x)", "n": "1"}}),
    (Channel.WECHAT_TEMPLATE, {"template_id": "T", "url": "https://b.cn/o/1", "data": {"k": {"value": "https://x"}}},
     {"template_id": "T", "url": "TRACKED(https://b.cn/o/1)", "data": {"k": {"value": "https://x"}}}),
    (Channel.WECHAT_CS, {"msgtype": "text", "text": {"content": '点<a href="https://b.cn/a">这里</a>或 https://b.cn/c'}},
     {"msgtype": "text", "text": {"content": '点<a href="TRACKED(https://b.cn/a)">这里</a>或 TRACKED(https://b.cn/c)'}}),
    (Channel.WECHAT_CS, {"msgtype": "news", "news": {"articles": [{"title": "t", "url": "https://b.cn/n"}]}},
     {"msgtype": "news", "news": {"articles": [{"title": "t", "url": "TRACKED(https://b.cn/n)"}]}}),
    (Channel.WECHAT_CS, {"msgtype": "image", "image": {"media_id": "https://b.cn/not-a-link"}},
     {"msgtype": "image", "image": {"media_id": "https://b.cn/not-a-link"}}),
    (Channel.WEBHOOK, {"url": "https://b.cn/x"}, {"url": "https://b.cn/x"}),
])
def test_each_channel_rewrites_the_fields_people_can_click(channel: Channel, payload: dict[str, Any],
                                                          expected: dict[str, Any]) -> None:
    assert track_all(channel, payload) == expected


def test_the_pixel_goes_before_the_body_end_once() -> None:
    pixel = f"{PUBLIC}/o/abc.gif"
    html = "<html><body><p>hi</p></BODY></html>"
    once = links.with_pixel(html, pixel)
    assert once.index(pixel) < once.index("</BODY>") and links.with_pixel(once, pixel) == once
    assert links.with_pixel("<p>no body</p>", pixel).endswith('style="display:block;width:1px;height:1px;border:0" />')


@pytest.mark.parametrize(("url", "expected"), [
    ("https://b.cn/p", "https://b.cn/p?utm_source=siyu&utm_medium=email&utm_campaign=broadcast%3A12"),
    ("https://b.cn/p?x=1#top", "https://b.cn/p?x=1&utm_source=siyu&utm_medium=email&utm_campaign=broadcast%3A12#top"),
    ("https://b.cn/p?utm_campaign=double11", "https://b.cn/p?utm_campaign=double11"),
    ("https://b.cn/p?UTM_SOURCE=x&y=2", "https://b.cn/p?UTM_SOURCE=x&y=2"),
])
def test_the_redirect_adds_utm_unless_the_brand_tagged_the_link(url: str, expected: str) -> None:
    assert links.with_utm(url, "email", "broadcast:12") == expected


# --- the loop, on both databases ---------------------------------------------------------------

HTML = ('<html><body><p>双11 提前购：<a href="https://brand.cn/sale">进入会场</a>，'
        '<a href="https://brand.cn/lipstick?sku=1">小细跟</a></p></body></html>')
TEXT = "双11 提前购：https://brand.cn/sale"


def send_email(client: Any, workspace: Any, profile: int, **body: Any) -> dict[str, Any]:
    queued = queue(client, workspace, profile, content={"subject": "双11", "text": TEXT, "html": HTML}, **body)
    assert queued.status_code == 202, queued.text
    return queued.json()


def deliver(runtime: Runtime, workspace: Any) -> delivery.DeliveryReport:
    return delivery.deliver_due(runtime.engine, workspace_id=workspace.id, public_url=PUBLIC)


def events(client: Any, workspace: Any, profile: int, name: str) -> list[dict[str, Any]]:
    found = client.get(f"/api/profiles/{profile}/events", headers=workspace.bearer()).json()["items"]
    return [e for e in found if e["name"] == name]


def hrefs(mail: Any) -> list[str]:
    import re

    return re.findall(r'href="([^"]+)"', mail.get_body(("html",)).get_content())


def test_an_email_goes_out_with_tracked_links_and_a_pixel_and_clicks_and_opens_come_back(
        runtime: Runtime, client: Any, workspace: Any, smtp: tuple[SmtpSink, int]) -> None:  # noqa: F811
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=port)
    clock.freeze(NOON)
    profile = person(client, workspace)
    sent = send_email(client, workspace, profile)
    assert deliver(runtime, workspace).sent == 1
    [mail] = sink.received
    sale, lipstick = hrefs(mail)
    assert sale.startswith(TRACKED) and lipstick.startswith(TRACKED) and sale != lipstick
    assert sale in mail.get_body(("plain",)).get_content()  # the same URL in the text: the same token
    html = mail.get_body(("html",)).get_content()
    [pixel] = [part.split('"')[0] for part in html.split('<img src="')[1:]]
    assert pixel.startswith(f"{PUBLIC}/o/") and pixel.endswith(".gif")
    stored = client.get(f"/api/messages/{sent['id']}", headers=workspace.bearer()).json()
    assert sale in stored["payload"]["html"]  # the log shows what the person got
    assert (stored["delivered_at"], stored["opened_at"], stored["clicked_at"]) == (None, None, None)

    clicked = client.get(sale.removeprefix(PUBLIC), follow_redirects=False)
    assert clicked.status_code == 302 and clicked.headers["cache-control"].startswith("no-store")
    assert clicked.headers["location"] == \
        "https://brand.cn/sale?utm_source=siyu&utm_medium=email&utm_campaign=api"
    clock.advance(timedelta(seconds=2))  # the preview fetch, then the page: one click
    assert client.get(sale.removeprefix(PUBLIC), follow_redirects=False).status_code == 302
    clock.advance(timedelta(minutes=5))  # a later click counts again
    client.get(sale.removeprefix(PUBLIC), follow_redirects=False)
    clicks = events(client, workspace, profile, "Link Clicked")
    assert len(clicks) == 2
    assert clicks[0]["properties"] == {"url": "https://brand.cn/sale", "message_id": sent["id"],
                                       "channel": "email", "source": "api"}
    opened = client.get(pixel.removeprefix(PUBLIC))
    assert (opened.status_code, opened.headers["content-type"], len(opened.content)) == (200, "image/gif", 43)
    client.get(pixel.removeprefix(PUBLIC))  # the mail client fetches twice at once
    assert [e["properties"]["message_id"] for e in events(client, workspace, profile, "Email Opened")] == [sent["id"]]
    detail = client.get(f"/api/messages/{sent['id']}", headers=workspace.bearer()).json()
    assert (detail["clicked_at"][:19], detail["opened_at"][:19]) == ("2026-11-11T04:00:00", "2026-11-11T04:05:02")
    assert {(link["kind"], link["url"], link["hits"]) for link in detail["links"]} == {
        ("link", "https://brand.cn/sale", 2), ("link", "https://brand.cn/lipstick?sku=1", 0), ("open", None, 1)}
    [sent_event] = events(client, workspace, profile, "Message Sent")
    assert sent_event["properties"] == {"message_id": sent["id"], "channel": "email", "source": "api",
                                        "provider_id": f"<{workspace.id}.{sent['id']}@siyu>"}


def test_a_retried_send_reuses_its_tokens(runtime: Runtime, client: Any, workspace: Any,
                                          smtp: tuple[SmtpSink, int]) -> None:  # noqa: F811
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=free_port())  # nothing listens there: retried
    clock.freeze(NOON)
    profile = person(client, workspace)
    sent = send_email(client, workspace, profile)
    assert deliver(runtime, workspace).retried == 1
    first = client.get(f"/api/messages/{sent['id']}", headers=workspace.bearer()).json()["payload"]["html"]
    configure(runtime, workspace.id, smtp_port=port)
    clock.advance(timedelta(seconds=31))
    assert deliver(runtime, workspace).sent == 1
    assert sink.received[0].get_body(("html",)).get_content().strip() == first.strip()
    with read(runtime.engine) as conn:
        rows = conn.execute(select(func.count()).select_from(message_links).where(
            message_links.c.workspace_id == workspace.id, message_links.c.message_id == sent["id"])).scalar()
    assert rows == 3  # two links and the pixel, made once


def test_tracking_is_off_for_a_message_that_says_so_and_in_a_workspace_that_turns_it_off(
        runtime: Runtime, client: Any, workspace: Any, smtp: tuple[SmtpSink, int]) -> None:  # noqa: F811
    sink, port = smtp
    configure(runtime, workspace.id, smtp_port=port)
    profile = person(client, workspace)
    untracked = send_email(client, workspace, profile, track_links=False)
    assert deliver(runtime, workspace).sent == 1
    assert hrefs(sink.received[0]) == ["https://brand.cn/sale", "https://brand.cn/lipstick?sku=1"]
    assert "<img" not in sink.received[0].get_body(("html",)).get_content()
    stored = client.get(f"/api/messages/{untracked['id']}", headers=workspace.bearer()).json()
    assert stored["payload"]["$track_links"] is False  # kept on the row, never sent

    configure(runtime, workspace.id, smtp_port=port, track_opens=False)
    send_email(client, workspace, profile, idempotency_key="links-only")
    assert deliver(runtime, workspace).sent == 1
    configure(runtime, workspace.id, smtp_port=port, track_links=False)
    send_email(client, workspace, profile, idempotency_key="nothing")
    assert deliver(runtime, workspace).sent == 1
    links_only, nothing = (m.get_body(("html",)).get_content() for m in sink.received[1:])
    assert (links_only.count(TRACKED), nothing.count(TRACKED)) == (2, 0)
    assert "<img" not in links_only and "<img" not in nothing


def test_unknown_or_malformed_tokens_are_a_404_page_never_an_error(client: Any) -> None:
    for token in ("abcdefghijkl", "short", "x" * 40, "bad%20token", "dots.in.token"):
        response = client.get(f"/r/{token}", follow_redirects=False)
        assert response.status_code == 404 and "Invalid link" in response.text, token
    pixel = client.get("/o/abcdefghijkl.gif")
    assert (pixel.status_code, pixel.headers["content-type"]) == (404, "image/gif")


# --- SMS and WeChat ---------------------------------------------------------------------------

KEY_ID, KEY_SECRET = "LTAI5tE2eTest", "aliyun-secret"


@pytest.fixture
def providers() -> Iterator[tuple[FakeAliyunSms, FakeWeChat, str]]:
    appid = f"wx{secrets.token_hex(8)}"
    with FakeAliyunSms({KEY_ID: KEY_SECRET}) as aliyun, FakeWeChat({appid: "app-secret"}) as wechat:
        yield aliyun, wechat, appid


def test_sms_variables_and_wechat_template_urls_go_out_tracked(
        runtime: Runtime, client: Any, workspace: Any, providers: tuple[FakeAliyunSms, FakeWeChat, str]) -> None:
    aliyun, wechat, appid = providers
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace.id, {"channels": {
            "sms": {"access_key_id": KEY_ID, "access_key_secret": KEY_SECRET, "endpoint": aliyun.url},
            "wechat": {"appid": appid, "secret": "app-secret", "base_url": wechat.url}},
            "messaging": {"quiet_start": None, "cooldown_minutes": 0}})
    sent = client.post("/v1/identify", auth=(workspace.write_key, ""), json={
        "userId": "u-links", "traits": {"phone": "+8613912345678"},
        "context": {"externalIds": [{"type": f"wechat_openid:{appid}", "id": "oLinks"}]}})
    assert sent.status_code == 200
    profile = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "u-links"},
                         headers=workspace.bearer()).json()["id"]
    for channel, content in [
            ("sms", {"sign_name": "完美日记", "template_code": "SMS_1", "params": {"url": "https://brand.cn/o/2451"}}),
            ("wechat_template", {"template_id": "T1", "url": "https://brand.cn/o/2451",
                                 "data": {"thing2": {"value": "已发货"}}})]:
        queued = client.post("/api/messages", headers=workspace.bearer(), json={
            "profile_id": profile, "channel": channel, "purpose": "transactional", "content": content})
        assert queued.status_code == 202, queued.text
    assert deliver(runtime, workspace).sent == 2
    sms_url, wechat_url = aliyun.received[0].params["url"], wechat.received[0].body["url"]
    assert sms_url.startswith(TRACKED) and wechat_url.startswith(TRACKED) and sms_url != wechat_url
    assert len(sms_url) <= len(PUBLIC) + 16  # short enough for a text message
    assert client.get(wechat_url.removeprefix(PUBLIC), follow_redirects=False).headers["location"] == \
        "https://brand.cn/o/2451?utm_source=siyu&utm_medium=wechat_template&utm_campaign=api"
