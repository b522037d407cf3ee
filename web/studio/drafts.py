"""An analyst's staged edits (bản nháp) to one procedure, kept until deployed or discarded.

A draft holds the files an analyst changed — the diagram saved from the modeler, forms
saved from the form editor — on top of the version they opened (``base``). Deploying
sends the version's files with the draft's on top, so a form edited in the form editor
goes out with the diagram.

Drafts are scratch work, not records: they live as one JSON file per analyst and
procedure under the data directory (``studio-drafts/<user id>/<procedure>.json``), not in
the session cookie (a diagram is tens of kilobytes) and not in the database (what the
platform records is the deployed, immutable version). Several web servers need a shared
data directory to share drafts — as they already do for uploaded files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_SAFE_CODE = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


@dataclass
class Draft:
    base: int  # the version number the edits start from
    files: dict[str, str] = field(default_factory=dict)


def _path(data_dir: Path, user_id: int, code: str) -> Path:
    """The draft's file; a code that is no safe file name is hashed."""
    name = code if _SAFE_CODE.match(code) and not code.startswith(".") else \
        hashlib.sha256(code.encode()).hexdigest()
    return Path(data_dir) / "studio-drafts" / str(int(user_id)) / f"{name}.json"


def load(data_dir: Path, user_id: int, code: str) -> Draft | None:
    """The user's draft of procedure ``code``, or None."""
    path = _path(data_dir, user_id, code)
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return Draft(base=int(raw["base"]), files=dict(raw.get("files") or {}))


def save_file(data_dir: Path, user_id: int, code: str, base: int, name: str, text: str) -> Draft:
    """Stage ``name`` in the draft based on version ``base``; a draft on another version
    is replaced (the editor warned about it before)."""
    draft = load(data_dir, user_id, code)
    if draft is None or draft.base != base:
        draft = Draft(base=base)
    draft.files[name] = text
    _write(_path(data_dir, user_id, code), draft)
    return draft


def discard(data_dir: Path, user_id: int, code: str) -> None:
    _path(data_dir, user_id, code).unlink(missing_ok=True)


def compose(version_files: dict[str, str], draft: Draft | None, base: int) -> dict[str, str]:
    """The bundle an analyst is working on: the version's files with the draft's on top
    (when the draft starts from this version)."""
    files = dict(version_files)
    if draft is not None and draft.base == base:
        files.update(draft.files)
    return files


def _write(path: Path, draft: Draft) -> None:
    """Write atomically: a reader never sees half a draft."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".draft-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"base": draft.base, "files": draft.files}, handle, ensure_ascii=False)
    os.replace(tmp, path)
