"""Turning an HTTP request body into validated messages, with Segment's limits.

Pure functions over bytes, so every rule here is tested without a server: decompression (with a
cap, so a 1 KB gzip bomb cannot inflate into gigabytes), the 32 KB per message and 500 KB per
batch limits measured on the decoded JSON, batch-level ``context`` / ``integrations`` / ``sentAt``
applied to each message, and all-or-nothing validation of a batch.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import orjson

from siyu.identity.models import Identifier
from siyu.identity.normalise import InvalidIdentifier
from siyu.identity.rules import IdentityRules
from siyu.ingest.errors import BatchTooLarge, IngestError, MessageTooLarge
from siyu.ingest.identifiers import identifiers_of
from siyu.ingest.spec import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, Message, parse_message

MAX_BATCH_MESSAGES = 2500  # Segment's limit per batch request
MAX_NESTING = 254  # orjson.dumps' recursion limit


def decode_body(raw: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The request body, gunzipped if needed; refuses anything whose decoded size passes ``limit``."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS)
        try:
            body = decompressor.decompress(raw, limit + 1)
        except zlib.error:
            raise IngestError("The body is not valid gzip.", code="ingest.bad_encoding") from None
        if len(body) > limit or decompressor.unconsumed_tail:
            raise _too_large(limit)
        return body
    if encoding not in ("", "identity"):
        raise IngestError(f"Content-Encoding {encoding!r} is not supported; use gzip or none.",
                          code="ingest.bad_encoding", status=415)
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def _too_large(limit: int) -> IngestError:
    if limit == MAX_BATCH_BYTES:
        return BatchTooLarge(f"The batch is larger than {MAX_BATCH_BYTES} bytes (500 KB); send smaller batches.",
                             details={"limit": MAX_BATCH_BYTES})
    return MessageTooLarge(f"The message is larger than {limit} bytes (32 KB).", details={"limit": limit})


def parse_json(body: bytes) -> dict[str, Any]:
    if b"\\u0000" in body:  # PostgreSQL cannot store U+0000 in text or jsonb
        raise IngestError("The body contains a NUL character (\\u0000), which cannot be stored.",
                          code="ingest.nul_character")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise IngestError(f"The body is not valid JSON: {error}.", code="ingest.malformed_json") from None
    if not isinstance(payload, dict):
        raise IngestError("The body must be a JSON object.", code="ingest.malformed_json")
    return payload


def messages_of(payload: dict[str, Any], *, type_: str | None, body_size: int, received_at: datetime,
                rules: IdentityRules, region: str) -> tuple[list[Message], list[list[Identifier]]]:
    """Validate a single call (``type_`` given) or a batch; raise on the first bad message."""
    if type_ is not None:
        items: list[Any] = [payload]
    else:
        batch = payload.get("batch")
        if not isinstance(batch, list) or not batch:
            raise IngestError("A batch body needs a non-empty 'batch' array.", details={"field": "batch"})
        if len(batch) > MAX_BATCH_MESSAGES:
            raise BatchTooLarge(f"A batch holds at most {MAX_BATCH_MESSAGES} messages.")
        # What every item inherits, at the depth it will have inside an item.
        _encoded_size({"context": payload.get("context"), "integrations": payload.get("integrations")})
        items = batch
    messages: list[Message] = []
    identifiers: list[list[Identifier]] = []
    for index, item in enumerate(items):
        try:
            raw = item
            if isinstance(item, dict):
                size = _encoded_size(item)  # also refuses nesting the database could not store
                if type_ is None:
                    raw = _with_batch_fields(item, payload)
                else:
                    size = body_size  # a single call is measured as sent
                if size > MAX_MESSAGE_BYTES:
                    raise MessageTooLarge(f"Message {index} is {size} bytes; the limit is {MAX_MESSAGE_BYTES} "
                                          "(32 KB).", details={"size": size, "limit": MAX_MESSAGE_BYTES})
            message = parse_message(raw, received_at=received_at, type_=type_)
            found = identifiers_of(message, rules, region)
        except (IngestError, InvalidIdentifier) as error:
            if type_ is None:
                error.details = {**error.details, "index": index}
                error.message = f"batch[{index}]: {error.message}"
            raise
        messages.append(message)
        identifiers.append(found)
    return messages, identifiers


def _encoded_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON. Also the depth check: orjson reads up to 1,024 levels of
    nesting but writes at most 254, so anything deeper could be accepted and then fail to store."""
    try:
        return len(orjson.dumps(value))
    except TypeError:
        raise IngestError(f"The message is nested more than {MAX_NESTING} levels deep.",
                          code="ingest.too_deeply_nested", details={"limit": MAX_NESTING}) from None


def _with_batch_fields(message: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
    """A batch item with the batch's own ``context``, ``integrations`` and ``sentAt`` applied.

    Segment's HTTP API: the batch's context and integrations are "merged with any context inside
    each of the items in the batch". The item is the more specific, so its keys win; objects are
    merged key by key (a batch ``context.device`` and an item ``context.library`` both survive).
    ``sentAt`` is one value for the whole request (the SDKs set it when they send).
    """
    merged = dict(message)
    for key in ("context", "integrations"):
        shared = batch.get(key)
        if isinstance(shared, dict) and shared:
            own = message.get(key)
            if own is None:
                merged[key] = shared
            elif isinstance(own, dict):
                merged[key] = _merge(shared, own)
            # anything else is left for the message parser to refuse with the field's name
    if "sentAt" in batch and "sentAt" not in message:
        merged["sentAt"] = batch["sentAt"]
    return merged


MERGE_DEPTH = 8  # deeper than any real context; below it the item's value replaces the batch's


def _merge(base: dict[str, Any], override: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, dict) and depth < MERGE_DEPTH:
            merged[key] = _merge(below, value, depth + 1)
        else:
            merged[key] = value
    return merged
