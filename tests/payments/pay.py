"""A workspace wired to a fake WeChat Pay merchant, and people with openids under its appid."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from siyu import clock
from siyu.channels.fakes.wechat_pay import FakeWeChatPay
from siyu.db.engine import write
from siyu.workspaces import store as workspace_store

MCH_ID, API_KEY = "1900000109", "192006250b4c09247ec02edce69f6a2d"
PAY_APP = "wx2421b1c4370ec43b"


def now_seconds() -> float:
    return clock.now().timestamp()


@contextmanager
def merchant(runtime: Any, workspace: Any, appid: str = PAY_APP, **fake: Any) -> Iterator[FakeWeChatPay]:
    """A fake merchant bound to the official account ``appid``, on siyu's clock; the workspace's
    ``settings.payments.wechat_pay`` points at it."""
    with FakeWeChatPay({MCH_ID: API_KEY}, apps={appid}, now=now_seconds, **fake) as pay:
        with write(runtime.engine) as conn:
            ws = workspace_store.get_workspace(conn, workspace.id)
            settings = dict(ws.settings or {})
            settings["payments"] = {"wechat_pay": {"appid": appid, "mch_id": MCH_ID, "api_key": API_KEY,
                                                   "send_name": "悦妆 Demo", "base_url": pay.url, "timeout": 5}}
            workspace_store.update_workspace_settings(conn, workspace.id, settings)
        yield pay


def person(client: Any, workspace: Any, openid: str | None, user_id: str) -> int:
    """A profile (``user_id``), with an openid under the merchant's appid unless None; its id."""
    context = {"externalIds": [{"type": f"wechat_openid:{PAY_APP}", "id": openid}]} if openid else {}
    answer = client.post("/v1/identify", auth=(workspace.write_key, ""),
                         json={"userId": user_id, "traits": {"name": user_id}, "context": context})
    assert answer.status_code == 200, answer.text
    found = client.get("/api/profiles/lookup", params={"type": "user_id", "value": user_id},
                       headers=workspace.bearer())
    assert found.status_code == 200, found.text
    return int(found.json()["id"])


def workspace_row(runtime: Any, workspace: Any) -> Any:
    from siyu.db.engine import read

    with read(runtime.engine) as conn:
        return workspace_store.get_workspace(conn, workspace.id)
