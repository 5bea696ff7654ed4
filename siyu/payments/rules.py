"""The red-packet rules siyu decides by itself, before and after calling the provider. Pure.

From WeChat Pay's 发放红包接口 (pay.weixin.qq.com/doc/v2/merchant/4011974053, "发放规则"): a packet is
1–200 yuan unless a ``scene_id`` is sent ("红包金额大于200或者小于1元时,请求参数scene_id必传");
one user receives at most 10 packets and 1,000 yuan a day ("单用户单日可领取红包个数上限--10个",
"单用户单日收款金额上限--1000元"); ``mch_billno`` is at most 28 letters and digits and makes the call
re-entrant ("接口根据商户订单号支持重入"); on SYSTEMERROR the same bill number must be used again,
never a new one ("请不要更换商户订单号,一定要使用原商户订单号重试"), and an unknown error code or an
answer that can't be parsed must not lead to a new bill number either. 查询红包记录 (gethbinfo): "no
such bill" may mean the request is still being processed, so it is not a failure; the same bill
number may simply be sent again.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from siyu.payments.models import Outcome

MIN_FEN, MAX_FEN = 100, 20_000  # 1–200 yuan without a scene_id
SCENE_MAX_FEN = 499_900  # with a scene set up in the merchant platform (可申请提升至4999元)
# 商品促销, 抽奖, 虚拟物品兑奖, 企业内部福利, 渠道分润, 保险回馈, 彩票派奖, 税务刮奖
SCENES = tuple(f"PRODUCT_{n}" for n in range(1, 9))
DAILY_PACKETS = 10
DAILY_FEN = 100_000  # 1,000 yuan received per user per day
BILL_NO = re.compile(r"[0-9A-Za-z]{1,28}")
LIMITS = {"wishing": 128, "act_name": 32, "remark": 256, "send_name": 32}

# err_code values of sendredpack: what each means for the row.
REFUSED = frozenset({"NO_AUTH", "SENDNUM_LIMIT", "ILLEGAL_APPID", "MONEY_LIMIT", "SEND_FAILED", "FATAL_ERROR",
                     "OPENID_ERROR", "MSGAPPID_ERROR", "ACCEPTMODE_ERROR", "PARAM_ERROR", "SENDAMOUNT_LIMIT",
                     "RCVDAMOUNT_LIMIT", "CA_ERROR", "SIGN_ERROR", "XML_ERROR"})
LATER = {"NOTENOUGH": timedelta(hours=1), "FREQ_LIMIT": timedelta(minutes=1)}  # nothing paid; same bill later
PAID_STATUSES = frozenset({"SENT", "RECEIVED", "RFUND_ING", "REFUND"})  # gethbinfo: the money left the merchant
RETRY_FIRST, RETRY_MAX = timedelta(seconds=30), timedelta(hours=1)
SENDING_LEASE = timedelta(minutes=2)  # a send still "sending" after this was cut off: treat it as uncertain
WAIT_FOR_OPENID = timedelta(days=7)  # a reward for someone without an openid yet waits this long


def amount_refusal(amount_fen: int, scene_id: str | None) -> str | None:
    """Why the amount can't be paid (None: it can)."""
    if scene_id is not None and scene_id not in SCENES:
        return f"'scene_id' is one of {', '.join(SCENES)}."
    top = SCENE_MAX_FEN if scene_id else MAX_FEN
    bottom = 1 if scene_id else MIN_FEN
    if not bottom <= amount_fen <= top:
        if scene_id:
            return f"A red packet with a scene is {bottom}-{top} fen."
        return (f"A red packet is {MIN_FEN}-{MAX_FEN} fen (1-200 yuan) unless a 'scene_id' set up in the "
                "merchant platform is given.")
    return None


def daily_refusal(packets_today: int, fen_today: int, amount_fen: int) -> str | None:
    """siyu's own copy of WeChat's per-user daily limits, checked before deciding, so that an 11th
    packet is refused here (``payments.daily_limit``) instead of failing at WeChat."""
    if packets_today >= DAILY_PACKETS:
        return f"The person has {DAILY_PACKETS} red packets today already (WeChat's daily limit per user)."
    if fen_today + amount_fen > DAILY_FEN:
        return "The person would receive more than 1,000 yuan today (WeChat's daily limit per user)."
    return None


def bill_number(mch_id: str, day: date, reward_id: int) -> str:
    """``mch_id + yyyymmdd + 10 digits unique within the day`` (WeChat's suggested shape); the row id
    makes it unique for ever. A merchant id too long for 28 characters is cut from the left."""
    number = f"{mch_id}{day:%Y%m%d}{reward_id % 10**10:010d}"
    return number[-28:]


def send_outcome(err_code: str | None) -> Outcome:
    """What a sendredpack answer with this ``err_code`` means (None: paid). SYSTEMERROR, PROCESSING
    and any code not listed are UNKNOWN: maybe paid."""
    if err_code is None or err_code == "SUCCESS":
        return Outcome.PAID
    if err_code in REFUSED:
        return Outcome.REFUSED
    if err_code in LATER:
        return Outcome.LATER
    return Outcome.UNKNOWN


def query_outcome(status: str | None, err_code: str | None) -> Outcome:
    """What a gethbinfo answer means: a packet's ``status``, or ``err_code`` NOT_FOUND / another."""
    if status is not None:
        if status in PAID_STATUSES:
            return Outcome.PAID
        if status == "FAILED":
            return Outcome.REFUSED
        return Outcome.PENDING  # SENDING, or a status added later
    if err_code == "NOT_FOUND":
        return Outcome.NOT_FOUND
    return Outcome.UNKNOWN


def retry_at(attempts: int, now: datetime, outcome: Outcome, err_code: str | None = None) -> datetime:
    """When to look at the row again: LATER codes after their own pause; otherwise 30 s doubling per
    attempt, at most an hour (``min(30 s × 2^(attempts-1), 1 h)``)."""
    if outcome is Outcome.LATER and err_code in LATER:
        return now + LATER[err_code]
    return now + min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


class _BeijingDay:
    """WeChat counts its daily limits by Beijing day."""

    zone = ZoneInfo("Asia/Shanghai")

    def day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def start(self, moment: datetime) -> datetime:
        return datetime.combine(self.day(moment), time(0), tzinfo=self.zone).astimezone(UTC)


BEIJING_DAY = _BeijingDay()
