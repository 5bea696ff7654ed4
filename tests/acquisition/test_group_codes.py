"""Group live codes' pure rules: which group the page shows, when the operator is alerted, which
uploads are images."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import qrcode
from PIL import Image

from siyu.acquisition.group_codes import (
    AlertKind,
    Entry,
    EntryState,
    GroupCodeError,
    Strategy,
    alerts_due,
    check_image,
    choose,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def entry(entry_id: int, count: int = 0, capacity: int = 200, *, position: int | None = None,
          expires_in: timedelta = timedelta(days=5), removed: bool = False) -> Entry:
    return Entry(entry_id, entry_id if position is None else position, f"{entry_id}群", capacity, count,
                 NOW - timedelta(days=2), NOW + expires_in, removed)


def qr_png(text: str = "https://weixin.qq.com/g/abc") -> bytes:
    buffer = io.BytesIO()
    qrcode.make(text).save(buffer, format="PNG")
    return buffer.getvalue()


def test_in_order_shows_the_first_group_with_room_and_time_left() -> None:
    found = [entry(1, count=200), entry(2, expires_in=-timedelta(seconds=1)), entry(3, count=150), entry(4)]
    assert choose(found, Strategy.IN_ORDER, NOW).id == 3
    assert [e.state(NOW) for e in found] == [EntryState.FULL, EntryState.EXPIRED, EntryState.AVAILABLE,
                                             EntryState.AVAILABLE]


def test_least_full_shows_the_group_with_the_most_room_relative_to_capacity() -> None:
    found = [entry(1, count=50, capacity=100), entry(2, count=60, capacity=200), entry(3, count=10, removed=True)]
    assert choose(found, Strategy.LEAST_FULL, NOW).id == 2


def test_nothing_left_is_none() -> None:
    assert choose([entry(1, count=200), entry(2, expires_in=timedelta(0))], Strategy.IN_ORDER, NOW) is None
    assert choose([], Strategy.LEAST_FULL, NOW) is None


def test_no_group_left_is_one_exhausted_alert_rearmed_when_the_set_changes() -> None:
    full = [entry(1, count=200), entry(2, count=200)]
    (alert,) = alerts_due(full, NOW)
    assert alert.kind is AlertKind.EXHAUSTED
    assert alerts_due(full, NOW)[0].key == alert.key  # the same situation: the same key (stored once)
    assert alerts_due([*full, entry(3, count=200)], NOW)[0].key != alert.key


def test_the_last_group_warns_ahead_when_nearly_full_or_about_to_expire() -> None:
    assert alerts_due([entry(1, count=180), entry(2, count=190)], NOW) == []  # two left: no alarm yet
    (nearly,) = alerts_due([entry(1, count=200), entry(2, count=180)], NOW)
    assert nearly.kind is AlertKind.NEARLY_FULL and nearly.details["entry_id"] == 2
    assert alerts_due([entry(1, count=200), entry(2, count=179)], NOW) == []
    both = alerts_due([entry(2, count=190, expires_in=timedelta(hours=20))], NOW)
    assert {a.kind for a in both} == {AlertKind.NEARLY_FULL, AlertKind.EXPIRING}


def test_only_real_png_and_jpeg_images_are_accepted() -> None:
    assert check_image(qr_png())[0] == "image/png"
    jpeg = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(jpeg, format="JPEG")
    assert check_image(jpeg.getvalue()) == ("image/jpeg", 40, 40)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    for bad, code in ((b"", "group_codes.bad_image"), (b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                                       "group_codes.bad_image"),
                      (qr_png()[:200], "group_codes.bad_image"), (gif.getvalue(), "group_codes.bad_image"),
                      (b"\x89PNG" + b"0" * (2 * 1024 * 1024), "group_codes.image_too_large")):
        with pytest.raises(GroupCodeError) as refused:
            check_image(bad)
        assert refused.value.code == code
