"""Shared fixtures.

Every test that takes ``platform`` runs on SQLite, and again on PostgreSQL when
``MOTCUA_TEST_POSTGRES_URL`` answers (CI sets it). Each test gets empty tables and its
own data directory; the clock is reset afterwards. The initialised database is built once
and restored per test (tests/snapshot.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import clock
from engine.config import Settings

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("MOTCUA_TEST_POSTGRES_URL", "")


def _postgres_available() -> bool:
    if not POSTGRES_URL:
        return False
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


DATABASES = ["sqlite"] + (["postgresql"] if _postgres_available() else [])


def reset_database(db) -> None:
    """Empty the test database, whatever an earlier (perhaps crashed) run left in it."""
    if db.is_postgres:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    else:
        db.drop_all()


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'motcua.sqlite3'}"
    return POSTGRES_URL


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url,
                    secret_key="test-secret", bpmn_dir=REPO / "bpmn")


@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory) -> Path:
    """The demo PKI, generated once per test session (RSA keys are slow to make)."""
    from engine import demo, setup
    from engine.platform import Platform

    root = tmp_path_factory.mktemp("pki")
    p = Platform(Settings(data_dir=root, database_url=f"sqlite:///{root / 'pki.sqlite3'}",
                          bpmn_dir=root / "no-procedures"))
    (root / "no-procedures").mkdir()
    setup.init(p, migrate=False)
    demo.create_accounts(p, with_pki=True)
    p.close()
    return root / "pki"


def _scratch(factory) -> Path:
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = factory.mktemp("initialised")
    return _SCRATCH


_SCRATCH: Path | None = None


@pytest.fixture
def platform(settings, demo_pki, tmp_path_factory):
    """An initialised platform (schema, agencies, roles, every bundle in bpmn/) with the demo
    accounts and their signing certificates: built once per session and database, restored
    for each test (:mod:`tests.snapshot`)."""
    from engine.platform import Platform
    from tests import snapshot

    snapshot.prepare_database(settings, _scratch(tmp_path_factory))
    p = Platform(settings)
    snapshot.restore(p)
    shutil.copytree(demo_pki, p.pki_dir)
    yield p
    p.close()
    clock.reset()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes():
    """Argon2 with production parameters costs ~0.5 s a hash here; tests hash a lot."""
    from argon2 import PasswordHasher

    from engine import accounts

    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(autouse=True)
def _saves_as_the_library_saves(monkeypatch):
    """Every workflow the engine saves is saved as the library's own walk would save it
    (engine.spiff builds the state's dictionary itself, for speed)."""
    import engine.runtime
    from tests.scenario import saved_as_the_library_saves

    monkeypatch.setattr(engine.runtime, "dump_state_checked", saved_as_the_library_saves)


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()


@pytest.fixture
def identity_portal(platform):
    """The portal over HTTP (waitress on a free port) with the stand-in national identity
    provider on, as in the demo; its public URL is the served one (the stand-in's issuer)."""
    from tests.serving import serve
    from web import create_app

    platform.settings.oidc_stand_in = True
    with serve(create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})) as base:
        platform.settings.public_url = base
        yield base
