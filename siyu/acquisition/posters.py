"""Personalised share posters (海报): a background with the person's avatar, nickname and own QR.
Pure: the layout, the cache key and the drawing (Pillow and qrcode, no database, no network).

A template is an uploaded background and a layout::

    {"avatar":   {"x": 60, "y": 60, "size": 120},
     "nickname": {"x": 200, "y": 95, "size": 40, "color": "#333333", "max_width": 500},
     "qr":       {"x": 470, "y": 1000, "size": 220},
     "caption":  {"x": 60, "y": 1250, "size": 32, "color": "#666666", "text": "长按识别，领取新人礼"}}

``qr`` is required; the others are optional. Boxes must lie inside the background. The QR encodes the
person's own share link (``/s/<token>``), so every scan is counted for them. Text is drawn with Noto
Sans CJK when it is installed (Debian's fonts-noto-cjk), else Pillow's built-in font (Chinese then
shows as boxes; the poster still renders and its QR still scans).
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qrcode
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from siyu.acquisition.qr import FONTS, font
from siyu.errors import SiyuError

MAX_BACKGROUND_BYTES = 5 * 1024 * 1024
MAX_SIDE = 4096
MAX_AVATAR_BYTES = 1024 * 1024
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class PosterError(SiyuError):
    code = "posters.invalid"
    status = 422


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    size: int
    color: str = "#333333"
    max_width: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class Layout:
    qr: Box
    avatar: Box | None = None
    nickname: Box | None = None
    caption: Box | None = None


def _box(raw: Any, name: str, width: int, height: int, *, square: bool) -> Box:
    if not isinstance(raw, dict):
        raise PosterError(f"layout.{name} must be an object with x, y and size.", details={"field": f"layout.{name}"})
    values = {}
    for key in ("x", "y", "size"):
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (key == "size" and value < 4):
            raise PosterError(f"layout.{name}.{key} must be a whole number of pixels"
                              f"{' (at least 4)' if key == 'size' else ''}.", details={"field": f"layout.{name}.{key}"})
        values[key] = value
    bottom = values["y"] + values["size"]
    right = values["x"] + (values["size"] if square else int(raw.get("max_width") or 1))
    if right > width or bottom > height:
        raise PosterError(f"layout.{name} does not fit on the {width}×{height} background.",
                          details={"field": f"layout.{name}"})
    color = raw.get("color", "#333333")
    if not isinstance(color, str) or not _COLOR.match(color):
        raise PosterError(f"layout.{name}.color must look like #333333.", details={"field": f"layout.{name}.color"})
    max_width = raw.get("max_width")
    if max_width is not None and (not isinstance(max_width, int) or isinstance(max_width, bool) or max_width < 1):
        raise PosterError(f"layout.{name}.max_width must be a whole number of pixels.",
                          details={"field": f"layout.{name}.max_width"})
    text = raw.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > 200):
        raise PosterError(f"layout.{name}.text must be at most 200 characters.",
                          details={"field": f"layout.{name}.text"})
    return Box(values["x"], values["y"], values["size"], color, max_width, text)


def parse_layout(raw: Any, width: int, height: int) -> Layout:
    """The layout, checked against a ``width`` × ``height`` background (see the module docstring)."""
    if not isinstance(raw, dict):
        raise PosterError("layout must be an object.", details={"field": "layout"})
    unknown = set(raw) - {"qr", "avatar", "nickname", "caption"}
    if unknown:
        raise PosterError(f"layout has unknown parts: {', '.join(sorted(unknown))}.", details={"field": "layout"})
    if "qr" not in raw:
        raise PosterError("layout.qr is required: where the person's QR goes.", details={"field": "layout.qr"})
    caption = _box(raw["caption"], "caption", width, height, square=False) if "caption" in raw else None
    if caption is not None and not caption.text:
        raise PosterError("layout.caption.text is required.", details={"field": "layout.caption.text"})
    return Layout(qr=_box(raw["qr"], "qr", width, height, square=True),
                  avatar=_box(raw["avatar"], "avatar", width, height, square=True) if "avatar" in raw else None,
                  nickname=_box(raw["nickname"], "nickname", width, height, square=False)
                  if "nickname" in raw else None, caption=caption)


def check_background(data: bytes) -> tuple[str, int, int]:
    """``(mime, width, height)`` of an uploaded background: PNG or JPEG, ≤ 5 MB, ≤ 4096 px a side."""
    return _check(data, MAX_BACKGROUND_BYTES, "background")


def _check(data: bytes, limit: int, field: str) -> tuple[str, int, int]:
    if not data or len(data) > limit:
        raise PosterError(f"The {field} must be an image of at most {limit // 1024} KB.", code="posters.bad_image",
                          details={"field": field})
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            if kind not in ("PNG", "JPEG") or max(width, height) > MAX_SIDE:
                raise PosterError(f"The {field} must be a PNG or JPEG of at most {MAX_SIDE} px a side.",
                                  code="posters.bad_image", details={"field": field})
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PosterError(f"The {field} is not a PNG or JPEG image.", code="posters.bad_image",
                          details={"field": field}) from None
    return {"PNG": "image/png", "JPEG": "image/jpeg"}[kind], width, height


def usable_avatar(data: bytes | None) -> bytes | None:
    """The avatar if Pillow can read it as a small image (any common format), else None: a broken
    avatar gives the default one, never a failed poster."""
    if not data or len(data) > MAX_AVATAR_BYTES:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            if max(image.size) > MAX_SIDE:
                return None
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return data


def cache_key(template_id: int, version: int, profile_id: int, link_token: str, avatar: bytes | None,
              nickname: str) -> str:
    """The render's identity: the template version, the person, their link, and what is drawn of them
    (a newly fetched avatar or a renamed person is a new poster)."""
    avatar_digest = hashlib.sha256(avatar).hexdigest() if avatar else "default"
    text = f"{template_id}|{version}|{profile_id}|{link_token}|{avatar_digest}|{nickname}"
    return hashlib.sha256(text.encode()).hexdigest()


def _circle(image: Image.Image, size: int) -> Image.Image:
    square = ImageOps.fit(image.convert("RGBA"), (size, size), Image.Resampling.LANCZOS)
    mask = Image.new("L", (size * 4, size * 4), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, size * 4 - 1, size * 4 - 1), fill=255)
    square.putalpha(mask.resize((size, size), Image.Resampling.LANCZOS))
    return square


def default_avatar(nickname: str, size: int, fonts: tuple[Path, ...] = FONTS) -> Image.Image:
    """A grey disc with the nickname's first character (or nothing)."""
    image = Image.new("RGBA", (size, size), "#c9cdd4")
    initial = nickname.strip()[:1]
    if initial:
        draw = ImageDraw.Draw(image)
        face = font(max(size // 2, 4), fonts=fonts)
        left, top, right, bottom = draw.textbbox((0, 0), initial, font=face)
        draw.text(((size - (right - left)) / 2 - left, (size - (bottom - top)) / 2 - top), initial, fill="white",
                  font=face)
    return image


def _fitted(draw: ImageDraw.ImageDraw, text: str, face: Any, max_width: int | None) -> str:
    if max_width is None or draw.textlength(text, font=face) <= max_width:
        return text
    while text and draw.textlength(text + "…", font=face) > max_width:
        text = text[:-1]
    return text + "…"


def qr_image(url: str, size: int) -> Image.Image:
    code = qrcode.make(url, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    return code.get_image().convert("RGB").resize((size, size), Image.Resampling.NEAREST)


def render(background: bytes, layout: Layout, *, nickname: str, qr_url: str, avatar: bytes | None,
           fonts: tuple[Path, ...] = FONTS) -> bytes:
    """The poster as PNG bytes."""
    with Image.open(io.BytesIO(background)) as opened:
        page = opened.convert("RGBA")
    draw = ImageDraw.Draw(page)
    if layout.avatar is not None:
        size = layout.avatar.size
        if avatar is not None:
            with Image.open(io.BytesIO(avatar)) as picture:
                face_image = _circle(picture, size)
        else:
            face_image = _circle(default_avatar(nickname, size, fonts), size)
        page.alpha_composite(face_image, (layout.avatar.x, layout.avatar.y))
    for box, text in ((layout.nickname, nickname), (layout.caption, layout.caption.text if layout.caption else "")):
        if box is not None and text:
            face = font(box.size, fonts=fonts)
            draw.text((box.x, box.y), _fitted(draw, text, face, box.max_width), fill=box.color, font=face)
    page.paste(qr_image(qr_url, layout.qr.size), (layout.qr.x, layout.qr.y))
    buffer = io.BytesIO()
    page.convert("RGB").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
