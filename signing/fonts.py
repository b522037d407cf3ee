"""Locate the DejaVu TrueType fonts used for Vietnamese text in PDFs and signatures, and
parse each once per process for fpdf2 (:func:`add_cached_font`)."""

from __future__ import annotations

import copy
import io
import pickle
import threading
from pathlib import Path

from signing.errors import SigningError

SYSTEM_DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
SYSTEM_FONTS_DIR = Path("/usr/share/fonts")
INSTALL_HINT = "apt-get install fonts-dejavu-core or set MOTCUA_FONT_DIR"
#: A folder searched first (the caller's setting, :func:`use_font_dir`); None: none.
font_dir: Path | None = None


def use_font_dir(directory: Path | str | None) -> None:
    """Search ``directory`` first from now on (None: only the usual places)."""
    global font_dir
    font_dir = Path(directory) if directory else None


def _file_names(bold: bool, serif: bool) -> list[str]:
    """Return candidate file names, preferred family first."""
    suffix = "-Bold.ttf" if bold else ".ttf"
    families = ["DejaVuSerif", "DejaVuSans"] if serif else ["DejaVuSans", "DejaVuSerif"]
    return [family + suffix for family in families]


def _search_dirs() -> list[Path]:
    """Return the directories searched directly, in order."""
    dirs = []
    if font_dir is not None:
        dirs.append(font_dir)
    dirs.append(Path(__file__).resolve().parent / "fonts")  # optional package data
    dirs.append(SYSTEM_DEJAVU_DIR)
    return dirs


def font_path(bold: bool = False, serif: bool = True) -> Path:
    """Return the path of a DejaVu TTF able to draw Vietnamese.

    Looks for DejaVuSerif (or DejaVuSerif-Bold) first when ``serif`` is true, DejaVuSans
    otherwise, falling back to the other family. Directories are searched in this order:
    :data:`font_dir` (``MOTCUA_FONT_DIR``), ``signing/fonts/``, ``/usr/share/fonts/truetype/dejavu``, then
    any directory under ``/usr/share/fonts``.

    Raises:
        SigningError: no suitable font is installed; the message gives the install hint.
    """
    names = _file_names(bold, serif)
    for directory in _search_dirs():
        for name in names:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    if SYSTEM_FONTS_DIR.is_dir():
        for name in names:
            for candidate in sorted(SYSTEM_FONTS_DIR.rglob(name)):
                if candidate.is_file():
                    return candidate
    raise SigningError(
        f"No Unicode font for Vietnamese text was found (looked for {' or '.join(names)}): "
        f"{INSTALL_HINT}."
    )


_PARSED_TABLES = ("head", "hhea", "maxp", "OS/2", "post", "cmap", "hmtx", "loca", "glyf",
                  "name")


class _ParsedFont:
    """One TrueType file parsed once per process by fpdf2 (metrics, cmap, widths), with a
    pickled copy of its fontTools tables from which each document gets its own."""

    def __init__(self, path: Path) -> None:
        from fontTools import ttLib
        from fpdf import FPDF

        self.stat = _stat(path)
        scratch = FPDF()
        scratch.add_font("master", "", str(path))
        self.master = scratch.fonts["master"]
        # The tables fpdf2 reads and subsets, parsed now; the others (GSUB, GPOS, hinting
        # programs…) stay raw bytes, as fpdf2's own lazy loading leaves them.
        ttfont = ttLib.TTFont(io.BytesIO(path.read_bytes()), lazy=True, recalcTimestamp=False)
        ttfont.getGlyphOrder()
        for tag in _PARSED_TABLES:
            if tag in ttfont:
                ttfont[tag]
        self.master.ttfont.close()  # fpdf2's copy keeps the file open (lazy loading)
        self.master.ttfont = ttfont
        self.tables = pickle.dumps(ttfont, protocol=pickle.HIGHEST_PROTOCOL)

    def for_document(self, fpdf, fontkey: str, style: str):
        """Return a TTFFont for ``fpdf`` sharing the parsed metrics, with fresh per-document
        state: glyph subset, missing glyphs, sizes and a private copy of the font tables
        (fpdf2 subsets those in place when it writes the document)."""
        from fpdf.enums import TextEmphasis
        from fpdf.fonts import SubsetMap

        font = copy.copy(self.master)
        font.i = len(fpdf.fonts) + 1
        font.fontkey = fontkey
        font.emphasis = TextEmphasis.coerce(style)
        font.ttfont = pickle.loads(self.tables)  # noqa: S301 - our own bytes, never input
        font.cw = self.master.cw.copy()  # a defaultdict: fpdf2 may add to it
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font._hbfont = None
        font.subset = SubsetMap(font)
        return font


#: False: every document parses its fonts again (fpdf2's own ``add_font``), for comparison.
cache_fonts = True
_parsed: dict[str, _ParsedFont] = {}
_parsed_lock = threading.Lock()


def _stat(path: Path) -> tuple:
    info = path.stat()
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def add_cached_font(fpdf, family: str, style: str, path: Path) -> None:
    """Like ``fpdf.add_font(family, style, path)``, but the file is parsed once per process
    (until it changes on disk). Each document still unpickles its own copy of the tables
    (fpdf2 subsets them in place), which costs less than parsing; ``python -m
    bench.signing`` measures the difference (render ~1.3x faster).

    fpdf2 2.8 has no font cache of its own; this builds its ``TTFFont`` once and gives each
    document a copy with its own subset state and font tables (see :class:`_ParsedFont`).
    """
    if not cache_fonts:
        fpdf.add_font(family, style, str(path))
        return
    key = str(Path(path).resolve())
    with _parsed_lock:
        parsed = _parsed.get(key)
        if parsed is None or parsed.stat != _stat(Path(key)):
            parsed = _parsed[key] = _ParsedFont(Path(key))
    fontkey = f"{family.lower()}{''.join(sorted(style.upper()))}"
    fpdf.fonts[fontkey] = parsed.for_document(fpdf, fontkey, style)
