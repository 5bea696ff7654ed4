"""The profile page shows the person's messages: what was sent, what was stopped and why, in both languages."""

from __future__ import annotations

import re

from siyu import clock
from siyu.db.engine import write
from siyu.messaging import delivery, outbox
from siyu.messaging.models import Channel, Purpose
from siyu.runtime import Runtime
from tests.web.test_pages import signed_in  # noqa: F401 - fixture


def test_the_profile_page_lists_messages_with_reasons(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    profile_id = int(re.search(r'href="/profiles/(\d+)"', signed_in.get("/profiles", params={"q": "李娜"}).text)
                     .group(1))
    empty = signed_in.get(f"/profiles/{profile_id}")
    assert "暂无消息" in empty.text
    with write(runtime.engine) as conn:
        outbox.queue(conn, workspace.id, profile_id=profile_id, channel=Channel.EMAIL, purpose=Purpose.MARKETING,
                     content={"subject": "双11", "text": "提前购"}, now=clock.now())
    delivery.deliver_due(runtime.engine, workspace_id=workspace.id)  # no e-mail consent, no address: stopped
    page = signed_in.get(f"/profiles/{profile_id}")
    table = page.text.split('id="messages"', 1)[1].split("</table>", 1)[0]
    assert "消息记录" in page.text and "已拦截" in table and ("未授权营销" in table or "该渠道无联系方式" in table)
    english = signed_in.get(f"/profiles/{profile_id}", headers={"Accept-Language": "en"}).text
    table = english.split('id="messages"', 1)[1].split("</table>", 1)[0]
    assert "Stopped" in table and "E-mail" in table and "Marketing" in table
