"""The red-packet rules siyu applies itself, as plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from siyu.payments import rules
from siyu.payments.models import Outcome


@pytest.mark.parametrize(("fen", "scene", "ok"), [
    (100, None, True), (20_000, None, True), (99, None, False), (20_001, None, False),
    (50, "PRODUCT_1", True), (499_900, "PRODUCT_2", True), (499_901, "PRODUCT_2", False), (188, "GAME", False)])
def test_one_to_two_hundred_yuan_unless_a_scene_is_given(fen: int, scene: str | None, ok: bool) -> None:
    assert (rules.amount_refusal(fen, scene) is None) is ok


def test_the_eleventh_packet_or_the_thousandth_yuan_of_a_day_is_refused() -> None:
    assert rules.daily_refusal(9, 90_000, 188) is None
    assert "10 red packets" in rules.daily_refusal(10, 1_880, 188)
    assert "1,000 yuan" in rules.daily_refusal(3, 99_900, 188)
    assert rules.daily_refusal(3, 99_812, 188) is None


def test_a_bill_number_is_the_merchant_the_day_and_ten_digits_within_28_characters() -> None:
    number = rules.bill_number("1900000109", date(2026, 11, 30), 42)
    assert number == "1900000109202611300000000042" and len(number) == 28
    assert rules.BILL_NO.fullmatch(rules.bill_number("19000001091234", date(2026, 11, 30), 7))
    assert len(rules.bill_number("19000001091234", date(2026, 11, 30), 7)) == 28


@pytest.mark.parametrize(("code", "outcome"), [
    (None, Outcome.PAID), ("SUCCESS", Outcome.PAID), ("SYSTEMERROR", Outcome.UNKNOWN),
    ("PROCESSING", Outcome.UNKNOWN), ("A_CODE_ADDED_NEXT_YEAR", Outcome.UNKNOWN), ("NOTENOUGH", Outcome.LATER),
    ("FREQ_LIMIT", Outcome.LATER), ("SENDNUM_LIMIT", Outcome.REFUSED), ("MONEY_LIMIT", Outcome.REFUSED),
    ("FATAL_ERROR", Outcome.REFUSED)])
def test_only_known_refusals_fail_a_send_and_anything_unknown_is_queried_first(code: str | None,
                                                                               outcome: Outcome) -> None:
    assert rules.send_outcome(code) is outcome


@pytest.mark.parametrize(("status", "code", "outcome"), [
    ("SENT", None, Outcome.PAID), ("RECEIVED", None, Outcome.PAID), ("REFUND", None, Outcome.PAID),
    ("FAILED", None, Outcome.REFUSED), ("SENDING", None, Outcome.PENDING), (None, "NOT_FOUND", Outcome.NOT_FOUND),
    (None, "SYSTEMERROR", Outcome.UNKNOWN)])
def test_what_a_query_says(status: str | None, code: str | None, outcome: Outcome) -> None:
    assert rules.query_outcome(status, code) is outcome


def test_retries_double_from_thirty_seconds_up_to_an_hour_and_a_low_balance_waits_an_hour() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert [rules.retry_at(n, now, Outcome.UNKNOWN) - now for n in (1, 2, 3)] == [
        timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert rules.retry_at(20, now, Outcome.UNKNOWN) - now == timedelta(hours=1)
    assert rules.retry_at(1, now, Outcome.LATER, "NOTENOUGH") - now == timedelta(hours=1)


def test_the_day_is_beijing_s() -> None:
    late_utc = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 01:00 on 1 December in Beijing
    assert rules.BEIJING_DAY.day(late_utc) == date(2026, 12, 1)
    assert rules.BEIJING_DAY.start(late_utc) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
