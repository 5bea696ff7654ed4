"""WeCom: errcode mapping, payload checks, and wechatpy's WeCom client driven against the fake API
(gettoken, add_msg_template, token expiry and early revocation, fail_list, per-customer limits)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from siyu.channels.access_tokens import TokenCache
from siyu.channels.base import ChannelError, Delivery
from siyu.channels.fakes import FakeWeCom
from siyu.channels.wecom import ATTACHMENT_FIELDS, WeComChannel, payload_problem, split_recipient, wecom_error

CORP, SECRET = "ww5f3c9d1e2a7b8c60", "contact-secret"
TEXT = {"text": {"content": "林娜您好，双11会员专场今晚8点开始。"}}
LINK = {"msgtype": "link", "link": {"title": "会员专场", "url": "https://brand.cn/vip", "desc": "提前购"}}


@pytest.mark.parametrize(("errcode", "code", "retryable"), [
    (-1, "wecom.busy", True), (45009, "wecom.rate_limited", True), (45033, "wecom.rate_limited", True),
    (40001, "wecom.credentials", False), (60020, "wecom.credentials", False), (48002, "wecom.no_permission", False),
    (84061, "wecom.not_contact", False), (40096, "wecom.invalid_external_userid", False),
    (40003, "wecom.invalid_sender", False), (40058, "wecom.rejected", False),
])
def test_errcodes_map_to_retry_or_a_permanent_failure_keeping_the_raw_code(errcode: int, code: str,
                                                                           retryable: bool) -> None:
    error = wecom_error(errcode, "说明")
    assert (error.code, error.retryable, error.detail) == (code, retryable, f"errcode {errcode}: 说明")


def test_payload_checks_name_the_field() -> None:
    assert payload_problem(TEXT) is None
    assert payload_problem({"attachments": [LINK]}) is None
    assert payload_problem({**TEXT, "attachments": [{"msgtype": "image", "image": {"pic_url": "https://p.cn/1"}}]}) \
        is None
    cases: list[tuple[Any, str]] = [
        ({}, "text"), ({"text": {"content": " "}}, "text.content"),
        ({"attachments": [LINK] * 10}, "attachments"), ({"attachments": [{"msgtype": "voice"}]},
                                                        "attachments[0].msgtype"),
        ({"attachments": [{"msgtype": "image", "image": {}}]}, "attachments[0].image"),
        ({"attachments": [{"msgtype": "link", "link": {"title": "t"}}]}, "attachments[0].link.url"),
    ]
    for payload, field in cases:
        problem = payload_problem(payload)
        assert problem is not None and problem[0] == field, (payload, problem)


def test_the_attachment_fields_agree_with_the_template_engine() -> None:
    from siyu.messaging.template_payloads import WECOM_BLOCKS

    assert ATTACHMENT_FIELDS == WECOM_BLOCKS


def test_recipients_carry_the_corp_and_the_owning_member() -> None:
    assert split_recipient(f"{CORP}:wmLina/zhangsan") == (CORP, "wmLina", "zhangsan")
    assert split_recipient(f"{CORP}:wmLina") == (CORP, "wmLina", None)
    assert split_recipient("wmLina") == (None, "wmLina", None)


# --- wechatpy's WeCom client against the fake API --------------------------------------------------

@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom({CORP: SECRET}, members={"zhangsan", "lisi"}) as server:
        server.add_contact("wmLina", "zhangsan")
        server.add_contact("wmWei", "lisi")
        yield server


def channel(fake: FakeWeCom, **overrides: Any) -> WeComChannel:
    settings: dict[str, Any] = {"corpid": CORP, "secret": SECRET, "base_url": fake.url, "sender": "zhangsan",
                                "tokens": TokenCache(), **overrides}
    return WeComChannel(**settings)


def delivery(recipient: str, payload: dict[str, Any] | None = None, key: str = "9:1") -> Delivery:
    return Delivery(key=key, workspace_id=9, profile_id=1, recipient=recipient, purpose="marketing",
                    payload=payload or TEXT)


def test_a_message_becomes_one_single_chat_task_from_the_owner_with_one_token(fake: FakeWeCom) -> None:
    sender = channel(fake)
    first = sender.send(delivery(f"{CORP}:wmLina", {**TEXT, "attachments": [LINK]}))
    second = sender.send(delivery(f"{CORP}:wmWei/lisi", key="9:2"))
    assert first and second and first != second
    assert fake.token_fetches == [CORP]
    [lina, wei] = fake.received
    assert lina.body == {"chat_type": "single", "external_userid": ["wmLina"], "sender": "zhangsan", **TEXT,
                         "attachments": [LINK]}
    assert (lina.msgid, wei.sender, wei.external_userids) == (first, "lisi", ("wmWei",))
    assert "双11会员专场".encode() in lina.raw  # UTF-8 on the wire


def test_an_expired_or_revoked_token_is_fetched_again_and_the_send_retried_once(fake: FakeWeCom) -> None:
    sender = channel(fake)
    sender.send(delivery(f"{CORP}:wmLina"))
    fake.expire_tokens()  # 42001
    assert sender.send(delivery(f"{CORP}:wmLina", key="9:2"))
    fake.revoke_tokens()  # 40014: WeCom ended the token early
    assert sender.send(delivery(f"{CORP}:wmLina", key="9:3"))
    assert fake.token_refusals == [42001, 40014] and len(fake.token_fetches) == 3 and len(fake.received) == 3
    fake.fail_next(40014, 40014)
    with pytest.raises(ChannelError) as caught:
        sender.send(delivery(f"{CORP}:wmLina", key="9:4"))
    assert (caught.value.code, caught.value.retryable) == ("wecom.token", True)


def test_gettoken_hands_out_the_same_token_while_it_is_valid(fake: FakeWeCom) -> None:
    one, two = channel(fake), channel(fake)  # two processes
    assert one.access_token() == two.access_token() and len(fake.token_fetches) == 2


def test_customers_wecom_cannot_reach_fail_for_good(fake: FakeWeCom) -> None:
    with pytest.raises(ChannelError) as not_theirs:  # wmWei is lisi's customer, not zhangsan's
        channel(fake).send(delivery(f"{CORP}:wmWei"))
    assert (not_theirs.value.code, not_theirs.value.retryable) == ("wecom.not_delivered", False)
    fake.fail_external("wmGone", 84061)
    with pytest.raises(ChannelError) as gone:
        channel(fake).send(delivery(f"{CORP}:wmGone"))
    assert gone.value.code == "wecom.not_contact" and gone.value.detail.startswith("errcode 84061")
    assert fake.received == []


def test_the_fake_enforces_the_per_customer_receive_limit() -> None:
    moment = [datetime(2026, 2, 27, 4, tzinfo=UTC).timestamp()]  # February 2026: 28 days
    with FakeWeCom({CORP: SECRET}, now=lambda: moment[0]) as fake:
        fake.add_contact("wmLina", "zhangsan")
        sender = channel(fake)
        for n in range(28):
            sender.send(delivery(f"{CORP}:wmLina", key=f"9:{n}"))
        with pytest.raises(ChannelError) as limited:
            sender.send(delivery(f"{CORP}:wmLina", key="9:28"))
        assert limited.value.code == "wecom.not_delivered"
        assert fake.failed == [("wmLina", "past the customer's mass-message limit")]
        moment[0] = datetime(2026, 3, 1, 4, tzinfo=UTC).timestamp()  # a new month
        assert sender.send(delivery(f"{CORP}:wmLina", key="9:29"))
    with FakeWeCom({CORP: SECRET}, limit="day", check_contacts=False) as daily:
        sender = channel(daily)
        sender.send(delivery(f"{CORP}:wmAny"))
        with pytest.raises(ChannelError):
            sender.send(delivery(f"{CORP}:wmAny", key="9:2"))


@pytest.mark.parametrize(("setup", "code", "retryable"), [
    (lambda f: f.fail_next(45009), "wecom.rate_limited", True),
    (lambda f: f.fail_next(45033), "wecom.rate_limited", True),
    (lambda f: f.fail_next(-1), "wecom.busy", True),
    (lambda f: f.fail_next(48002), "wecom.no_permission", False),
])
def test_refusals_from_the_api(fake: FakeWeCom, setup: Any, code: str, retryable: bool) -> None:
    setup(fake)
    with pytest.raises(ChannelError) as caught:
        channel(fake).send(delivery(f"{CORP}:wmLina"))
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert fake.received == []


def test_settings_senders_and_corps(fake: FakeWeCom) -> None:
    with pytest.raises(ChannelError) as wrong:
        channel(fake, secret="rotated").send(delivery(f"{CORP}:wmLina"))
    assert (wrong.value.code, wrong.value.retryable) == ("wecom.credentials", False)
    with pytest.raises(ChannelError) as nobody:
        channel(fake, sender=None).send(delivery(f"{CORP}:wmLina"))
    assert nobody.value.code == "wecom.no_sender"
    with pytest.raises(ChannelError) as other:
        channel(fake).send(delivery("wwothercorp:wmLina"))
    assert other.value.code == "wecom.other_corp"
    with pytest.raises(ChannelError) as unknown:
        channel(fake).send(delivery(f"{CORP}:wmLina/wangwu"))
    assert unknown.value.code == "wecom.invalid_sender"
    assert WeComChannel.from_settings({"corpid": CORP, "secret": SECRET}).base_url == "https://qyapi.weixin.qq.com"
    with pytest.raises(ValueError):
        WeComChannel.from_settings({"corpid": CORP, "secret": SECRET, "base_url": "ftp://x"})
    assert fake.received == []


def test_no_answer_is_uncertain_and_no_server_is_retryable(fake: FakeWeCom) -> None:
    sender = channel(fake, timeout=0.3)
    token = sender.access_token()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        sender.base_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        sender.tokens._tokens[sender.token_key] = (token, float("inf"))  # noqa: SLF001
        with pytest.raises(ChannelError) as caught:
            sender.send(delivery(f"{CORP}:wmLina"))
    assert (caught.value.code, caught.value.retryable) == ("wecom.uncertain", False)
    with pytest.raises(ChannelError) as refused:  # the port is closed now
        sender.send(delivery(f"{CORP}:wmLina"))
    assert (refused.value.code, refused.value.retryable) == ("wecom.unreachable", True)
