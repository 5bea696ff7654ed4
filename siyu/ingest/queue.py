"""Acknowledge first, resolve later: the deferred half of ingest (``SIYU_INGEST_RESOLVE=deferred``).

Segment and RudderStack acknowledge an event once it is durably queued and resolve it afterwards;
so does siyu when deferred. The HTTP server's writer validates a batch, claims its messageIds and
appends the parsed messages here in one transaction, then answers 200: the acknowledgement costs
a claim and an append, not identity resolution. The worker's resolver
(:mod:`siyu.ingest.resolver`) turns queued messages into events in order. The API answers the
same either way; what changes is that a profile reflects an acknowledged event only once the
resolver has run (typically well under a second; `siyu status` and ``GET /api/ingest/status``
show the backlog).

This module is the message's round trip through the queue row: compact JSON, with times as
integer microseconds so that a resolved event is exactly what the inline path would have stored.
The server does each message's pure work before queueing it (:class:`siyu.ingest.spec.Prepared`):
the log's JSON columns serialised, the channel and order amount its profile's rollups take, its
profile traits. The resolver is the one serial step of ingest, the server's work spreads over its
request handling (and over processes on PostgreSQL), so the work belongs there: measured with
``bench/bench_resolver.py``, see bench/RESULTS.md. Rows queued in the first format (a JSON object)
before an upgrade are still read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from siyu.identity.models import Identifier
from siyu.ingest.pipeline import json_text, stored_properties
from siyu.ingest.spec import Message, Prepared
from siyu.profiles.rollups import channel_of, order_amount

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def _micros(value: datetime | None) -> int | None:
    return None if value is None else (value - EPOCH) // MICRO


def _time(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + value * MICRO


def _instant(value: int) -> datetime:
    """A time every queued message has (its timestamp, its received_at)."""
    return EPOCH + value * MICRO


def encode(message: Message, identifiers: list[Identifier]) -> str:
    """The queue row of a message: a JSON array (the second format), prepared as :class:`Prepared` says."""
    traits = message.profile_traits()
    return orjson.dumps([
        2, message.type, message.message_id, message.name, _micros(message.timestamp),
        _micros(message.received_at), _micros(message.sent_at), message.source, message.user_id,
        message.anonymous_id, [(i.type, i.value) for i in identifiers],
        json_text(stored_properties(message)), json_text(message.traits), json_text(message.context),
        channel_of(message.properties, message.context, traits), order_amount(message.properties), traits or None,
        message.previous_id, message.group_id, message.dedupe_forever,
    ], option=orjson.OPT_NON_STR_KEYS).decode()


def decode(text: str) -> tuple[Message, list[Identifier]]:
    row = orjson.loads(text)
    if isinstance(row, dict):
        return _decode_first_format(row)
    (_, type_, message_id, name, timestamp, received_at, sent_at, source, user_id, anonymous_id, found,
     properties, traits, context, channel, amount, profile_traits, previous_id, group_id, forever) = row
    message = Message(type=type_, message_id=message_id, name=name, timestamp=_instant(timestamp),
                      received_at=_instant(received_at), sent_at=_time(sent_at), user_id=user_id,
                      anonymous_id=anonymous_id, previous_id=previous_id, group_id=group_id, source=source,
                      dedupe_forever=forever,
                      prepared=Prepared(properties, traits, context, channel, amount, profile_traits))
    return message, list(map(Identifier._make, found))


def objects(message: Message) -> Message:
    """A decoded message with its properties, traits and context as objects again (rarely needed: the
    resolver's isolation of a message it cannot store marks its context)."""
    prepared = message.prepared
    if prepared is None:
        return message
    properties = orjson.loads(prepared.properties) if prepared.properties else {}
    if message.type == "alias":
        properties.pop("previousId", None)
    elif message.type == "group":
        properties.pop("groupId", None)
    return replace(message, properties=properties, traits=orjson.loads(prepared.traits) if prepared.traits else {},
                   context=orjson.loads(prepared.context) if prepared.context else {}, prepared=None)


def _decode_first_format(row: dict[str, Any]) -> tuple[Message, list[Identifier]]:
    message = Message(type=row["t"], message_id=row["m"], name=row["n"], timestamp=_instant(row["ts"]),
                      received_at=_instant(row["r"]), sent_at=_time(row.get("sa")), user_id=row.get("u"),
                      anonymous_id=row.get("a"), properties=row.get("p") or {}, traits=row.get("tr") or {},
                      context=row.get("c") or {}, previous_id=row.get("pv"), group_id=row.get("g"),
                      source=row["s"], dedupe_forever=bool(row.get("f")))
    return message, list(map(Identifier._make, row["i"]))
