"""A message's round trip through the queue row: the resolver stores from a queued message exactly
what it would have stored from the message itself (the event row, the profile traits, the rollups),
and rows queued in the first format, before an upgrade, still resolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from siyu.identity.models import Identifier
from siyu.ingest import queue
from siyu.ingest.pipeline import event_row
from siyu.ingest.spec import parse_message
from siyu.profiles.rollups import Rollup, add_event, channel_of, order_amount

RECEIVED = datetime(2026, 6, 18, 10, 0, 0, 123456, tzinfo=UTC)

MESSAGES = [
    {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "m1",
     "properties": {"total": "179.80", "products": [{"sku": "LIP-01", "price": 89.9}]},
     "context": {"campaign": {"source": "xiaohongshu"}, "ip": "10.0.0.1"}},
    {"type": "track", "event": "Order Completed", "anonymousId": "a1", "messageId": "m2",
     "properties": {"revenue": 59, "channel": "tmall"}, "timestamp": "2026-06-18T09:59:00Z",
     "sentAt": "2026-06-18T10:09:00Z"},
    {"type": "identify", "userId": "u2", "messageId": "m3",
     "traits": {"phone": "13800138000", "name": "李娜", "channel": "store"},
     "context": {"traits": {"city": "上海"}}},
    {"type": "track", "event": "Product Viewed", "userId": "u3", "messageId": "m4",
     "context": {"traits": {"channel": "staff-link"}}},
    {"type": "alias", "userId": "u4", "previousId": "anon-4", "messageId": "m5", "properties": {"previousId": "x"}},
    {"type": "group", "userId": "u5", "groupId": "store-sh-01", "messageId": "m6", "traits": {"city": "上海"}},
    {"type": "page", "anonymousId": "a6", "name": "Home", "category": "Shop", "messageId": "m7"},
    {"type": "screen", "userId": "u7", "messageId": "m8", "properties": {"total": True}},
]


@pytest.mark.parametrize("raw", MESSAGES, ids=[m["messageId"] for m in MESSAGES])
def test_a_queued_message_stores_what_the_message_would(raw: dict) -> None:
    message = parse_message(raw, received_at=RECEIVED)
    found = [Identifier("user_id", "u1"), Identifier("phone", "+8613800138000")]
    decoded, identifiers = queue.decode(queue.encode(message, found))
    assert identifiers == found and decoded.prepared is not None
    assert event_row(1, decoded, 7) == event_row(1, message, 7)
    assert decoded.profile_traits() == message.profile_traits()
    assert (decoded.prepared.channel, decoded.prepared.amount) == (
        channel_of(message.properties, message.context, message.profile_traits()), order_amount(message.properties))
    from_queue, direct = Rollup(), Rollup()
    add_event(from_queue, name=decoded.name, at=decoded.timestamp, properties={}, channel=decoded.prepared.channel,
              amount=decoded.prepared.amount)
    add_event(direct, name=message.name, at=message.timestamp, properties=message.properties,
              channel=channel_of(message.properties, message.context, message.profile_traits()))
    assert from_queue == direct
    again = queue.objects(decoded)  # objects again, as the resolver's isolation needs them
    assert again.prepared is None
    overwritten = {"alias": "previousId", "group": "groupId"}.get(message.type)  # the log keeps its own value there
    assert again.properties == {k: v for k, v in message.properties.items() if k != overwritten}
    assert (again.traits, again.context) == (message.traits, message.context)
    assert event_row(1, again, 7) == event_row(1, message, 7)


def test_rows_queued_in_the_first_format_still_resolve() -> None:
    """What the server queued before this version: a JSON object with short keys and objects inside."""
    micros = (RECEIVED - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    first = orjson.dumps({"t": "track", "m": "old-1", "n": "Order Completed", "ts": micros - 5_000_000, "r": micros,
                          "s": "http", "i": [["user_id", "u9"]], "u": "u9", "p": {"total": 20},
                          "c": {"campaign": {"source": "search"}}, "f": True}).decode()
    message, identifiers = queue.decode(first)
    assert message.prepared is None and identifiers == [Identifier("user_id", "u9")]
    assert (message.type, message.message_id, message.name, message.properties, message.dedupe_forever) == (
        "track", "old-1", "Order Completed", {"total": 20}, True)
    assert message.timestamp == RECEIVED - timedelta(seconds=5) and message.received_at == RECEIVED
    assert event_row(1, message, 3)[11:] == ('{"total":20}', None, '{"campaign":{"source":"search"}}')
    assert queue.objects(message) is message
