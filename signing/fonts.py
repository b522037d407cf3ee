"""Locate the DejaVu TrueType fonts used for Vietnamese text in PDFs and signatures."""

from __future__ import annotations

import os
from pathlib import Path

from signing.errors import SigningError

SYSTEM_DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
SYSTEM_FONTS_DIR = Path("/usr/share/fonts")
INSTALL_HINT = "apt-get install fonts-dejavu-core or set MOTCUA_FONT_DIR"


def _file_names(bold: bool, serif: bool) -> list[str]:
    """Return candidate file names, preferred family first."""
    suffix = "-Bold.ttf" if bold else ".ttf"
    families = ["DejaVuSerif", "DejaVuSans"] if serif else ["DejaVuSans", "DejaVuSerif"]
    return [family + suffix for family in families]


def _search_dirs() -> list[Path]:
    """Return the directories searched directly, in order."""
    dirs = []
    env_dir = os.environ.get("MOTCUA_FONT_DIR")
    if env_dir:
        dirs.append(Path(env_dir))
    dirs.append(Path(__file__).resolve().parent / "fonts")  # optional package data
    dirs.append(SYSTEM_DEJAVU_DIR)
    return dirs


def font_path(bold: bool = False, serif: bool = True) -> Path:
    """Return the path of a DejaVu TTF able to draw Vietnamese.

    Looks for DejaVuSerif (or DejaVuSerif-Bold) first when ``serif`` is true, DejaVuSans
    otherwise, falling back to the other family. Directories are searched in this order:
    ``$MOTCUA_FONT_DIR``, ``signing/fonts/``, ``/usr/share/fonts/truetype/dejavu``, then
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
