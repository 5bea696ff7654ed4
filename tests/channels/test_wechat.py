"""WeChat official account: errcode mapping, payload checks, the token cache, and wechatpy driven
against the fake API (token expiry and revocation, unfollowed people, quotas)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from siyu.channels.base import ChannelError, Delivery
from siyu.channels.fakes import FakeWeChat
from siyu.channels.wechat import (
    CS_FIELDS,
    CUSTOMER_SERVICE,
    SUBSCRIBE,
    TEMPLATE,
    TokenCache,
    WeChatChannel,
    payload_problem,
    wechat_error,
)

APPID, SECRET = "wx5f3c9d1e2a7b8c60", "app-secret"
TEMPLATE_PAYLOAD = {"template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY", "url": "https://brand.cn/o/2451",
                    "data": {"character_string1": {"value": "2451"}, "thing2": {"value": "小细跟口红"}}}


@pytest.mark.parametrize(("errcode", "code", "retryable"), [
    (43004, "wechat.unfollowed", False), (45047, "wechat.outside_window", False),
    (45015, "wechat.outside_window", False), (45009, "wechat.daily_quota", True), (-1, "wechat.busy", True),
    (45011, "wechat.rate_limited", True), (40003, "wechat.invalid_openid", False),
    (40164, "wechat.credentials", False),
    (43101, "wechat.not_subscribed", False), (40037, "wechat.rejected", False), (47003, "wechat.rejected", False),
])
def test_errcodes_map_to_retry_or_a_permanent_failure_keeping_the_raw_code(errcode: int, code: str,
                                                                           retryable: bool) -> None:
    error = wechat_error(errcode, "说明")
    assert (error.code, error.retryable) == (code, retryable)
    assert error.detail.startswith(f"errcode {errcode}: 说明")
    assert (error.retry_at is None) == (errcode != 45009) and error.person_event is None


def test_the_daily_quota_is_held_until_midnight_in_beijing_and_43004_names_the_account() -> None:
    from datetime import UTC, datetime

    from siyu import clock

    clock.freeze(datetime(2026, 11, 30, 15, 59, tzinfo=UTC))  # 23:59 in Beijing
    quota = wechat_error(45009, "reach max api daily quota limit")
    assert quota.retry_at == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert "held until it resets at 2026-12-01T00:00+08:00" in quota.detail
    clock.freeze(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 00:00: the quota just reset, the next is tomorrow
    assert wechat_error(45009, "").retry_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    unfollowed = wechat_error(43004, "require subscribe", appid=APPID)
    assert unfollowed.person_event == ("Unfollowed", {"appid": APPID, "errcode": 43004})


def problem_field(kind: str, payload: Any) -> str:
    problem = payload_problem(kind, payload)
    assert problem is not None
    return problem[0]


def test_payload_checks_name_the_field() -> None:
    assert payload_problem(TEMPLATE, TEMPLATE_PAYLOAD) is None
    assert problem_field(TEMPLATE, {**TEMPLATE_PAYLOAD, "template_id": ""}) == "template_id"
    assert problem_field(TEMPLATE, {**TEMPLATE_PAYLOAD, "data": {"thing2": "裸字符串"}}) == "data"
    assert problem_field(TEMPLATE, {**TEMPLATE_PAYLOAD, "miniprogram": {"appid": "wxmini"}}) == \
        "miniprogram"
    good = [{"msgtype": "text", "text": {"content": "您好"}}, {"msgtype": "image", "image": {"media_id": "M1"}},
            {"msgtype": "link", "link": {"title": "t", "description": "d", "url": "https://b.cn", "thumb_url": "u"}},
            {"msgtype": "miniprogrampage",
             "miniprogrampage": {"title": "t", "pagepath": "pages/i", "thumb_media_id": "M"}},
            {"msgtype": "news", "news": {"articles": [{"title": "t", "url": "https://b.cn"}]}}]
    assert [payload_problem(CUSTOMER_SERVICE, p) for p in good] == [None] * 5
    assert problem_field(CUSTOMER_SERVICE, {"msgtype": "voice"}) == "msgtype"
    assert problem_field(CUSTOMER_SERVICE, {"msgtype": "text", "text": {}}) == "text.content"
    assert problem_field(CUSTOMER_SERVICE, {"msgtype": "news", "news": {"articles": [{}, {}]}}) == \
        "news.articles"


def test_the_required_fields_agree_with_the_template_engine() -> None:
    from siyu.messaging.template_payloads import CS_BLOCKS

    assert CS_FIELDS == CS_BLOCKS


def test_the_token_cache_fetches_once_renews_early_and_forgets_only_the_refused_token() -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    fetched: list[str] = []

    def fetch() -> tuple[str, int]:
        fetched.append(f"t{len(fetched) + 1}")
        return fetched[-1], 7200

    key = ("https://api.weixin.qq.com", APPID)
    assert [cache.token(key, fetch) for _ in range(3)] == ["t1"] * 3
    now[0] += 7200 - 301
    assert cache.token(key, fetch) == "t1"
    now[0] += 2  # inside the last 5 minutes: stable_token would hand out the next one now
    assert cache.token(key, fetch) == "t2"
    cache.discard(key, "t1")  # a late refusal of the old token must not throw away the new one
    assert cache.token(key, fetch) == "t2"
    cache.discard(key, "t2")
    assert cache.token(key, fetch) == "t3" and len(fetched) == 3


def test_threads_of_one_process_share_one_fetch() -> None:
    cache = TokenCache()
    calls: list[int] = []
    gate = threading.Event()

    def slow_fetch() -> tuple[str, int]:
        calls.append(1)
        gate.wait(2)
        return "only", 7200

    key = ("base", APPID)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(cache.token(key, slow_fetch))) for _ in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert tokens == ["only"] * 8 and len(calls) == 1


# --- wechatpy against the fake API --------------------------------------------------------------

@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat({APPID: SECRET}) as server:
        yield server


def channel(fake: FakeWeChat, kind: str = TEMPLATE, **overrides: Any) -> WeChatChannel:
    settings: dict[str, Any] = {"appid": APPID, "secret": SECRET, "base_url": fake.url, "tokens": TokenCache(),
                                **overrides}
    return WeChatChannel(kind=kind, **settings)


def delivery(payload: dict[str, Any], openid: str = "oLina", key: str = "9:1") -> Delivery:
    return Delivery(key=key, workspace_id=9, profile_id=1, recipient=f"{APPID}:{openid}", purpose="transactional",
                    payload=payload)


def test_a_template_message_goes_out_with_one_stable_token_and_the_key_as_client_msg_id(fake: FakeWeChat) -> None:
    sender = channel(fake)
    first = sender.send(delivery(TEMPLATE_PAYLOAD, key="9:1"))
    second = sender.send(delivery(TEMPLATE_PAYLOAD, key="9:2"))
    assert first and second and first != second
    assert fake.token_fetches == [("stable_token", APPID)]
    [one, two] = fake.received
    assert (one.kind, one.appid, one.openid, one.msgid) == ("template", APPID, "oLina", int(first))
    assert one.body == {"touser": "oLina", **TEMPLATE_PAYLOAD, "client_msg_id": "siyu_9_1"}
    assert "小细跟口红".encode() in one.raw  # UTF-8 on the wire, not \\u escapes (WeChat shows those literally)
    assert sender.send(delivery(TEMPLATE_PAYLOAD, key="9:1")) == first  # WeChat's 10-minute dedupe
    assert len(fake.received) == 2


def test_customer_service_messages_of_each_type(fake: FakeWeChat) -> None:
    sender = channel(fake, CUSTOMER_SERVICE)
    payloads = [{"msgtype": "text", "text": {"content": "您的包裹已到驿站"}},
                {"msgtype": "image", "image": {"media_id": "MEDIA_1"}},
                {"msgtype": "link", "link": {"title": "新品", "description": "抢先看", "url": "https://brand.cn/n",
                                             "thumb_url": "https://brand.cn/n.jpg"}},
                {"msgtype": "miniprogrampage", "miniprogrampage": {
                    "title": "领券", "appid": "wxmini", "pagepath": "pages/coupon?id=7", "thumb_media_id": "MEDIA_2"}}]
    assert [sender.send(delivery(p)) for p in payloads] == [None] * 4
    assert [r.body for r in fake.received] == [{"touser": "oLina", **p} for p in payloads]


def test_an_expired_token_is_refreshed_and_the_send_retried_once(fake: FakeWeChat) -> None:
    sender = channel(fake)
    sender.send(delivery(TEMPLATE_PAYLOAD, key="9:1"))
    fake.expire_tokens()  # 42001 for the cached token
    assert sender.send(delivery(TEMPLATE_PAYLOAD, key="9:2"))
    fake.revoke_tokens()  # 40001: not the latest
    assert sender.send(delivery(TEMPLATE_PAYLOAD, key="9:3"))
    assert len(fake.token_fetches) == 3 and len(fake.received) == 3


def test_a_token_refused_again_after_refreshing_is_retried_later(fake: FakeWeChat) -> None:
    sender = channel(fake)
    fake.fail_next(40001, 40001)
    with pytest.raises(ChannelError) as caught:
        sender.send(delivery(TEMPLATE_PAYLOAD))
    assert (caught.value.code, caught.value.retryable) == ("wechat.token", True)
    assert len(fake.token_fetches) == 2 and fake.received == []


@pytest.mark.parametrize(("setup", "code", "retryable"), [
    (lambda f: f.unfollow("oLina"), "wechat.unfollowed", False),
    (lambda f: f.fail_openid("oLina", 45047), "wechat.outside_window", False),
    (lambda f: f.fail_next(45009), "wechat.daily_quota", True),
    (lambda f: f.fail_next(-1), "wechat.busy", True),
])
def test_refusals_from_the_api(fake: FakeWeChat, setup: Any, code: str, retryable: bool) -> None:
    setup(fake)
    with pytest.raises(ChannelError) as caught:
        channel(fake, CUSTOMER_SERVICE).send(delivery({"msgtype": "text", "text": {"content": "hi"}}))
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert fake.received == []


def test_credentials_and_other_apps(fake: FakeWeChat) -> None:
    with pytest.raises(ChannelError) as caught:
        channel(fake, secret="wrong").send(delivery(TEMPLATE_PAYLOAD))
    assert (caught.value.code, caught.value.retryable) == ("wechat.credentials", False)
    assert "40125" in caught.value.detail
    with pytest.raises(ChannelError) as other:
        channel(fake).send(Delivery(key="9:1", workspace_id=9, profile_id=1, recipient="wxminiapp:oLina",
                                    purpose="transactional", payload=TEMPLATE_PAYLOAD))
    assert other.value.code == "wechat.other_app"
    assert channel(fake).openid("oUnscoped") == "oUnscoped"
    assert fake.token_fetches == [] and fake.received == []


def test_no_answer_is_uncertain_and_no_server_is_retryable(fake: FakeWeChat) -> None:
    import socket

    sender = channel(fake, timeout=0.3)
    sender.access_token()  # from the real fake; the sends below go elsewhere
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        sender.base_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        sender.tokens._tokens[(sender.base_url, APPID)] = ("token", float("inf"))  # noqa: SLF001
        with pytest.raises(ChannelError) as caught:
            sender.send(delivery(TEMPLATE_PAYLOAD))
    assert (caught.value.code, caught.value.retryable) == ("wechat.uncertain", False)
    with pytest.raises(ChannelError) as refused:  # the port is closed now
        sender.send(delivery(TEMPLATE_PAYLOAD))
    assert (refused.value.code, refused.value.retryable) == ("wechat.unreachable", True)


def test_the_fakes_classic_token_endpoint_keeps_the_old_token_for_five_minutes(fake: FakeWeChat) -> None:
    clock = [1_800_000_000.0]
    fake.now = lambda: clock[0]

    def token() -> str:
        answer = httpx.get(f"{fake.url}/cgi-bin/token",
                           params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()
        return answer["access_token"]

    def send(access_token: str) -> int:
        return httpx.post(f"{fake.url}/cgi-bin/message/custom/send", params={"access_token": access_token},
                          json={"touser": "o1", "msgtype": "text", "text": {"content": "x"}}).json()["errcode"]

    old = token()
    new = token()
    assert old != new and (send(old), send(new)) == (0, 0)
    clock[0] += 301
    assert (send(old), send(new)) == (42001, 0)
    assert send("") == 41001 and send("forged") == 40001


# --- subscription notices (订阅通知, message/subscribe/bizsend) ---------------------------------------

NOTICE = {"template_id": "tplArrival", "page": "https://brand.cn/o/2451",
          "data": {"thing1": {"value": "小细跟口红已到货"}, "time2": {"value": "2026年11月30日 15:01"}}}


def test_subscription_notice_payloads() -> None:
    assert payload_problem(SUBSCRIBE, NOTICE) is None
    assert payload_problem(SUBSCRIBE, {**NOTICE, "miniprogram": {"appid": "wxmini", "pagepath": "pages/o"}}) is None
    assert problem_field(SUBSCRIBE, {**NOTICE, "template_id": " "}) == "template_id"
    assert problem_field(SUBSCRIBE, {**NOTICE, "page": 7}) == "page"
    assert problem_field(SUBSCRIBE, {**NOTICE, "data": {"thing1": "裸字符串"}}) == "data"


def test_each_subscription_lets_one_notice_through(fake: FakeWeChat) -> None:
    sender = channel(fake, SUBSCRIBE)
    fake.subscribe("oLina", "tplArrival")
    assert sender.send(delivery(NOTICE)) is None
    [received] = fake.received
    assert (received.kind, received.body) == ("subscribe", {"touser": "oLina", **NOTICE})
    with pytest.raises(ChannelError) as caught:  # the one subscription is used
        sender.send(delivery(NOTICE, key="9:2"))
    assert (caught.value.code, caught.value.retryable) == ("wechat.not_subscribed", False)
    assert caught.value.detail.startswith("errcode 43101")
    fake.subscribe("oLina", "tplArrival")
    with pytest.raises(ChannelError) as too_long:  # WeChat checks each value's type rule
        sender.send(delivery({**NOTICE, "data": {"thing1": {"value": "字" * 21}}}, key="9:3"))
    assert too_long.value.detail.startswith("errcode 47003")
    assert len(fake.received) == 1
