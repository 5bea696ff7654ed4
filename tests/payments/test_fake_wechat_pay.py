"""The fake merchant API, spoken to by the same wechatpy client as the real one: it checks the sign,
enforces WeChat's rules, is re-entrant on the bill number and fails when told to."""

from __future__ import annotations

import pytest
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

from siyu.channels.fakes.wechat_pay import FakeWeChatPay, sign
from siyu.payments.models import Outcome
from siyu.payments.wechat_pay import WeChatPayCash

MCH, KEY, APP = "1900000109", "192006250b4c09247ec02edce69f6a2d", "wx2421b1c4370ec43b"


@pytest.fixture
def fake():  # noqa: ANN201
    with FakeWeChatPay({MCH: KEY}, apps={APP}) as server:
        yield server


def _provider(fake: FakeWeChatPay, key: str = KEY, appid: str = APP) -> WeChatPayCash:
    return WeChatPayCash(appid=appid, mch_id=MCH, api_key=key, send_name="悦妆 Demo", base_url=fake.url)


def _send(provider: WeChatPayCash, bill: str, openid: str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", fen: int = 188,
          scene: str | None = None):  # noqa: ANN202
    return provider.send(bill_no=bill, openid=openid, amount_fen=fen, wishing="谢谢你来", act_name="包裹卡",
                         remark="天猫包裹卡", scene_id=scene)


def test_the_sign_is_md5_of_the_sorted_pairs_and_the_key() -> None:
    # WeChat Pay's own worked example (签名算法): appid, body, device_info, mch_id, nonce_str with this key
    fields = {"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000", "body": "test",
              "nonce_str": "ibuaiVcKdpRxkhJA"}
    assert sign(fields, "192006250b4c09247ec02edce69f6a2d") == "9A0A8659F005D6984697E2CA0A9CF3B7"


def test_a_packet_is_paid_once_for_one_bill_number_however_often_it_is_sent(fake: FakeWeChatPay) -> None:
    provider = _provider(fake)
    first = _send(provider, "1900000109202611300000000001")
    again = _send(provider, "1900000109202611300000000001")
    assert first.outcome is again.outcome is Outcome.PAID and first.provider_id == again.provider_id
    assert len(fake.paid) == 1 and fake.paid[0].amount_fen == 188
    assert _send(provider, "1900000109202611300000000001", fen=288).code == "FATAL_ERROR"
    found = provider.query("1900000109202611300000000001")
    assert (found.outcome, found.provider_status, found.provider_id) == (Outcome.PAID, "SENT", first.provider_id)
    fake.receive("1900000109202611300000000001")
    assert provider.query("1900000109202611300000000001").provider_status == "RECEIVED"
    assert provider.query("1900000109202611300000000009").outcome is Outcome.NOT_FOUND


def test_a_wrong_key_is_refused_before_anything_happens(fake: FakeWeChatPay) -> None:
    answer = _send(_provider(fake, key="0" * 32), "1")
    assert (answer.outcome, answer.code) == (Outcome.REFUSED, "RETURN_FAIL") and fake.paid == []


def test_hmac_sha256_signs_are_checked_too(fake: FakeWeChatPay) -> None:
    client = WeChatPay(APP, KEY, MCH, timeout=5)  # wechatpy signs HMAC-SHA256 when sign_type says so
    client.API_BASE_URL = fake.url
    with pytest.raises(WeChatPayException) as refused:
        client.post("mmpaymkttransfers/gethbinfo", data={"mch_billno": "404", "bill_type": "MCHT", "appid": APP,
                                                          "sign_type": "HMAC-SHA256"})
    assert refused.value.errcode == "NOT_FOUND"  # the sign was accepted, the bill is unknown
    body = {"mch_id": MCH, "mch_billno": "404", "bill_type": "MCHT", "appid": APP, "nonce_str": "abc",
            "sign_type": "HMAC-SHA256"}
    forged = "<xml>" + "".join(f"<{k}>{v}</{k}>" for k, v in body.items()) + f"<sign>{sign(body, KEY)}</sign></xml>"
    assert b"<return_code><![CDATA[FAIL]]>" in fake.handle("/mmpaymkttransfers/gethbinfo", forged.encode())


def test_the_rules_wechat_enforces(fake: FakeWeChatPay) -> None:
    provider = _provider(fake)
    assert _send(provider, "a1", fen=99).code == "MONEY_LIMIT"
    assert _send(provider, "a2", fen=20_001).code == "MONEY_LIMIT"
    assert _send(provider, "a3", fen=50, scene="PRODUCT_1").outcome is Outcome.PAID
    assert _send(_provider(fake, appid="wxnotbound"), "a4").code == "ILLEGAL_APPID"
    for n in range(9):
        assert _send(provider, f"b{n}").outcome is Outcome.PAID
    assert (_send(provider, "b10").outcome, _send(provider, "b11").code) == (Outcome.REFUSED, "SENDNUM_LIMIT")
    assert _send(provider, "c1", openid="oOther", fen=20_000).outcome is Outcome.PAID
    fake.balance_fen = 100
    assert (_send(provider, "c2", openid="oOther").outcome, fake.answers[-1][1]) == (Outcome.LATER, "NOTENOUGH")


def test_failures_on_request(fake: FakeWeChatPay) -> None:
    provider = _provider(fake)
    fake.fail_next("SYSTEMERROR", paid=True)
    hidden = _send(provider, "d1")
    assert (hidden.outcome, hidden.code, len(fake.paid)) == (Outcome.UNKNOWN, "SYSTEMERROR", 1)
    fake.drop_next()
    lost = _send(provider, "d2")
    assert (lost.outcome, lost.code, len(fake.paid)) == (Outcome.UNKNOWN, "transport", 2)
    fake.fail_next("SENDNUM_LIMIT")
    assert _send(provider, "d3").outcome is Outcome.REFUSED and len(fake.paid) == 2
    assert provider.query("d2").outcome is Outcome.PAID  # the lost answer's packet is there
