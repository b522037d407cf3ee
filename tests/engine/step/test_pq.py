"""engine.step.pq: statements built once sent by libpq on PostgreSQL give the rows, errors
and transaction state psycopg's cursor gives, and survive psycopg's deallocations."""

from __future__ import annotations

import datetime as dt
import threading

import psycopg
import pytest
from psycopg import RawCursor
from psycopg.pq import Format, TransactionStatus
from sqlalchemy import event, func, literal, select, text
from sqlalchemy.exc import IntegrityError

from engine import accounts, tasks
from engine.step import pq
from engine.step.sql import run
from tests.engine.factories import reception_task, submit

VALUES = (
    dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=dt.timezone(dt.timedelta(hours=7))),
    psycopg.types.json.Json({"tên": "Nguyễn Văn Đức", "n": [1, 2.5, None, True]}),
    psycopg.types.json.Jsonb({"địa chỉ": "Hà Nội", "ok": False}),
    b"\x00\xffbytes\x01", True, False, None, "Thủ tục hành chính — Đắk Lắk", 7, 2**40,
    dt.date(2024, 1, 1),
)


@pytest.fixture
def pg(platform):
    if not platform.db.is_postgres:
        pytest.skip("libpq's path is PostgreSQL's")
    return platform


def _cursor_rows(driver_connection, sql: str, parameters: tuple) -> list[tuple]:
    cursor = RawCursor(driver_connection)
    cursor.format = Format.BINARY
    cursor.execute(sql, parameters)
    return cursor.fetchall()


def test_values_of_every_type_come_back_as_the_cursor_gives_them(pg):
    sql = "SELECT " + ", ".join(f"${i + 1}" for i in range(len(VALUES)))
    pooled = pg.db.engine.raw_connection()
    try:
        pooled.driver_connection.autocommit = True
        by_libpq = pq.sender(pooled).run(sql, VALUES, True)
        assert by_libpq == _cursor_rows(pooled.driver_connection, sql, VALUES)
        stored = pq.sender(pooled).run(  # and written, then read back by the cursor
            "CREATE TEMPORARY TABLE kinds AS SELECT $1::timestamptz AS t, $2::json AS j,"
            " $3::jsonb AS b, $4::bytea AS y, $8::text AS s, $7::text AS n", VALUES, False)
        assert stored == []
        assert _cursor_rows(pooled.driver_connection, "SELECT * FROM kinds", ()) == [
            (VALUES[0], VALUES[1].obj, VALUES[2].obj, VALUES[3], VALUES[7], None)]
    finally:
        pooled.driver_connection.autocommit = False
        pooled.close()


def test_a_steps_reads_give_the_rows_of_the_cursor(pg):
    sent: list[tuple] = []
    original = pq.Connection.run

    def recorded(self, sql, parameters, fetch):
        sent.append((sql, parameters, fetch))
        return original(self, sql, parameters, fetch)

    pq.Connection.run = recorded
    try:  # a submission and a claim
        tasks.claim(pg, accounts.find_user(pg, "motcua"), reception_task(pg, submit(pg)))
    finally:
        pq.Connection.run = original
    reads = [(sql, parameters) for sql, parameters, fetch in sent
             if fetch and sql.lstrip().startswith("SELECT")]
    assert len(reads) >= 3
    with pg.db.transaction() as session:
        pooled = session.connection().connection
        for sql, parameters in reads:
            found = pq.sender(pooled).run(sql, parameters, True)
            assert found == _cursor_rows(pooled.driver_connection, sql, parameters), sql


def test_a_failing_statement_raises_psycopgs_error_and_sqlalchemy_wraps_it(pg):
    pg.db.engine.dispose()
    with pg.db.transaction() as session:
        session.execute(text("CREATE TABLE once (k int PRIMARY KEY)"))
    insert = text("INSERT INTO once (k) VALUES (:k)")
    with pg.db.transaction() as session:
        run(session, insert, {"k": 1})
    with pytest.raises(IntegrityError) as failed, pg.db.transaction() as session:
        run(session, insert, {"k": 1})
    assert isinstance(failed.value.orig, psycopg.errors.UniqueViolation)
    with pg.db.transaction() as session:  # the connection rolled back, in use again
        assert run(session, select(literal(2)), {}) == [(2,)]


def test_the_transaction_begun_is_psycopgs_and_sqlalchemys(pg):
    pg.db.engine.dispose()
    with pg.db.transaction() as session:
        session.execute(text("CREATE TABLE kept (k int)"))
    pooled = pg.db.engine.raw_connection()
    try:
        connection = pooled.driver_connection
        pq.sender(pooled).run("INSERT INTO kept VALUES ($1)", (1,), False)
        assert connection.info.transaction_status == TransactionStatus.INTRANS
        connection.rollback()
        pq.sender(pooled).run("INSERT INTO kept VALUES ($1)", (2,), False)
        connection.commit()
        connection.read_only = True
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            pq.sender(pooled).run("INSERT INTO kept VALUES ($1)", (3,), False)
        connection.rollback()
    finally:
        pooled.driver_connection.read_only = None
        pooled.close()
    with pg.db.transaction() as session:
        assert [tuple(r) for r in session.execute(text("SELECT k FROM kept"))] == [(2,)]


def test_statements_outlive_psycopgs_deallocation_at_a_savepoints_rollback(pg):
    """psycopg deallocates every prepared statement when it rolls back to a savepoint while
    it holds some of its own; the step's statements after it are prepared again."""
    pg.db.engine.dispose()  # one connection
    statement = select(literal(1).label("one"))
    with pg.db.transaction() as session:
        run(session, statement, {})  # prepared by libpq's path
        for _ in range(6):  # prepared by psycopg
            session.connection().exec_driver_sql("SELECT 2")
        with pytest.raises(LookupError), session.begin_nested():
            session.connection().exec_driver_sql("SELECT 3")
            raise LookupError("rolled back to the savepoint")
        assert run(session, statement, {}) == [(1,)]


def test_statements_outlive_psycopgs_deallocation_at_a_rollback(pg):
    pg.db.engine.dispose()
    statement = select(literal(1).label("one"))
    with pytest.raises(LookupError), pg.db.transaction() as session:
        run(session, statement, {})
        for _ in range(6):
            session.connection().exec_driver_sql("SELECT 2")
        raise LookupError("rolled back")
    with pg.db.transaction() as session:
        assert run(session, statement, {}) == [(1,)]


def test_a_statement_whose_table_changed_is_prepared_again(pg):
    pg.db.engine.dispose()
    with pg.db.transaction() as session:
        session.execute(text("CREATE TABLE altered (a int)"))
        session.execute(text("INSERT INTO altered VALUES (1)"))
    statement = text("SELECT * FROM altered").columns()
    assert pg.db.rows(statement, {}) == [(1,)]
    with pg.db.transaction() as session:
        session.execute(text("ALTER TABLE altered ADD COLUMN b int"))
    assert pg.db.rows(statement, {}) == [(1, None)]  # outside a transaction: at once
    with pg.db.transaction() as session:
        assert run(session, statement, {}) == [(1, None)]
        session.execute(text("ALTER TABLE altered ADD COLUMN c int"))
    with pg.db.transaction() as session:  # first in a transaction: at once
        assert run(session, statement, {}) == [(1, None, None)]
        session.execute(text("ALTER TABLE altered ADD COLUMN d int"))
    with pytest.raises(Exception, match="cached plan must not change result type"), \
            pg.db.transaction() as session:  # later in one: it fails, as psycopg's would
        run(session, select(literal(1).label("one")), {})
        run(session, statement, {})
    with pg.db.transaction() as session:
        assert run(session, statement, {}) == [(1, None, None, None)]


def test_statements_deallocated_by_a_command_are_prepared_again(pg):
    """psycopg's cursor deallocates every prepared statement after a DROP while it holds
    some of its own; the next transaction's first statement here is prepared again."""
    pg.db.engine.dispose()
    statement = select(literal(1).label("one"))
    with pg.db.transaction() as session:
        run(session, statement, {})
        for _ in range(6):
            session.connection().exec_driver_sql("SELECT 2")
        session.connection().exec_driver_sql("CREATE TEMPORARY TABLE gone (a int)")
        session.connection().exec_driver_sql("DROP TABLE gone")
    with pg.db.transaction() as session:
        assert run(session, statement, {}) == [(1,)]


def test_another_thread_runs_while_a_statement_waits(pg):
    """libpq's blocking call releases the GIL: this thread sees the other's statement
    running on the server."""
    backend: list[int] = []
    ready = threading.Event()

    def sleeper():
        with pg.db.transaction() as session:
            backend.append(run(session, select(func.pg_backend_pid()), {})[0][0])
            ready.set()
            run(session, text("SELECT pg_sleep(0.3)"), {})

    worker = threading.Thread(target=sleeper)
    worker.start()
    ready.wait()
    seen = []
    while worker.is_alive() and not seen:
        seen = pg.db.rows(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid AND"
                               " state = 'active' AND query LIKE '%pg_sleep%'"),
                          {"pid": backend[0]})
    worker.join()
    assert seen


def test_cursor_events_see_the_statement(pg):
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((type(cursor), statement, parameters))

    event.listen(pg.db.engine, "before_cursor_execute", before)
    try:
        with pg.db.transaction() as session:
            run(session, select(literal(5).label("five")), {})
    finally:
        event.remove(pg.db.engine, "before_cursor_execute", before)
    assert seen == [(RawCursor, "SELECT $1::INTEGER AS five", (5,))]
