"""Which sending of a survey an answer belongs to: the ``send_key`` signed into each link.

An answer is unique on (workspace, survey, profile, ``send_key``) (:mod:`siyu.surveys.store`), so the
send key decides what counts as "asking again": a new key is a new question the person may answer,
the same key is the same question (a re-answer replaces, then is refused). Links issued through the
API or CLI carry the key the operator gives (``default`` when none). A link a message template signs
(``survey_link(id)``) carries the message's own send — the outbox key it is queued under, such as
``journey:<id>:<version>:<step>:<entry>`` — so each journey entry, broadcast or re-sent message asks
again, while rendering one message twice signs the same link.

The key is stored in a 100-character column and travels inside every link (an SMS pays for each
character), so it is kept to the characters ``[A-Za-z0-9_.:-]``; a send identity outside that (an API
caller's own idempotency key may be anything up to 150 characters) is shortened by
:func:`send_key_for`, deterministically, keeping a readable prefix and a digest of the whole.
"""

from __future__ import annotations

import hashlib
import re

DEFAULT_SEND = "default"  # links issued without a key, and renders that are no send (a preview)
MAX_SEND_KEY = 100  # survey_answers.send_key is String(100)
SEND_KEY_PATTERN = r"^[A-Za-z0-9_.:-]+$"
_SEND_KEY = re.compile(SEND_KEY_PATTERN)
_DIGEST = 16  # hex characters of SHA-256: 64 bits, no collision among one person's sends in practice


def is_send_key(value: object) -> bool:
    """Whether ``value`` may be a send key as it is: 1-100 of ``[A-Za-z0-9_.:-]``."""
    return isinstance(value, str) and len(value) <= MAX_SEND_KEY and _SEND_KEY.fullmatch(value) is not None


def send_key_for(send: str | None) -> str:
    """The send key for a send identity: the identity itself when it is a valid key, ``default`` for
    none, else ``<prefix>.<digest>``: its characters outside the set as ``_``, cut to leave room for
    16 hex characters of its SHA-256 — the same identity always gives the same key, two different
    ones (practically) never."""
    if not send:
        return DEFAULT_SEND
    if is_send_key(send):
        return send
    digest = hashlib.sha256(send.encode()).hexdigest()[:_DIGEST]
    readable = re.sub(r"[^A-Za-z0-9_.:-]", "_", send)[:MAX_SEND_KEY - _DIGEST - 1]
    return f"{readable}.{digest}"
