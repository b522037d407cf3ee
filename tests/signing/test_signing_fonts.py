from pathlib import Path

import pytest

from signing import fonts
from signing.errors import SigningError


def test_finds_dejavu_serif_and_bold():
    regular = fonts.font_path()
    bold = fonts.font_path(bold=True)
    assert regular.name == "DejaVuSerif.ttf" and regular.is_file()
    assert bold.name == "DejaVuSerif-Bold.ttf" and bold.is_file()
    assert fonts.font_path(serif=False).name == "DejaVuSans.ttf"


def test_env_dir_comes_first(tmp_path, monkeypatch):
    (tmp_path / "DejaVuSans.ttf").write_bytes(fonts.font_path(serif=False).read_bytes())
    monkeypatch.setattr(fonts, "font_dir", tmp_path)
    # Serif is preferred but the chosen directory only has Sans: the directory wins.
    assert fonts.font_path() == tmp_path / "DejaVuSans.ttf"


def test_missing_fonts_give_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "font_dir", None)
    monkeypatch.setattr(fonts, "SYSTEM_DEJAVU_DIR", tmp_path / "none")
    monkeypatch.setattr(fonts, "SYSTEM_FONTS_DIR", tmp_path / "none")
    monkeypatch.setattr(fonts, "_search_dirs", lambda: [Path(tmp_path / "none")])
    with pytest.raises(SigningError, match="apt-get install fonts-dejavu-core"):
        fonts.font_path()
