"""What a local stand-in of an outside service keeps: JSON lines in a file under the data
directory, one per message it accepted, each with the idempotency key it came with. A file
lock serialises the processes that share the directory (the web server's stand-in page and
the worker's in-process sender)."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class JsonLinesStore:
    def __init__(self, directory: Path, name: str):
        self.directory = Path(directory)
        self.path = self.directory / f"{name}.jsonl"
        self._lock_path = self.directory / f"{name}.lock"

    @contextmanager
    def locked(self) -> Iterator[list[dict]]:
        """Hold the store's lock; yields what it holds (append with :meth:`append`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._read()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def append(self, line: dict) -> None:
        """Add one line (call it while :meth:`locked`)."""
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")

    def lines(self) -> list[dict]:
        with self.locked() as held:
            return held

    def _read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
