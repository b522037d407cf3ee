"""The Alembic migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db import Database
from engine.migrate import is_initialised, revisions, upgrade
from engine.schema import metadata
from tests.conftest import reset_database


def test_migrations_match_the_models(database_url):
    db = Database(database_url)
    reset_database(db)
    try:
        upgrade(db)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        upgrade(db)  # a second upgrade is a no-op
    finally:
        reset_database(db)
        db.dispose()


def test_a_fresh_database_is_not_initialised_until_upgraded(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    try:
        current, head = revisions(db)
        assert current is None and head
        assert not is_initialised(db)
        upgrade(db)
        assert revisions(db) == (head, head)
        assert is_initialised(db)
    finally:
        db.dispose()
