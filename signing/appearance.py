"""The visible part of a signature: blue text lines in a frame, drawn as a PNG image.

Why an image and not PDF text: endesive 2.19.3 can embed a TrueType font for appearance
text, but writes each line as an *unescaped* literal string of UTF-16 bytes. Any
character with a 0x28 ``(``, 0x29 ``)`` or 0x5C ``\\`` byte then breaks the appearance
stream and the rest of the box disappears — that includes the Vietnamese ``ĩ`` (U+0129,
"nghĩa", "bác sĩ") and ``Ĩ`` and every ASCII parenthesis. Pillow draws the same DejaVu
glyphs into an image with no such trap; the signer's name, reason and location stay
machine-readable in the signature dictionary.

Decree 30/2020 Appendix I: a stamp may carry a picture (:mod:`signing.images`) — the
officer's handwritten signature in blue, drawn in the right part of the frame beside the
lines — and the agency's seal is its red seal alone, at the size of its field
(:func:`seal_png`), which overlaps the left third of the last officer's signature.
"""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from signing.fonts import font_path
from signing.template import nfc

BLUE = (0, 51, 179, 255)
PX_PER_PT = 3  # 216 dpi: sharp on paper; every pixel is compressed at each signature
PADDING_PT = 5.0
MAX_FONT_PT, MIN_FONT_PT = 10.0, 5.0
LINE_SPACING = 1.3
PICTURE_SHARE = 0.38  # of the frame's width, on the right, for a handwritten signature


def appearance_lines(
    full_name: str, title: str, agency: str, moment: datetime
) -> list[str]:
    """Return the text of a visible signature, empty title/agency lines dropped.

    ``moment`` is shown in ISO 8601 with its offset, e.g. 2026-11-26T14:30:00+07:00.
    """
    lines = [f"Ký bởi: {full_name}", title, agency, f"Thời gian ký: {moment.isoformat()}"]
    return [nfc(line) for line in lines if nfc(line).strip()]


_DRAW_LOCK = threading.Lock()  # FreeType faces are not safe to share between threads
#: Stands for any signing time when sizing a stamp: DejaVu digits all have one width.
SAMPLE_MOMENT = datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=7)))


@lru_cache(maxsize=32)
def _font(ttf: str, size_px: int) -> ImageFont.FreeTypeFont:
    """Return the font at ``size_px``, parsed once per process."""
    return ImageFont.truetype(ttf, size_px)


def _font_size_pt(lines: list[str], width_pt: float, height_pt: float, ttf: str) -> float:
    """Return the largest size in MIN..MAX_FONT_PT at which every line fits the box."""
    probe = _font(ttf, 100)
    with _DRAW_LOCK:
        widest = max(probe.getlength(line) for line in lines) / 100
    by_width = (width_pt - 2 * PADDING_PT) / widest if widest else MAX_FONT_PT
    by_height = (height_pt - 2 * PADDING_PT) / (LINE_SPACING * len(lines))
    return max(MIN_FONT_PT, min(MAX_FONT_PT, by_width, by_height))


class Stamp:
    """A visible signature prepared once: frame and fixed lines drawn, the font sized.

    ``lines`` are all lines of the appearance; the last one may be left to :meth:`png`
    (the signing time, the only line that changes between two signatures of one signer).
    Sizing uses ``lines`` as given, so pass the last line with a sample value of the same
    shape (see :func:`stamp`).
    """

    def __init__(self, lines: list[str], width_pt: float, height_pt: float, *,
                 variable_last: bool = False, picture: bytes | None = None) -> None:
        ttf = str(font_path(bold=False, serif=False))
        text_width_pt = width_pt * (1 - PICTURE_SHARE) if picture else width_pt
        size_pt = _font_size_pt(lines, text_width_pt, height_pt, ttf)
        width, height = round(width_pt * PX_PER_PT), round(height_pt * PX_PER_PT)
        self._font = _font(ttf, round(size_pt * PX_PER_PT))
        self._line_px = size_pt * LINE_SPACING * PX_PER_PT
        self._top = (height - self._line_px * len(lines)) / 2
        self._left = PADDING_PT * PX_PER_PT
        self._count = len(lines)
        image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
        draw = ImageDraw.Draw(image)
        border = round(1.5 * PX_PER_PT)
        draw.rectangle((border // 2, border // 2, width - 1 - border // 2,
                        height - 1 - border // 2), outline=BLUE, width=border)
        if picture:
            _paste(image, picture, (round(width * (1 - PICTURE_SHARE)), border,
                                    width - 2 * border, height - 2 * border))
        fixed = lines[:-1] if variable_last else lines
        for index, line in enumerate(fixed):
            self._draw(draw, index, line)
        self._base = image
        self.variable_last = variable_last

    def _draw(self, draw: ImageDraw.ImageDraw, index: int, line: str) -> None:
        # anchor "lm": left edge, vertical middle of the line box
        with _DRAW_LOCK:
            draw.text((self._left, self._top + (index + 0.5) * self._line_px), line,
                      font=self._font, fill=BLUE, anchor="lm")

    def png(self, last_line: str | None = None) -> bytes:
        """Return the stamp as a transparent PNG, ``last_line`` drawn last if variable."""
        image = self._base
        if self.variable_last:
            image = image.copy()
            self._draw(ImageDraw.Draw(image), self._count - 1, nfc(last_line or ""))
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)  # endesive decodes it again anyway
        return out.getvalue()


@lru_cache(maxsize=128)
def _stamp(fixed: tuple[str, ...], sample_last: str, width_pt: float,
           height_pt: float, picture: bytes | None = None) -> Stamp:
    return Stamp([*fixed, sample_last], width_pt, height_pt, variable_last=True,
                 picture=picture)


def stamp(full_name: str, title: str, agency: str, width_pt: float,
          height_pt: float, picture: bytes | None = None) -> Stamp:
    """Return the prepared stamp of a signer in a box (cached per process): the same
    picture :func:`render_appearance` draws for :func:`appearance_lines`, with the
    signing time left to :meth:`Stamp.png`; ``picture`` (PNG) is the handwritten
    signature drawn beside the lines."""
    lines = appearance_lines(full_name, title, agency, SAMPLE_MOMENT)
    return _stamp(tuple(lines[:-1]), lines[-1], float(width_pt), float(height_pt),
                  picture)


def _paste(image: Image.Image, picture: bytes, box: tuple[int, int, int, int]) -> None:
    """Draw ``picture`` scaled (ratio kept) and centred in ``box`` (x, y, right, bottom)."""
    source = Image.open(io.BytesIO(picture)).convert("RGBA")
    room_w, room_h = max(1, box[2] - box[0]), max(1, box[3] - box[1])
    scale = min(room_w / source.width, room_h / source.height)
    fitted = source.resize((max(1, round(source.width * scale)),
                            max(1, round(source.height * scale))), Image.Resampling.LANCZOS)
    image.alpha_composite(fitted, (box[0] + (room_w - fitted.width) // 2,
                                   box[1] + (room_h - fitted.height) // 2))


@lru_cache(maxsize=64)
def seal_png(picture: bytes, width_pt: float, height_pt: float) -> bytes:
    """The seal's appearance: ``picture`` alone, fitted to the box, transparent around."""
    width, height = round(width_pt * PX_PER_PT), round(height_pt * PX_PER_PT)
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    _paste(image, picture, (0, 0, width, height))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def render_appearance(lines: list[str], width_pt: float, height_pt: float) -> bytes:
    """Return a transparent PNG of ``lines`` in blue inside a blue frame, sized to the box.

    The image is ``PX_PER_PT`` pixels per point of the ``width_pt`` x ``height_pt`` box,
    so endesive places it without distortion. Text is centred vertically, left-aligned,
    and shrunk (down to 5 pt) to fit; a line still too long is clipped by the frame.
    """
    return Stamp(list(lines), width_pt, height_pt).png()
