"""Where file contents live. Rows in ``document`` describe files; a storage backend holds
the bytes under a content-addressed key. The local directory is the default; an
S3-compatible store can implement the same three methods."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Upload:
    """A file as received from a user, before it is stored."""

    filename: str
    media_type: str
    content: bytes


class Storage(Protocol):
    def put(self, content: bytes) -> str: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...


class LocalStorage:
    """Content-addressed files under ``root``: the key is the SHA-256 of the bytes.

    Writing the same bytes twice stores them once. A file is written to a temporary name,
    flushed to the disk, then renamed, and the rename is flushed too, before its key is
    returned: the row that names the key is committed durably after that, so neither a
    crash nor a power cut leaves a committed document without its file, nor a
    half-written file under a real key.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def put(self, content: bytes) -> str:
        key = hashlib.sha256(content).hexdigest()
        path = os.path.join(self.root, key[:2], key)  # not a Path: every upload asks
        if not os.path.exists(path):
            folder = os.path.dirname(path)
            made = not os.path.isdir(folder)
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(content)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            _sync_directory(folder)
            if made:  # the new folder's own entry
                _sync_directory(os.path.dirname(folder))
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


def _sync_directory(folder: str) -> None:
    """Flush a folder's entries (a rename, a new file) to the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
