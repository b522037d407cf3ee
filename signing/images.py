"""The pictures of a signed document (Decree 30/2020 Appendix I): an officer's handwritten
signature (blue) and the agency's seal (red), PNG files of the PKI.

Layout under ``pki_dir``: ``users/<username>.signature.png`` and
``agencies/<agency code>.seal.png``. Production puts the scanned signature and the seal's
official image there; the demo draws them the first time they are needed (and
``motcua demo`` has them drawn when it issues the certificates): the signature as the
officer's name in a slanted italic with an underline stroke, the seal as a red double ring
with the agency's name around it and a star in the middle, transparent outside.
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from signing import pki
from signing.fonts import font_path
from signing.template import nfc

SIGNATURE_BLUE = (0, 51, 179, 255)
SEAL_RED = (215, 25, 32, 255)
SEAL_PX = 600  # ~40 mm seal at 380 dpi


def _italic_font(size: int) -> ImageFont.FreeTypeFont:
    regular = font_path(bold=False, serif=True)
    italic = regular.with_name(regular.name.replace(".ttf", "-Italic.ttf"))
    return ImageFont.truetype(str(italic if italic.is_file() else regular), size)


def draw_signature(full_name: str) -> bytes:
    """A signature-like PNG of ``full_name`` (the given name, slanted, underlined)."""
    name = nfc(full_name).split()[-1] if nfc(full_name).split() else "?"
    font = _italic_font(120)
    width = int(font.getlength(name)) + 160
    image = Image.new("RGBA", (width, 220), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.text((60, 100), name, font=font, fill=SIGNATURE_BLUE, anchor="lm")
    draw.line([(40, 175), (width // 2, 160), (width - 30, 140)], fill=SIGNATURE_BLUE, width=7,
              joint="curve")
    slanted = image.transform(image.size, Image.Transform.AFFINE, (1, 0.25, -40, 0, 1, 0),
                              resample=Image.Resampling.BICUBIC)
    return _png(slanted)


def draw_seal(agency_name: str) -> bytes:
    """A red round seal PNG: the agency's name around a double ring, a star inside."""
    size = SEAL_PX
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    centre = size / 2
    for radius, width in ((size / 2 - 6, 12), (size / 2 - 95, 6)):
        draw.ellipse((centre - radius, centre - radius, centre + radius, centre + radius),
                     outline=SEAL_RED, width=width)
    star = [(centre + (70 if i % 2 == 0 else 28) * math.sin(i * math.pi / 5),
             centre - (70 if i % 2 == 0 else 28) * math.cos(i * math.pi / 5)) for i in range(10)]
    draw.polygon(star, fill=SEAL_RED)
    _ring_text(image, nfc(agency_name).upper() or "?", centre, size / 2 - 52)
    return _png(image)


def _ring_text(image: Image.Image, text: str, centre: float, radius: float) -> None:
    """Draw ``text`` clockwise around the top of a circle, each glyph rotated."""
    span = min(300.0, 10.0 * len(text) + 20)
    font = ImageFont.truetype(str(font_path(bold=True, serif=False)),
                              max(16, min(44, int(2 * math.pi * radius * span / 360
                                                  / max(len(text), 1) * 1.2))))
    step = span / max(len(text), 1)
    for index, char in enumerate(text):
        angle = -span / 2 + step * (index + 0.5)
        glyph = Image.new("RGBA", (80, 80), (255, 255, 255, 0))
        ImageDraw.Draw(glyph).text((40, 40), char, font=font, fill=SEAL_RED, anchor="mm")
        glyph = glyph.rotate(-angle, resample=Image.Resampling.BICUBIC)
        x = centre + radius * math.sin(math.radians(angle)) - 40
        y = centre - radius * math.cos(math.radians(angle)) - 40
        image.alpha_composite(glyph, (round(x), round(y)))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _stored(path: Path, draw) -> bytes:
    if not path.is_file():
        pki.write_public(path, draw())
    return path.read_bytes()


def signature_image(pki_dir: Path, username: str, full_name: str) -> bytes:
    """The officer's signature PNG, drawn and stored on first use."""
    path = Path(pki_dir) / "users" / f"{pki.check_username(username)}.signature.png"
    return _stored(path, lambda: draw_signature(full_name))


def seal_image(pki_dir: Path, agency_code: str, agency_name: str) -> bytes:
    """The agency's seal PNG, drawn and stored on first use."""
    path = Path(pki_dir) / "agencies" / f"{pki.check_username(agency_code)}.seal.png"
    return _stored(path, lambda: draw_seal(agency_name))


@lru_cache(maxsize=64)
def decoded(png: bytes) -> Image.Image:
    """The RGBA image of ``png``, decoded once per process (do not modify it)."""
    return Image.open(io.BytesIO(png)).convert("RGBA")
