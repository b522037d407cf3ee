"""One metadata for every table (engine/schema.py): the core tables and those beside the
features that own them, as create_all builds them."""

from sqlalchemy import create_engine, inspect

from engine.schema import metadata


def test_the_metadata_holds_the_core_payment_and_statistics_tables():
    assert {"dossier", "human_task", "agency", "user_account", "audit_event", "payment",
            "rating", "scorecard_rule"} <= set(metadata.tables)


def test_create_all_builds_every_table_with_its_foreign_keys(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    try:
        metadata.create_all(engine)
        inspector = inspect(engine)
        assert set(inspector.get_table_names()) == set(metadata.tables)
        targets = {fk["referred_table"] for fk in inspector.get_foreign_keys("payment")}
        assert targets == {"dossier"}
    finally:
        engine.dispose()
