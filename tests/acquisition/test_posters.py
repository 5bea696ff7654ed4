"""Posters' pure parts: the layout's checks, the drawing (with and without a CJK font), the cache key."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from siyu.acquisition.posters import (
    PosterError,
    cache_key,
    check_background,
    parse_layout,
    qr_image,
    render,
    usable_avatar,
)

LAYOUT = {"avatar": {"x": 40, "y": 40, "size": 120},
          "nickname": {"x": 180, "y": 80, "size": 40, "color": "#222222", "max_width": 300},
          "qr": {"x": 420, "y": 820, "size": 240},
          "caption": {"x": 40, "y": 1000, "size": 32, "color": "#666666", "text": "长按识别，领新人礼"}}


def image_bytes(color: str = "#f4e1d2", size: tuple[int, int] = (720, 1100), kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=kind)
    return buffer.getvalue()


def test_a_layout_must_place_the_qr_inside_the_background() -> None:
    layout = parse_layout(LAYOUT, 720, 1100)
    assert layout.qr.size == 240 and layout.caption.text == "长按识别，领新人礼"
    for raw, field in (({"avatar": LAYOUT["avatar"]}, "layout.qr"),
                       ({**LAYOUT, "qr": {"x": 600, "y": 900, "size": 240}}, "layout.qr"),
                       ({**LAYOUT, "qr": {"x": 1, "y": 2, "size": "big"}}, "layout.qr.size"),
                       ({**LAYOUT, "nickname": {**LAYOUT["nickname"], "color": "red"}}, "layout.nickname.color"),
                       ({**LAYOUT, "logo": {}}, "layout"),
                       ({**LAYOUT, "caption": {"x": 1, "y": 1, "size": 20}}, "layout.caption.text")):
        with pytest.raises(PosterError) as refused:
            parse_layout(raw, 720, 1100)
        assert refused.value.details["field"] == field


def test_the_poster_has_the_background_size_the_exact_qr_and_the_avatar_in_a_circle() -> None:
    red = image_bytes("#ff0000", (64, 64))
    png = render(image_bytes(), parse_layout(LAYOUT, 720, 1100), nickname="李娜", avatar=red,
                 qr_url="https://brand.cn/s/abcdefgh")
    poster = Image.open(io.BytesIO(png)).convert("RGB")
    assert poster.size == (720, 1100)
    expected = qr_image("https://brand.cn/s/abcdefgh", 240).tobytes()
    assert poster.crop((420, 820, 660, 1060)).tobytes() == expected
    assert poster.getpixel((100, 100)) == (255, 0, 0)  # the avatar's centre
    assert poster.getpixel((42, 42)) == (244, 225, 210)  # its corner is outside the circle: background
    text = poster.crop((180, 80, 480, 130))
    assert len(set(text.tobytes())) > 6  # the nickname was drawn (more than the background's 3 bytes)


def test_without_a_cjk_font_it_still_renders(tmp_path: Path) -> None:
    png = render(image_bytes(), parse_layout(LAYOUT, 720, 1100), nickname="李娜 Lina", avatar=None,
                 qr_url="https://brand.cn/s/abcdefgh", fonts=(tmp_path / "missing.ttc",))
    assert Image.open(io.BytesIO(png)).size == (720, 1100)


def test_cache_keys_change_with_what_is_drawn() -> None:
    base = cache_key(1, 1, 7, "tok", None, "李娜")
    assert base == cache_key(1, 1, 7, "tok", None, "李娜")
    assert len({base, cache_key(1, 2, 7, "tok", None, "李娜"), cache_key(1, 1, 8, "tok", None, "李娜"),
                cache_key(1, 1, 7, "tok", b"avatar", "李娜"), cache_key(1, 1, 7, "tok", None, "Lina")}) == 5


def test_backgrounds_and_avatars_are_checked() -> None:
    assert check_background(image_bytes(kind="JPEG"))[0] == "image/jpeg"
    with pytest.raises(PosterError) as refused:
        check_background(b"%PDF-1.7")
    assert refused.value.code == "posters.bad_image"
    assert usable_avatar(b"not an image") is None and usable_avatar(None) is None
    assert usable_avatar(image_bytes(size=(8, 8))) is not None
