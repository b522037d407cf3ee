"""Alembic, driven from code: ``motcua init`` upgrades to the newest revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    with db.engine.begin() as connection:
        config = alembic_config(db)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revisions(db: Database) -> tuple[str | None, str]:
    """``(current, head)``: the database's Alembic revision (None if it has none: never
    initialised, or built without migrations) and the newest one this code knows."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(db)).get_current_head() or ""
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, head


def is_initialised(db: Database) -> bool:
    """Whether ``motcua init`` has created the schema (its reference tables exist)."""
    from sqlalchemy import inspect

    with db.engine.connect() as connection:
        return inspect(connection).has_table("role")
