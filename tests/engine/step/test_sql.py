"""engine.step.sql: writes built once per shape and bound by name; the writes of a step
sent in order (as one statement on PostgreSQL) and every row written as given."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select, update

from engine.models import CodeSequence
from engine.step.sql import (
    Template,
    Write,
    first,
    insert_rows,
    insert_template,
    inserted,
    param,
    run,
    send,
)
from tests.engine.factories import submit

TABLE = CodeSequence.__table__


def _rows(p, prefix: str) -> list[tuple[str, int]]:
    with p.db.read() as session:
        return [tuple(r) for r in session.execute(
            select(CodeSequence.name, CodeSequence.last)
            .where(CodeSequence.name.like(f"{prefix}%")).order_by(CodeSequence.name))]


def test_an_insert_shape_is_built_once_and_bulk_inserts_are_not_kept():
    columns = ("last", "name")
    assert insert_template(TABLE, columns, 3) is insert_template(TABLE, columns, 3)
    assert insert_template(TABLE, columns, 3) is not insert_template(TABLE, columns, 2)
    assert insert_template(TABLE, columns, 40) is not insert_template(TABLE, columns, 40)


@pytest.mark.parametrize("n", [1, 3, 40])
def test_every_row_of_an_insert_is_written_as_given(platform, n):
    values = [{"name": f"sql-{n}-{i:02d}", "last": i * 7} for i in range(n)]
    with platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, values)])
    assert _rows(platform, f"sql-{n}-") == [(v["name"], v["last"]) for v in values]


BUMP = Template(lambda tag: update(TABLE).where(TABLE.c.name == param("name", tag=tag))
                .values(last=TABLE.c.last + param("by", tag=tag)))


@pytest.mark.parametrize("n", [1, 3])
def test_an_insert_sent_now_gives_back_the_columns_asked_of_its_rows(platform, n):
    values = [{"name": f"sql-now-{n}-{i}", "last": 10 + i} for i in range(n)]
    with platform.db.transaction() as session:
        back = inserted(session, TABLE, values, (CodeSequence.name, CodeSequence.last))
        assert sorted(back) == [(v["name"], v["last"]) for v in values]
        again = [{"name": f"sql-now-{n}-again-{i}", "last": i} for i in range(n)]
        assert len(inserted(session, TABLE, again, (CodeSequence.name,))) == n
    assert len(_rows(platform, f"sql-now-{n}-")) == 2 * n


def test_a_column_left_out_gets_its_default(platform):
    """SQLAlchemy computes a Python-side default at execution: a statement that leaves out
    such a column goes its way rather than the driver's, which would send NULL."""
    with platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, [{"name": "sql-default"}])])
        inserted(session, TABLE, [{"name": "sql-default-now"}], (CodeSequence.name,))
    assert _rows(platform, "sql-default") == [("sql-default", 0), ("sql-default-now", 0)]


def test_the_writes_of_a_step_each_apply_with_their_own_values(platform):
    # A step's writes touch different rows (on PostgreSQL they are one statement, one
    # snapshot: no write may depend on another's effect).
    with platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, [{"name": "sql-a", "last": 1},
                                           {"name": "sql-b", "last": 2}])])
    writes = [insert_rows(TABLE, [{"name": "sql-c", "last": 3}]),
              Write(BUMP, {"name": "sql-a", "by": 10}),
              Write(BUMP, {"name": "sql-b", "by": 100})]
    with platform.db.transaction() as session:
        send(session, writes)
    assert _rows(platform, "sql-") == [("sql-a", 11), ("sql-b", 102), ("sql-c", 3)]
    with platform.db.transaction() as session:  # the same shapes again: the same statement
        send(session, [insert_rows(TABLE, [{"name": "sql-d", "last": 4}]),
                       Write(BUMP, {"name": "sql-a", "by": 1000}),
                       Write(BUMP, {"name": "sql-c", "by": 1000})])
    assert _rows(platform, "sql-") == [("sql-a", 1011), ("sql-b", 102), ("sql-c", 1003),
                                       ("sql-d", 4)]


def test_a_plain_statement_goes_with_the_writes(platform):
    with platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, [{"name": "sql-e", "last": 5}])])
    with platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, [{"name": "sql-f", "last": 6}]),
                       update(TABLE).where(TABLE.c.name == "sql-e").values(last=50)])
    assert _rows(platform, "sql-") == [("sql-e", 50), ("sql-f", 6)]


def test_nothing_to_send_sends_nothing(platform):
    with platform.db.transaction() as session:
        send(session, [])
    assert _rows(platform, "sql-") == []


def test_a_failed_write_rolls_back_the_writes_sent_with_it(platform):
    with pytest.raises(Exception), platform.db.transaction() as session:  # noqa: B017
        send(session, [insert_rows(TABLE, [{"name": "sql-d", "last": 1}]),
                       insert_rows(TABLE, [{"name": "sql-d", "last": 2}])])  # same key
    assert _rows(platform, "sql-d") == []


# -- statements run on the driver's cursor (engine.step.sql.run) -------------------------

def _both(session, statement, params):
    """What SQLAlchemy's own path gives, and what :func:`run` gives."""
    orm = [tuple(row) for row in session.execute(statement, params)]
    return orm, run(session, statement, params)


def test_rows_come_back_converted_as_sqlalchemy_converts_them(platform):
    """Aware datetimes, parsed JSON, the same values in the same order on both databases."""
    from engine.models import AuditEvent, Dossier

    submit(platform)
    dossiers = select(Dossier.id, Dossier.code, Dossier.received_at, Dossier.due_at,
                      Dossier.data, Dossier.finished_at).order_by(Dossier.id)
    events = (select(AuditEvent.at, AuditEvent.detail, AuditEvent.action)
              .where(AuditEvent.action == bindparam("action")).order_by(AuditEvent.id))
    with platform.db.transaction() as session:
        for statement, params in ((dossiers, {}), (events, {"action": "submit"})):
            orm, driver = _both(session, statement, params)
            assert driver == orm and driver
        received = run(session, dossiers, {})[0][2]
        assert received.tzinfo is not None
        assert isinstance(run(session, dossiers, {})[0][4], dict)


def test_every_column_of_every_table_comes_back_as_sqlalchemy_gives_it(platform):
    """The driver path reads rows in the binary format on PostgreSQL: each table's every
    column (a saved workflow's bytes, JSON, times, flags, numbers) after a dossier has been
    received must read back as SQLAlchemy's own path reads it, on both databases."""
    from engine import tasks
    from engine.accounts import find_user
    from engine.schema import metadata
    from tests.engine.factories import reception_task

    code = submit(platform)
    tasks.complete(platform, find_user(platform, "motcua"), reception_task(platform, code),
                   {"reception_decision": "accept"})
    compared = 0
    with platform.db.transaction() as session:
        for table in metadata.sorted_tables:
            key = list(table.primary_key.columns) or list(table.columns)[:1]
            orm, driver = _both(session, select(table).order_by(*key), {})
            assert driver == orm, table.name
            assert [type(v) for row in driver for v in row] == \
                [type(v) for row in orm for v in row], table.name
            compared += len(driver)
    assert compared > 20


def test_first_names_the_columns_and_says_none_for_no_row(platform):
    statement = (select(CodeSequence.name, (CodeSequence.last * 2).label("twice"))
                 .where(CodeSequence.name == bindparam("name")))
    with platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, [{"name": "sql-first", "last": 21}])])
        row = first(session, statement, {"name": "sql-first"})
        assert (row.name, row.twice) == ("sql-first", 42)
        assert first(session, statement, {"name": "sql-none"}) is None


def test_a_statement_whose_sql_depends_on_its_values_goes_sqlalchemys_way(platform):
    statement = select(CodeSequence.name).where(CodeSequence.name.in_(bindparam("names",
                                                                                expanding=True)))
    with platform.db.transaction() as session:
        send(session, [insert_rows(TABLE, [{"name": "sql-in-a", "last": 1},
                                           {"name": "sql-in-b", "last": 2}])])
        assert sorted(run(session, statement, {"names": ["sql-in-a", "sql-in-b", "x"]})) == [
            ("sql-in-a",), ("sql-in-b",)]
        assert first(session, statement, {"names": ["sql-in-b"]}).name == "sql-in-b"
