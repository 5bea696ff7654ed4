"""The conversation on the profile page over HTTP: the section and its data, and the two API calls
its script makes with the console session — the interleaved view and a reply, refused with the
policy's reason once the 48-hour window has closed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu import clock
from siyu.runtime import Runtime
from tests.staff.platforms import APP, platforms
from tests.web.test_pages import signed_in  # noqa: F401 - the fixture


def _data(html: str, element_id: str) -> dict[str, Any]:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_the_profile_page_reads_and_replies_to_the_conversation(signed_in, runtime: Runtime,  # noqa: ANN001, F811
                                                                workspace) -> None:
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, signed_in, workspace) as fake:
        fake.wechat_push.push(fake.wechat_push.follow("oPage1"))
        clock.advance(timedelta(minutes=5))
        fake.wechat_push.push(fake.wechat_push.text("oPage1", "请问面膜怎么用？"))
        person = fake.profile_of(signed_in, workspace, f"wechat_openid:{APP}", "oPage1")
    page = signed_in.get(f"/profiles/{person}").text
    assert 'id="conversation-panel"' in page and '<script src="/static/conversation.js">' in page
    data = _data(page, "conversation-data")
    assert data["profile_id"] == person and data["reasons"]["policy.outside_window"] == "超出 48 小时窗口"
    assert data["labels"]["in"] == "客户" and data["statuses"]["queued"] == "排队中"
    headers = {"X-CSRF-Token": data["csrf"]}

    view = signed_in.get(f"/api/profiles/{person}/conversation").json()
    assert view["reply"]["allowed"] is True
    assert [(i["direction"], i["text"]) for i in view["items"]] == [("in", "请问面膜怎么用？")]
    sent = signed_in.post(f"/api/profiles/{person}/replies", headers=headers,
                          json={"text": "洁面后敷 15 分钟即可", "idempotency_key": "console-1"})
    assert sent.status_code == 201, sent.text
    view = signed_in.get(f"/api/profiles/{person}/conversation").json()
    assert [(i["direction"], i["text"]) for i in view["items"]] == [
        ("in", "请问面膜怎么用？"), ("out", "洁面后敷 15 分钟即可")]

    clock.advance(timedelta(hours=49))
    late = signed_in.post(f"/api/profiles/{person}/replies", headers=headers,
                          json={"text": "还在吗", "idempotency_key": "console-2"})
    assert late.status_code == 409 and late.json()["error"]["details"]["reason"] == "policy.outside_window"
    assert signed_in.get(f"/api/profiles/{person}/conversation").json()["reply"]["allowed"] is False
