"""engine.step.sql: writes built once per shape and bound by name; the writes of a step
sent in order (as one statement on PostgreSQL) and every row written as given."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.models import CodeSequence
from engine.step.sql import Template, Write, insert_rows, insert_template, param, send

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
