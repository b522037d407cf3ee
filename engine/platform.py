"""The wired-up engine: settings, database, file storage. One per process."""

from __future__ import annotations

import gc
from pathlib import Path

from signing import fonts, keycache, providers, timestamps

from . import apologies, jobs, national, operators, outbox, registry, slips, sms, tracking
from .config import Settings
from .db import Database
from .storage import LocalStorage


def install() -> None:
    """Register the engine's service-task operators and kinds of job (idempotent): what a
    diagram may call and what runs after a step, declared here rather than as a side
    effect of importing the modules that define them."""
    operators.register(*operators.OPERATORS, *registry.OPERATORS, *slips.OPERATORS,
                       *tracking.OPERATORS, *apologies.OPERATORS)
    jobs.register("slip", slips.produce_slip)
    outbox.register_sender(national.KIND, national.deliver, ordered=True)
    outbox.register_sender(sms.KIND, sms.deliver)


def freeze_start_up() -> int:
    """Leave what start-up built out of the garbage collector's passes, and say how many
    objects that is: one full collection, then every object still alive (modules, the app,
    the diagrams' specs, SQLAlchemy's mappings) is frozen, so a later full collection walks
    only what the process has made since. With the app loaded, a full collection walked
    about 180,000 objects: 0.2-0.3 s on the project's 2-core machine, a pause that every
    request in the process waited out, and a few percent of every step's time in the smaller
    collections. Called once a server process has made its app (``motcua serve``) and once
    the worker has opened its platform; what start-up built and later drops stays in
    memory (it was alive at start-up: caches of that time)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class Platform:
    """Everything an engine function needs, passed as its first argument."""

    #: the environment's settings (or the ones given)
    settings: Settings
    #: the database: read and write transactions (:class:`engine.db.Database`)
    db: Database
    #: uploaded and generated files (``<data_dir>/files``)
    storage: LocalStorage

    def __init__(self, settings: Settings | None = None) -> None:
        install()
        self.settings = settings or Settings.from_env()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.database_url)
        self.storage = LocalStorage(self.settings.data_dir / "files")
        fonts.use_font_dir(self.settings.font_dir)  # signing/ reads no engine settings itself
        keycache.signer_cache.ttl = self.settings.signer_cache_ttl_seconds
        #: Where signing keys come from (settings ``signer``: key files or PKCS#11 tokens).
        self.signers = providers.provider_for(
            self.settings.signer, self.pki_dir,
            agency_passphrase=self.settings.agency_key_passphrase,
            pkcs11_lib=self.settings.pkcs11_lib,
            cache_ttl=self.settings.signer_cache_ttl_seconds)

    @property
    def pki_dir(self) -> Path:
        return self.settings.data_dir / "pki"

    def timestamper(self) -> timestamps.TimestampProvider | None:
        """Who timestamps signatures (settings ``tsa_url``): None for none (PAdES B-B); the
        stand-in is started on first use, once per process."""
        return timestamps.provider(self.settings.tsa_url, self.pki_dir,
                                   timeout=self.settings.tsa_timeout_seconds)

    def close(self) -> None:
        self.signers.close()
        self.db.dispose()
