"""Group live codes (群活码): one page that always shows a group with room. Pure decisions.

A WeChat group's own QR code is valid for 7 days from when it was fetched (the WeChat team's
statement on group QR codes: "用户在拉取群二维码时都会自动设定一个识别有效期，每个有效期的时间是7天"),
and a group can be joined by scanning only while it has fewer than 200 members (past that, members
must invite). So a live code holds several groups, each with its uploaded QR image, expiry (7 days
from the upload unless given) and capacity (200 by default); the page shows one that still has room
and has not expired, and moves on by itself. The count is the group's kept member count when the
entry is linked to a community group (:mod:`siyu.groups`), else the operator's manual count.

Alerts to the operator, each once per situation (its ``key``): ``exhausted`` when no group is left
(re-armed when the set of groups changes); ahead of that, when only one usable group is left,
``nearly_full`` at 90 % of its capacity and ``expiring`` within a day of its expiry.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from PIL import Image, UnidentifiedImageError

from siyu.errors import SiyuError

QR_VALIDITY = timedelta(days=7)
DEFAULT_CAPACITY = 200
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_SIDE = 4096
NEARLY_FULL = 0.9
EXPIRING_WITHIN = timedelta(days=1)
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


class GroupCodeError(SiyuError):
    code = "group_codes.invalid"
    status = 422


class Strategy(StrEnum):
    IN_ORDER = "in_order"  # the first group (by position) that still has room
    LEAST_FULL = "least_full"  # the group with the most room, relative to its capacity


class EntryState(StrEnum):
    AVAILABLE = "available"
    FULL = "full"
    EXPIRED = "expired"
    REMOVED = "removed"


class AlertKind(StrEnum):
    EXHAUSTED = "exhausted"
    NEARLY_FULL = "nearly_full"
    EXPIRING = "expiring"


@dataclass(frozen=True)
class Entry:
    """One group of a live code, with its current count."""

    id: int
    position: int
    label: str
    capacity: int
    count: int
    uploaded_at: datetime
    expires_at: datetime
    removed: bool = False

    def state(self, now: datetime) -> EntryState:
        if self.removed:
            return EntryState.REMOVED
        if self.expires_at <= now:
            return EntryState.EXPIRED
        if self.count >= self.capacity:
            return EntryState.FULL
        return EntryState.AVAILABLE


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    key: str
    message: str
    details: dict[str, object]


def check_image(data: bytes) -> tuple[str, int, int]:
    """``(mime type, width, height)`` of an uploaded QR image: PNG or JPEG, at most 2 MB and
    4096 px a side, and really decodable (Pillow loads it: a renamed file or a truncated one is refused)."""
    if not data:
        raise GroupCodeError("The QR image is empty.", code="group_codes.bad_image", details={"field": "image"})
    if len(data) > MAX_IMAGE_BYTES:
        raise GroupCodeError(f"The QR image is {len(data) // 1024} KB; at most {MAX_IMAGE_BYTES // 1024} KB.",
                             code="group_codes.image_too_large", status=413, details={"field": "image"})
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            if kind not in FORMATS:
                raise GroupCodeError(f"The QR image must be PNG or JPEG, not {kind}.", code="group_codes.bad_image",
                                     details={"field": "image", "format": kind})
            if max(width, height) > MAX_IMAGE_SIDE:
                raise GroupCodeError(f"The QR image is {width}×{height}; at most {MAX_IMAGE_SIDE} px a side.",
                                     code="group_codes.bad_image", details={"field": "image"})
            image.load()  # decodes every pixel: a truncated file fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise GroupCodeError("The file is not a PNG or JPEG image.", code="group_codes.bad_image",
                             details={"field": "image"}) from None
    return FORMATS[kind], width, height


def choose(entries: list[Entry], strategy: Strategy, now: datetime) -> Entry | None:
    """The group to show now, or None when none has room and time left."""
    usable = [entry for entry in entries if entry.state(now) is EntryState.AVAILABLE]
    if not usable:
        return None
    match strategy:
        case Strategy.IN_ORDER:
            return min(usable, key=lambda e: (e.position, e.id))
        case Strategy.LEAST_FULL:
            return min(usable, key=lambda e: (e.count / e.capacity, e.position, e.id))
    raise AssertionError(strategy)


def _fingerprint(entries: list[Entry]) -> str:
    live = sorted((e.id, int(e.uploaded_at.timestamp())) for e in entries if not e.removed)
    return ",".join(f"{entry_id}@{stamp}" for entry_id, stamp in live) or "none"


def alerts_due(entries: list[Entry], now: datetime) -> list[Alert]:
    """What the operator should hear about now (each alert's ``key`` makes it once per situation)."""
    usable = [entry for entry in entries if entry.state(now) is EntryState.AVAILABLE]
    if not usable:
        return [Alert(AlertKind.EXHAUSTED, f"exhausted:{_fingerprint(entries)}",
                      "No group is left on this live code: every group is full or expired. Upload a new group's QR.",
                      {"groups": len([e for e in entries if not e.removed])})]
    if len(usable) > 1:
        return []
    last = usable[0]
    stamp = int(last.uploaded_at.timestamp())
    found = []
    if last.count >= NEARLY_FULL * last.capacity:
        found.append(Alert(AlertKind.NEARLY_FULL, f"nearly_full:{last.id}:{stamp}",
                           f"The last group with room ({last.label}) is {last.count}/{last.capacity} full. "
                           "Add another group soon.", {"entry_id": last.id, "count": last.count,
                                                       "capacity": last.capacity}))
    if last.expires_at - now <= EXPIRING_WITHIN:
        found.append(Alert(AlertKind.EXPIRING, f"expiring:{last.id}:{stamp}",
                           f"The last group with room ({last.label}) has a QR that expires at "
                           f"{last.expires_at:%Y-%m-%d %H:%M} UTC. Upload a fresh QR or another group.",
                           {"entry_id": last.id, "expires_at": last.expires_at.isoformat()}))
    return found
