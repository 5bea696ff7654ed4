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
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from siyu.identity.models import Identifier
from siyu.ingest.spec import Message

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def _micros(value: datetime | None) -> int | None:
    return None if value is None else (value - EPOCH) // MICRO


def _time(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + value * MICRO


def encode(message: Message, identifiers: list[Identifier]) -> str:
    row: dict[str, Any] = {"t": message.type, "m": message.message_id, "n": message.name,
                           "ts": _micros(message.timestamp), "r": _micros(message.received_at), "s": message.source,
                           "i": [(i.type, i.value) for i in identifiers]}
    for key, value in (("sa", _micros(message.sent_at)), ("u", message.user_id), ("a", message.anonymous_id),
                       ("p", message.properties), ("tr", message.traits), ("c", message.context),
                       ("pv", message.previous_id), ("g", message.group_id)):
        if value:
            row[key] = value
    if message.dedupe_forever:
        row["f"] = True
    return orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS).decode()


def decode(text: str) -> tuple[Message, list[Identifier]]:
    row = orjson.loads(text)
    message = Message(type=row["t"], message_id=row["m"], name=row["n"], timestamp=_time(row["ts"]),
                      received_at=_time(row["r"]), sent_at=_time(row.get("sa")), user_id=row.get("u"),
                      anonymous_id=row.get("a"), properties=row.get("p") or {}, traits=row.get("tr") or {},
                      context=row.get("c") or {}, previous_id=row.get("pv"), group_id=row.get("g"),
                      source=row["s"], dedupe_forever=bool(row.get("f")))
    return message, list(map(Identifier._make, row["i"]))
