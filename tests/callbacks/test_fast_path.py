"""The fast path answers the platforms' POSTs exactly as the documented routes would: the same reply,
the same refusals with the same codes, and what it does not take (other methods, other paths, a NUL,
an out-of-range id) goes on to the application untouched."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from siyu import clock
from siyu.acquisition import replies_store
from siyu.callbacks.api import router
from siyu.callbacks.fast_path import query_of
from siyu.callbacks.writer import stop_writer
from siyu.db.engine import write
from siyu.runtime import Runtime
from tests.callbacks.test_endpoints import AES_KEY, CORP, NOON, TOKEN, configure, platform
from tests.routes_only import routes_only as only_the_routes


@pytest.fixture
def routes_only(runtime: Runtime) -> Any:
    """The callback routes with nothing in front of them."""
    with only_the_routes(runtime, router, stop_writer) as plain:
        yield plain


def test_query_parameters_keep_the_last_value_and_are_cut_to_2_kib() -> None:
    assert query_of(b"a=1&a=2&b=&c=%E8%89%B2") == {"a": "2", "b": "", "c": "色"}
    assert query_of(b"nonce=" + b"9" * 5000)["nonce"] == "9" * 2048


def test_both_paths_give_the_same_answers(runtime: Runtime, workspace: Any, client: Any, routes_only: Any) -> None:
    configure(runtime, workspace.id, wechat={"appid": "wx1f2e3d4c5b6a7980", "token": TOKEN,
                                             "encoding_aes_key": AES_KEY},
              wecom={"corpid": CORP, "callback_token": TOKEN, "encoding_aes_key": AES_KEY})
    with write(runtime.engine) as conn:
        replies_store.create_rule(conn, workspace.id, {
            "name": "色号", "trigger": "keyword", "match": "contains", "patterns": ["色号"], "priority": 100,
            "enabled": True, "reply": {"msgtype": "text", "text": {"content": "#520 元气番茄"}}, "variants": []},
            clock.now())
    clock.freeze(NOON)
    answers = {}
    for number, (name, http) in enumerate((("fast", client), ("routes", routes_only))):
        account, wecom = platform(http, workspace.id), platform(http, workspace.id, "wecom")
        account._msg_ids = itertools.count(24_000_000_000_000_001 + number * 1000)  # each run's own MsgIds
        too_large = account.signed(account.text(f"o{name}", "x" * 70_000))
        answers[name] = [
            _answer(account.push(account.text(f"o{name}", "请问色号"))),  # the passive reply
            _answer(account.push(account.text(f"o{name}", "你好"))),  # no rule: "success"
            _answer(account.resend()),  # a retry: "success", nothing stored twice
            _answer(wecom.push(wecom.contact("add_external_contact", "zhangsan", f"wm{name}"))),  # WeCom: empty
            _answer(account.push(account.text(f"o{name}", "你好"), timestamp=int(NOON.timestamp()) - 3600)),  # stale
            _answer(http.post(account.path, params=too_large[0], content=too_large[1])),
            _answer(http.post(f"/callbacks/wechat/{workspace.id + 10_000}", content=b"<xml/>")),  # no such workspace
            _answer(http.post(account.path, params={"timestamp": "1"}, content=b"not xml")),
        ]
    assert answers["fast"] == answers["routes"]
    assert [a[0] for a in answers["fast"]] == [200, 200, 200, 200, 403, 413, 404, 403]
    assert "#520 元气番茄" in answers["fast"][0][2] and answers["fast"][0][1] == "application/xml"
    assert answers["fast"][1] == (200, "text/plain; charset=utf-8", "success")
    assert answers["fast"][4][2] == "receipts.bad_signature" and answers["fast"][5][2] == "receipts.too_large"


def test_what_it_does_not_take_goes_on_to_the_application(workspace: Any, client: Any) -> None:
    assert client.post("/callbacks/wechat/0", content=b"<xml/>").status_code == 400  # the route validates the id
    assert client.post(f"/callbacks/wechat/{2**31}", content=b"<xml/>").status_code == 400
    nul = client.post(f"/callbacks/wechat/{workspace.id}?nonce=%00", content=b"<xml/>")
    assert nul.json()["error"]["code"] == "request.nul_character"
    assert client.put(f"/callbacks/wechat/{workspace.id}", content=b"<xml/>").status_code == 405


def _answer(response: Any) -> tuple[int, str, str]:
    """Status, content type and the body with what differs by design (the follower's openid, the
    reply's timestamps) taken out, or the error code."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return response.status_code, content_type, response.json()["error"]["code"]
    return response.status_code, content_type, response.text.replace("ofast", "o?").replace("oroutes", "o?")
