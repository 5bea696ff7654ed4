"""A workspace wired to fake WeChat / WeCom servers and their signed callback pushers, for the
staff and channel-code end-to-end tests."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from siyu import clock
from siyu.channels.fakes.callbacks import FakeCallbacks
from siyu.channels.fakes.wechat import FakeWeChat
from siyu.channels.fakes.wecom import FakeWeCom
from siyu.db.engine import write
from siyu.workspaces import store as workspace_store

CORP, CORP_SECRET = "ww4e7a2b9c1d3f5a6b", "corp-secret-1"
APP, APP_SECRET = "wx8f3c2d1e0b9a7c6d", "app-secret-1"


def aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def now_seconds() -> float:
    return clock.now().timestamp()


@dataclass
class Platforms:
    wecom: FakeWeCom
    wechat: FakeWeChat
    wecom_push: FakeCallbacks
    wechat_push: FakeCallbacks

    def profile_of(self, client: Any, keys: Any, type_: str, value: str) -> int:
        found = client.get("/api/profiles/lookup", params={"type": type_, "value": value}, headers=keys.bearer())
        assert found.status_code == 200, found.text
        return int(found.json()["id"])

    def customer(self, client: Any, keys: Any, userid: str, external_userid: str, state: str | None = None) -> int:
        """``userid`` adds ``external_userid`` (WeCom's signed add_external_contact push); the profile id."""
        self.wecom.add_contact(external_userid, userid)
        answer = self.wecom_push.push(self.wecom_push.contact_added(userid, external_userid, state=state))
        assert answer.status_code == 200, answer.text
        return self.profile_of(client, keys, f"wecom_external_userid:{CORP}", external_userid)


@contextmanager
def platforms(runtime: Any, client: Any, keys: Any) -> Iterator[Platforms]:
    """Fake WeCom and WeChat APIs on their clocks = siyu's clock, the workspace set up to call them and
    to receive their callbacks."""
    wecom_aes, wechat_aes = aes_key(), aes_key()
    with FakeWeCom({CORP: CORP_SECRET}, now=now_seconds) as wecom, FakeWeChat({APP: APP_SECRET},
                                                                              now=now_seconds) as wechat:
        with write(runtime.engine) as conn:
            workspace = workspace_store.get_workspace(conn, keys.id)
            settings = dict(workspace.settings or {})
            settings["channels"] = {
                "wecom": {"corpid": CORP, "secret": CORP_SECRET, "base_url": wecom.url, "callback_token": "wecomtoken",
                          "encoding_aes_key": wecom_aes},
                "wechat": {"appid": APP, "secret": APP_SECRET, "base_url": wechat.url, "token": "wechattoken",
                           "encoding_aes_key": wechat_aes}}
            workspace_store.update_workspace_settings(conn, keys.id, settings)
        yield Platforms(
            wecom=wecom, wechat=wechat,
            wecom_push=FakeCallbacks(client=client, path=f"/callbacks/wecom/{keys.id}", platform="wecom",
                                     token="wecomtoken", receive_id=CORP, aes_key=wecom_aes, now=now_seconds),
            wechat_push=FakeCallbacks(client=client, path=f"/callbacks/wechat/{keys.id}", platform="wechat",
                                      token="wechattoken", receive_id=APP, aes_key=wechat_aes, now=now_seconds))
