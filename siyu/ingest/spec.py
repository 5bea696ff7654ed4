"""The Segment tracking API message format (segment.com/docs/connections/spec/common/), parsed.

Parsing is a pure function from a decoded JSON object to a :class:`Message`, so the HTTP API, the
imports and the demo generator all produce the same thing. Differences from the wire format:

* ``timestamp`` is corrected for device clock skew the way Segment does it:
  ``timestamp = receivedAt - (sentAt - originalTimestamp)`` when the client sent ``sentAt``;
  the device's own value is kept in ``context.siyu.originalTimestamp``.
* ``name`` is the track event name, or the call type for the other calls.
* a missing ``messageId`` gets a random one (Segment does the same), so it dedupes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from siyu.ingest.errors import IngestError, MessageTooLarge

MESSAGE_TYPES = ("track", "identify", "page", "screen", "alias", "group")
MAX_MESSAGE_BYTES = 32 * 1024  # Segment: 32 KB per call
MAX_BATCH_BYTES = 500 * 1024  # Segment: 500 KB per batch request
MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 200
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, tzinfo=UTC)


class Prepared(NamedTuple):
    """A message's pure work done before it is queued (:mod:`siyu.ingest.queue`): the log's JSON
    columns as the log stores them, and what folding it into a profile reads. The resolver, the one
    thread that must be serial, then spends nothing on decoding objects only to encode them again."""

    properties: str | None  # the event row's JSON text (an alias's previousId, a group's groupId included)
    traits: str | None
    context: str | None
    channel: str | None  # siyu.profiles.rollups.channel_of of the message
    amount: float  # siyu.profiles.rollups.order_amount of its properties
    profile_traits: dict[str, Any] | None  # Message.profile_traits(), None when empty


@dataclass(slots=True)
class Message:
    type: str
    message_id: str
    name: str
    timestamp: datetime
    received_at: datetime
    sent_at: datetime | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    previous_id: str | None = None  # alias
    group_id: str | None = None  # group
    source: str = "http"
    dedupe_forever: bool = False  # imports keep their keys for ever (re-import changes nothing)
    prepared: Prepared | None = None  # set on a message decoded from the queue; its objects are then empty

    def profile_traits(self) -> dict[str, Any]:
        """Traits about the person: identify's traits, plus ``context.traits`` on any call."""
        if self.prepared is not None:
            return dict(self.prepared.profile_traits or {})
        context_traits = self.context.get("traits")
        merged = dict(context_traits) if isinstance(context_traits, dict) else {}
        if self.type == "identify":
            merged.update(self.traits)
        return merged


def parse_time(value: Any, field_name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise IngestError(f"'{field_name}' must be an ISO-8601 date string.", details={"field": field_name})
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value / 1000, tz=UTC)  # epoch milliseconds
        except (OverflowError, OSError, ValueError):
            raise IngestError(f"'{field_name}' is out of range.", details={"field": field_name}) from None
        if not EARLIEST <= moment <= LATEST:
            raise IngestError(f"'{field_name}' is outside the years 1970-2199.", details={"field": field_name})
        return moment
    if not isinstance(value, str):
        raise IngestError(f"'{field_name}' must be an ISO-8601 date string.", details={"field": field_name})
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise IngestError(f"'{field_name}' is not an ISO-8601 date: {value[:40]!r}.",
                          details={"field": field_name}) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not EARLIEST <= parsed <= LATEST:
        raise IngestError(f"'{field_name}' is outside the years 1970-2199.", details={"field": field_name})
    return parsed


def _id(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise IngestError(f"'{key}' must be a string.", details={"field": key})
    text = str(value)
    if len(text) > MAX_ID_LENGTH:
        raise IngestError(f"'{key}' is longer than {MAX_ID_LENGTH} characters.", details={"field": key})
    return text


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise IngestError(f"'{key}' must be a JSON object.", details={"field": key})
    return value


def parse_message(raw: Any, *, received_at: datetime, type_: str | None = None, size: int | None = None,
                  source: str = "http") -> Message:
    """Validate one message. ``type_`` is fixed by single-call endpoints (``/v1/track``)."""
    if not isinstance(raw, dict):
        raise IngestError("Each message must be a JSON object.")
    if size is not None and size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"A message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (32 KB).",
                              details={"size": size, "limit": MAX_MESSAGE_BYTES})
    kind = type_ or raw.get("type")
    if kind not in MESSAGE_TYPES:
        raise IngestError(f"'type' must be one of {', '.join(MESSAGE_TYPES)} (got {kind!r}).",
                          details={"field": "type"})
    user_id = _id(raw, "userId")
    anonymous_id = _id(raw, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise IngestError("Every message needs a 'userId' or an 'anonymousId'.",
                          code="ingest.missing_identity", details={"field": "userId"})
    properties = _object(raw, "properties")
    traits = _object(raw, "traits")
    context = _object(raw, "context")
    _object(raw, "integrations")
    name = kind
    previous_id = group_id = None
    if kind == "track":
        event = raw.get("event")
        if not isinstance(event, str) or not event.strip():
            raise IngestError("A track call needs an 'event' name.", details={"field": "event"})
        if len(event) > MAX_NAME_LENGTH:
            raise IngestError(f"'event' is longer than {MAX_NAME_LENGTH} characters.", details={"field": "event"})
        name = event
    elif kind in ("page", "screen"):
        for key in ("name", "category"):
            value = raw.get(key)
            if value is not None:
                if not isinstance(value, str):
                    raise IngestError(f"'{key}' must be a string.", details={"field": key})
                properties = {**properties, key: value}
    elif kind == "alias":
        previous_id = _id(raw, "previousId")
        if previous_id is None or user_id is None:
            raise IngestError("An alias call needs both 'previousId' and 'userId'.", details={"field": "previousId"})
    elif kind == "group":
        group_id = _id(raw, "groupId")
        if group_id is None:
            raise IngestError("A group call needs a 'groupId'.", details={"field": "groupId"})

    sent_at = parse_time(raw.get("sentAt"), "sentAt")
    device_time = parse_time(raw.get("timestamp"), "timestamp") or parse_time(
        raw.get("originalTimestamp"), "originalTimestamp")
    if device_time is None:
        timestamp = received_at
    elif sent_at is not None:
        timestamp = received_at - (sent_at - device_time)
        if not EARLIEST <= timestamp <= LATEST:
            raise IngestError("'timestamp' and 'sentAt' are too far apart to correct the device clock.",
                              details={"field": "sentAt"})
        context = {**context, "siyu": {"originalTimestamp": device_time.isoformat()}}
    else:
        timestamp = device_time
    message_id = _id(raw, "messageId") or f"siyu-{uuid.uuid4()}"
    return Message(type=kind, message_id=message_id, name=name, timestamp=timestamp, received_at=received_at,
                   sent_at=sent_at, user_id=user_id, anonymous_id=anonymous_id, properties=properties,
                   traits=traits, context=context, previous_id=previous_id, group_id=group_id, source=source)
