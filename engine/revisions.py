"""Revisions: numbers the database moves whenever the tables they cover change.

A step counts working days with the calendar, which comes from two tables an
administrator edits a few times a year (``calendar_override``, ``platform_setting``).
Reading them costs a statement per step; keeping them in the process is safe only if the
process learns when they change — whoever changes them: the administrator's pages, another
process, a ``psql`` session. So the database itself keeps the count: triggers on the covered
tables move the ``revision`` row of their name on every insert, update and delete, in the
writer's own transaction, and a reader asks for the number in a statement it sends anyway
(:mod:`engine.step.facts`, :mod:`engine.calendar`). What it built under that number stays
good until the number moves.

The numbers are random, not counted up: a cache keyed by one never takes one database's
tables for another's (tests and benchmarks run many databases in one process, and a
recreated database would count again from the start), nor an older content for a newer
one after a backup is restored. The triggers are made by :func:`install`, which the
schema's ``create_all`` runs after creating the tables and migration 0018 runs on upgrade.
"""

from __future__ import annotations

from sqlalchemy import event, select, text

from .models import Revision

#: The calendar and every platform setting (:func:`engine.calendar.calendar_and_settings`).
CALENDAR = "calendar"

#: Each revision and the tables whose changes move it.
COVERS = {CALENDAR: ("calendar_override", "platform_setting")}

#: A revision's number, for a statement to select (None if the row is missing: then nothing
#: is cached, and every reader reads the tables).
CALENDAR_NUMBER = (select(Revision.n).where(Revision.name == CALENDAR).scalar_subquery()
                   .label("calendar_revision"))


#: A new number: random, so that no two contents of the tables share one, in any database,
#: whatever happens to it (a snapshot restored, a backup brought back while processes run).
PG_RANDOM = "(random() * 4e18)::bigint"
SQLITE_RANDOM = "abs(random() % 4000000000000000000)"


def statements(dialect: str) -> list[str]:
    """The SQL that creates the revision rows and their triggers on ``dialect``
    (``postgresql`` or ``sqlite``); running it again changes nothing."""
    out = []
    for name, tables in COVERS.items():
        if dialect == "postgresql":
            function = f"revision_{name}_moves"
            out += [
                f"INSERT INTO revision (name, n) VALUES ('{name}', {PG_RANDOM}) "
                f"ON CONFLICT (name) DO NOTHING",
                f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN UPDATE revision SET n = {PG_RANDOM} WHERE name = '{name}'; "
                f"RETURN NULL; END $$"]
            for table in tables:
                trigger = f"{table}_moves_{name}"
                out += [f"DROP TRIGGER IF EXISTS {trigger} ON {table}",
                        f"CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"]
        elif dialect == "sqlite":
            out.append(f"INSERT OR IGNORE INTO revision (name, n) VALUES ('{name}', "
                       f"{SQLITE_RANDOM})")
            for table in tables:
                for change in ("INSERT", "UPDATE", "DELETE"):
                    out.append(f"CREATE TRIGGER IF NOT EXISTS {table}_{change.lower()}_moves_"
                               f"{name} AFTER {change} ON {table} BEGIN UPDATE revision "
                               f"SET n = {SQLITE_RANDOM} WHERE name = '{name}'; END")
        else:
            raise ValueError(f"no revision triggers for the {dialect} dialect")
    return out


def install(connection) -> None:
    """Create the revision rows and triggers on ``connection`` (a Core connection)."""
    for statement in statements(connection.dialect.name):
        connection.execute(text(statement))


def drop(connection) -> None:
    """Remove the triggers and the PostgreSQL functions (:func:`install`'s undoing)."""
    dialect = connection.dialect.name
    for name, tables in COVERS.items():
        for table in tables:
            if dialect == "postgresql":
                connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_moves_{name} ON {table}"))
            else:
                for change in ("insert", "update", "delete"):
                    connection.execute(text(
                        f"DROP TRIGGER IF EXISTS {table}_{change}_moves_{name}"))
        if dialect == "postgresql":
            connection.execute(text(f"DROP FUNCTION IF EXISTS revision_{name}_moves()"))


def _after_create(metadata, connection, tables=(), **kw) -> None:
    if Revision.__table__ in tables:  # created now (not a subset of the tables without it)
        install(connection)


def attach(metadata) -> None:
    """Have ``metadata.create_all`` install the triggers once its tables exist."""
    if not event.contains(metadata, "after_create", _after_create):
        event.listen(metadata, "after_create", _after_create)
