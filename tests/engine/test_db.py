"""engine.db: a read transaction never waits for a writer and cannot write; a write
transaction commits whole or not at all."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from engine.models import Agency

AGENCY = "000.00.14.H56"


def email(p) -> str:
    with p.db.read() as session:
        return session.execute(select(Agency.email).where(Agency.code == AGENCY)).scalar()


@contextmanager
def uncommitted(p, statement):
    """While the block runs, another connection holds ``statement`` written and not yet
    committed (its transaction open, its locks held); it commits when the block ends."""
    writing, done = threading.Event(), threading.Event()

    def writer():
        with p.db.transaction() as session:
            session.execute(statement)
            writing.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(10)
        yield
    finally:
        done.set()
        thread.join()


def test_a_read_does_not_wait_for_a_writer_and_sees_only_committed_data(platform):
    before = email(platform)
    with uncommitted(platform, update(Agency).where(Agency.code == AGENCY)
                     .values(email="dang-ghi@thanhhoa.gov.vn")):
        assert email(platform) == before  # answered while the writer holds its lock
    assert email(platform) == "dang-ghi@thanhhoa.gov.vn"


def test_a_read_transaction_refuses_to_write_on_postgresql(platform):
    if not platform.db.is_postgres:
        pytest.skip("SQLite has no read-only transactions; reads there only skip the write lock")
    with pytest.raises(DBAPIError, match="read-only"), platform.db.read() as session:
        session.execute(update(Agency).where(Agency.code == AGENCY).values(email="x@y.vn"))
    assert email(platform) != "x@y.vn"


def test_a_write_transaction_that_fails_leaves_nothing(platform):
    before = email(platform)
    with pytest.raises(LookupError), platform.db.transaction() as session:
        session.execute(update(Agency).where(Agency.code == AGENCY).values(email="x@y.vn"))
        raise LookupError("the rest of the work failed")
    assert email(platform) == before


def test_rows_reads_what_a_read_transaction_reads_with_the_same_values(platform):
    """Database.rows (one statement, autocommit on PostgreSQL) gives the rows a read
    transaction gives: aware UTC datetimes, JSON parsed, NULLs kept."""
    from engine import audit
    from engine.models import AuditEvent

    statement = select(Agency.code, Agency.name_vi, Agency.parent_id).order_by(Agency.code)
    with platform.db.read() as session:
        expected = [tuple(row) for row in session.execute(statement)]
    assert platform.db.rows(statement, {}) == expected and expected
    assert any(row[2] is None for row in expected)
    events = select(AuditEvent.at, AuditEvent.detail, AuditEvent.action).order_by(AuditEvent.id)
    with platform.db.transaction() as session:
        audit.append(session, actor="test", action="note", detail={"ghi_chú": "Đã nhận"})
    rows = platform.db.rows(events, {})
    assert rows[-1][0].utcoffset().total_seconds() == 0 and rows[-1][1] == {"ghi_chú": "Đã nhận"}
    with platform.db.read() as session:
        assert rows == [tuple(row) for row in session.execute(events)]


def test_rows_does_not_wait_for_a_writer_and_leaves_no_transaction_open(platform):
    """One statement on the driver in autocommit (both databases): answered while a step
    holds its write lock, with the last committed data; the connection goes back to the
    pool idle, so the next writer is not blocked by it."""
    statement = select(Agency.email).where(Agency.code == AGENCY)
    before = platform.db.rows(statement, {})
    with uncommitted(platform, update(Agency).where(Agency.code == AGENCY)
                     .values(email="dang-ghi@thanhhoa.gov.vn")):
        assert platform.db.rows(statement, {}) == before
    assert platform.db.rows(statement, {}) == [("dang-ghi@thanhhoa.gov.vn",)]
    with platform.db.transaction() as session:  # would wait (or fail) behind an open read
        session.execute(update(Agency).where(Agency.code == AGENCY).values(email=before[0][0]))
    assert platform.db.rows(statement, {}) == before


def test_read_when_needed_rolls_back_on_an_error_and_reads_when_used(platform):
    with platform.db.read_when_needed():
        pass  # nothing used, nothing opened: no error either
    with platform.db.read_when_needed() as session:
        assert session.execute(select(Agency.code).where(Agency.code == AGENCY)).scalar() \
            == AGENCY
    with pytest.raises(LookupError), platform.db.read_when_needed() as session:
        session.execute(select(Agency.code)).all()
        raise LookupError("the block failed")
    assert email(platform)  # the pool is healthy afterwards


def test_a_sqlite_write_transaction_takes_the_write_lock_at_its_begin(platform, tmp_path):
    """SQLite: ``BEGIN IMMEDIATE`` is sent on the driver, seen by the engine's cursor
    listeners, and holds the database's write lock from the transaction's first statement
    (another writer cannot begin), while a read begins a deferred transaction."""
    if platform.db.is_postgres:
        pytest.skip("SQLite's locking")
    import sqlite3

    from sqlalchemy import event

    seen = []

    def sent(conn, cursor, statement, *args):
        seen.append(statement)

    other = sqlite3.connect(platform.db.engine.url.database, timeout=0, isolation_level=None)
    event.listen(platform.db.engine, "before_cursor_execute", sent)
    try:
        with platform.db.read() as session:
            session.execute(select(Agency.id).limit(1))
            other.execute("BEGIN IMMEDIATE")  # a read leaves the write lock free
            other.execute("ROLLBACK")
        with platform.db.transaction() as session:
            session.execute(select(Agency.id).limit(1))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", sent)
        other.close()
    assert seen[0] == "BEGIN" and "BEGIN IMMEDIATE" in seen


def test_a_connection_whose_statement_failed_serves_the_next_transactions(platform):
    """A statement that fails on the driver path (here a duplicate key) rolls back its
    transaction; the pooled connection, and the driver cursor PostgreSQL keeps with it,
    then serve the next write, read and one-statement read as usual."""
    from sqlalchemy.exc import IntegrityError

    from engine.models import CodeSequence
    from engine.step.sql import insert_rows, run, send

    table = CodeSequence.__table__
    names = select(CodeSequence.name, CodeSequence.last).where(
        CodeSequence.name.like("db-kept%")).order_by(CodeSequence.name)
    with platform.db.transaction() as session:
        send(session, [insert_rows(table, [{"name": "db-kept-1", "last": 1}])])
    for _ in range(3):  # more failures than the pool has connections in use
        with pytest.raises(IntegrityError), platform.db.transaction() as session:
            send(session, [insert_rows(table, [{"name": "db-kept-1", "last": 2}])])
    with platform.db.transaction() as session:
        send(session, [insert_rows(table, [{"name": "db-kept-2", "last": 3}])])
        assert run(session, names, {}) == [("db-kept-1", 1), ("db-kept-2", 3)]
    assert platform.db.rows(names, {}) == [("db-kept-1", 1), ("db-kept-2", 3)]
