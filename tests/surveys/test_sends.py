"""Which sending a survey link stands for (:mod:`siyu.surveys.sends`): a send's identity is its key when
it can be one, ``default`` when there is none, and otherwise a short key of its own — the same for the
same send, different for different sends, always one the answers table and a link can carry."""

from __future__ import annotations

import pytest

from siyu.surveys.sends import DEFAULT_SEND, MAX_SEND_KEY, is_send_key, send_key_for


@pytest.mark.parametrize("send", ["journey:12:3:ask:90817", "broadcast:7:4412", "welcome:wx-msg-1",
                                  "2027-q1", "k" * MAX_SEND_KEY])
def test_a_send_that_can_be_a_key_is_its_own_key(send: str) -> None:
    assert send_key_for(send) == send


@pytest.mark.parametrize("send", [None, ""])
def test_no_send_is_the_default_sending(send: str | None) -> None:
    assert send_key_for(send) == DEFAULT_SEND == "default"


@pytest.mark.parametrize("send", ["api:订单 42 的评价", "api:" + "x" * 146, "reply:3:msg/with spaces",
                                  "api:" + "k" * (MAX_SEND_KEY - 4) + "/1", "api:" + "k" * (MAX_SEND_KEY - 4) + "/2"])
def test_any_other_send_gets_a_short_key_of_its_own(send: str) -> None:
    key = send_key_for(send)
    assert is_send_key(key) and len(key) <= MAX_SEND_KEY
    assert key == send_key_for(send)  # rendering the same send again: the same link
    assert key.startswith(send[:4].replace(" ", "_"))  # still says where it came from


def test_different_sends_never_share_a_key() -> None:
    sends = ["api:" + "k" * 120 + str(n) for n in range(1000)] + ["api:订单 1", "api:订单 2", "api:订单_1"]
    assert len({send_key_for(send) for send in sends}) == len(sends)


@pytest.mark.parametrize("value", ["", "a b", "两千", "key\n", "k" * (MAX_SEND_KEY + 1), 7, None])
def test_a_key_has_1_to_100_plain_characters(value: object) -> None:
    assert not is_send_key(value)
