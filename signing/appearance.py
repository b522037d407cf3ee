"""The visible part of a signature: blue text lines in a frame, drawn as a PNG image.

Why an image and not PDF text: endesive 2.19.3 can embed a TrueType font for appearance
text, but writes each line as an *unescaped* literal string of UTF-16 bytes. Any
character with a 0x28 ``(``, 0x29 ``)`` or 0x5C ``\\`` byte then breaks the appearance
stream and the rest of the box disappears — that includes the Vietnamese ``ĩ`` (U+0129,
"nghĩa", "bác sĩ") and ``Ĩ`` and every ASCII parenthesis. Pillow draws the same DejaVu
glyphs into an image with no such trap; the signer's name, reason and location stay
machine-readable in the signature dictionary.
"""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont

from signing.fonts import font_path
from signing.template import nfc

BLUE = (0, 51, 179, 255)
PX_PER_PT = 3  # 216 dpi: sharp on paper; endesive copies pixels in Python, so not more
PADDING_PT = 5.0
MAX_FONT_PT, MIN_FONT_PT = 10.0, 5.0
LINE_SPACING = 1.3


def appearance_lines(
    full_name: str, title: str, agency: str, moment: datetime
) -> list[str]:
    """Return the text of a visible signature, empty title/agency lines dropped.

    ``moment`` is shown in ISO 8601 with its offset, e.g. 2026-11-26T14:30:00+07:00.
    """
    lines = [f"Ký bởi: {full_name}", title, agency, f"Thời gian ký: {moment.isoformat()}"]
    return [nfc(line) for line in lines if nfc(line).strip()]


def _font_size_pt(lines: list[str], width_pt: float, height_pt: float, ttf: str) -> float:
    """Return the largest size in MIN..MAX_FONT_PT at which every line fits the box."""
    probe = ImageFont.truetype(ttf, 100)
    widest = max(probe.getlength(line) for line in lines) / 100
    by_width = (width_pt - 2 * PADDING_PT) / widest if widest else MAX_FONT_PT
    by_height = (height_pt - 2 * PADDING_PT) / (LINE_SPACING * len(lines))
    return max(MIN_FONT_PT, min(MAX_FONT_PT, by_width, by_height))


def render_appearance(lines: list[str], width_pt: float, height_pt: float) -> bytes:
    """Return a transparent PNG of ``lines`` in blue inside a blue frame, sized to the box.

    The image is ``PX_PER_PT`` pixels per point of the ``width_pt`` x ``height_pt`` box,
    so endesive places it without distortion. Text is centred vertically, left-aligned,
    and shrunk (down to 5 pt) to fit; a line still too long is clipped by the frame.
    """
    ttf = str(font_path(bold=False, serif=False))
    size_pt = _font_size_pt(lines, width_pt, height_pt, ttf)
    width, height = round(width_pt * PX_PER_PT), round(height_pt * PX_PER_PT)
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    border = round(1.5 * PX_PER_PT)
    draw.rectangle((border // 2, border // 2, width - 1 - border // 2, height - 1 - border // 2),
                   outline=BLUE, width=border)
    font = ImageFont.truetype(ttf, round(size_pt * PX_PER_PT))
    line_px = size_pt * LINE_SPACING * PX_PER_PT
    top = (height - line_px * len(lines)) / 2
    left = PADDING_PT * PX_PER_PT
    for index, line in enumerate(lines):
        # anchor "lm": left edge, vertical middle of the line box
        draw.text((left, top + (index + 0.5) * line_px), line, font=font, fill=BLUE, anchor="lm")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)  # endesive decodes it again anyway
    return out.getvalue()
