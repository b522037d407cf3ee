"""The wired-up engine: settings, database, file storage. One per process."""

from __future__ import annotations

from .config import Settings
from .db import Database
from .storage import LocalStorage


class Platform:
    """Everything an engine function needs, passed as its first argument."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.database_url)
        self.storage = LocalStorage(self.settings.data_dir / "files")

    @property
    def pki_dir(self):
        return self.settings.data_dir / "pki"

    def close(self) -> None:
        self.db.dispose()
