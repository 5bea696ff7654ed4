"""The staff capability's pure decisions: WeCom's hand-over limit and result codes, the local day
of a task list, and the order of a conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.messaging.models import Channel, Message, Purpose, Status
from siyu.staff.conversation import interleave
from siyu.staff.models import TransferKind, TransferStatus
from siyu.staff.tasks import end_of_day, local_day
from siyu.staff.transfers import limit_refusal, result_status

AT = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "counted", "refusal"), [
    (TransferKind.IN_SERVICE, 0, None), (TransferKind.IN_SERVICE, 1, None),
    (TransferKind.IN_SERVICE, 2, "staff.transfer_limit"), (TransferKind.IN_SERVICE, 7, "staff.transfer_limit"),
    (TransferKind.RESIGNED, 2, None), (TransferKind.RESIGNED, 50, None)])
def test_in_service_customers_move_at_most_twice_in_90_days(kind, counted, refusal) -> None:  # noqa: ANN001
    assert limit_refusal(kind, counted) == refusal


@pytest.mark.parametrize(("code", "status", "reason"), [
    (1, TransferStatus.SUCCEEDED, None), (2, TransferStatus.WAITING, None),
    (3, TransferStatus.FAILED, "staff.customer_refused"), (4, TransferStatus.FAILED, "staff.takeover_full"),
    (5, TransferStatus.FAILED, "staff.no_record"), (99, TransferStatus.WAITING, None)])
def test_transfer_result_codes_map_to_row_states(code, status, reason) -> None:  # noqa: ANN001
    assert result_status(code) == (status, reason)


def test_today_ends_at_local_midnight() -> None:
    late = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 December in Shanghai
    assert local_day(late, "Asia/Shanghai") == "2026-12-01"
    assert end_of_day(late, "Asia/Shanghai") == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert end_of_day(late, "UTC") == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def _sent(message_id: int, at: datetime, text: str) -> Message:
    return Message(id=message_id, workspace_id=1, profile_id=1, channel=Channel.WECHAT_CS,
                   purpose=Purpose.TRANSACTIONAL, source="staff", idempotency_key=f"k{message_id}", status=Status.SENT,
                   payload={"msgtype": "text", "text": {"content": text}}, due_at=at, created_at=at, sent_at=at)


def test_a_conversation_reads_oldest_first_with_a_reply_after_what_it_answers() -> None:
    inbound = [{"event_id": 2, "at": AT + timedelta(minutes=10), "properties": {"content": "还有货吗"}, "source": "x"},
               {"event_id": 1, "at": AT, "properties": {"content": "你好"}, "source": "x"}]
    outbound = [_sent(7, AT, "您好！"), _sent(8, AT + timedelta(minutes=11), "有的")]
    items = interleave(inbound, outbound)
    assert [(i["direction"], i["text"]) for i in items] == [("in", "你好"), ("out", "您好！"), ("in", "还有货吗"),
                                                            ("out", "有的")]
