"""QR images of channel codes: PNG and SVG of the code's content, and a printable card (PNG) with
the channel's name and a caption under the code. CJK text needs a CJK font: Noto Sans CJK
(Debian's fonts-noto-cjk) when installed, else Pillow's built-in font (Latin only; Chinese then
shows as boxes — the card still prints and scans)."""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
import qrcode.image.svg
from PIL import Image, ImageDraw, ImageFont

FONTS = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
         Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"))
SIMPLIFIED_CHINESE = 2  # the face of Noto Sans CJK's collection drawn the mainland way (JP, KR, SC, TC, HK)
CARD_WIDTH, CARD_HEIGHT = 1240, 1748  # A6 at 300 dpi


def png(content: str, *, box_size: int = 10) -> bytes:
    image = qrcode.make(content, box_size=box_size, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def svg(content: str) -> bytes:
    image = qrcode.make(content, image_factory=qrcode.image.svg.SvgPathImage, border=4,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def font(size: int, *, bold: bool = False,
         fonts: tuple[Path, ...] = FONTS) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in (fonts[1:] + fonts[:1]) if bold else fonts:
        if path.exists():
            return ImageFont.truetype(str(path), size, index=SIMPLIFIED_CHINESE)
    return ImageFont.load_default(size)


def card(content: str, title: str, caption: str | None, *, fonts: tuple[Path, ...] = FONTS) -> bytes:
    """A white A6 card: the title, the code, the caption, centred."""
    page = Image.new("RGB", (CARD_WIDTH, CARD_HEIGHT), "white")
    draw = ImageDraw.Draw(page)
    code = Image.open(io.BytesIO(png(content, box_size=20))).convert("RGB").resize((900, 900), Image.Resampling.NEAREST)
    page.paste(code, ((CARD_WIDTH - 900) // 2, 360))
    for text, size, top, bold in ((title, 88, 140, True), (caption or "", 56, 1330, False)):
        if not text:
            continue
        face = font(size, bold=bold, fonts=fonts)
        width = draw.textlength(text, font=face)
        draw.text(((CARD_WIDTH - width) / 2, top), text, fill="black", font=face)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG", dpi=(300, 300))
    return buffer.getvalue()
