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


def _checked_out(p) -> int:
    pool = p.db.engine.pool
    return pool.checkedout() if hasattr(pool, "checkedout") else 0


@pytest.mark.parametrize("driver_first", [True, False], ids=["driver-first", "orm-first"])
def test_a_write_transaction_commits_driver_and_orm_work_together(platform, driver_first):
    """A step's first statement goes on the driver (the transaction then begins on a
    connection of its own, which the session joins) or through the ORM (the session's own
    transaction): either way the ORM's autoflush, a savepoint and the flush before commit
    land in the same transaction, all committed at the end, and the connection goes back
    to the pool."""
    from engine.step.sql import run

    emails = select(Agency.email).where(Agency.code == AGENCY)
    before = _checked_out(platform)
    with platform.db.transaction() as session:
        if driver_first:
            assert run(session, emails, {}) == [(email(platform),)]
        agency = session.execute(select(Agency).where(Agency.code == AGENCY)).scalar_one()
        agency.email = "mot-cua@thanhhoa.gov.vn"
        # autoflush: a query sees the change, on the transaction's one connection
        assert session.execute(emails).scalar() == "mot-cua@thanhhoa.gov.vn"
        assert run(session, emails, {}) == [("mot-cua@thanhhoa.gov.vn",)]
        with pytest.raises(LookupError), session.begin_nested():
            agency.name_vi = "không giữ"
            session.flush()
            raise LookupError("the savepoint rolls back")
        agency.address = "35 Lê Lợi, Thanh Hóa"  # flushed at commit
        # a reader does not see any of it yet
        assert email(platform) != "mot-cua@thanhhoa.gov.vn"
    assert _checked_out(platform) == before
    with platform.db.read() as session:
        stored = session.execute(select(Agency).where(Agency.code == AGENCY)).scalar_one()
        assert (stored.email, stored.address) == ("mot-cua@thanhhoa.gov.vn", "35 Lê Lợi, Thanh Hóa")
        assert stored.name_vi != "không giữ"


@pytest.mark.parametrize("driver_first", [True, False], ids=["driver-first", "orm-first"])
@pytest.mark.parametrize("fails_in", ["block", "flush"])
def test_a_failed_write_transaction_leaves_nothing_and_its_objects_as_a_rollback_does(
        platform, driver_first, fails_in):
    """Whether the transaction began on the driver or in the session, and whether the
    block or the flush before commit fails: nothing is written, no after-commit work runs,
    the connection goes back to the pool, an object added in the transaction is no longer
    in any session and one it loaded is expired (its values were never committed), as
    SQLAlchemy's own rollback leaves them."""
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.exc import IntegrityError

    from engine.step.sql import run
    from engine.unit import unit_of

    before, seen = email(platform), []
    added = Agency(code=AGENCY if fails_in == "flush" else "000.00.99.X99",
                   name_vi="Trùng mã", email="x@y.vn")
    error = IntegrityError if fails_in == "flush" else LookupError
    with pytest.raises(error), platform.db.transaction() as session:
        if driver_first:
            run(session, select(Agency.email).where(Agency.code == AGENCY), {})
        unit_of(session).after_commit.append(lambda: seen.append("ran"))
        agency = session.execute(select(Agency).where(Agency.code == AGENCY)).scalar_one()
        agency.email = "x@y.vn"
        session.add(added)
        if fails_in == "block":
            raise LookupError("the rest of the work failed")
    assert seen == [] and email(platform) == before
    assert _checked_out(platform) == 0
    assert sa_inspect(added).transient
    state = sa_inspect(agency)
    assert state.detached and "email" in state.expired_attributes
    with platform.db.transaction() as session:  # the next one runs as usual
        assert run(session, select(Agency.email).where(Agency.code == AGENCY), {}) \
            == [(before,)]


def test_a_transaction_that_sends_nothing_commits_nothing_and_holds_no_connection(platform):
    before = _checked_out(platform)
    seen = []
    with platform.db.transaction() as session:
        from engine.unit import unit_of

        unit_of(session).after_commit.append(lambda: seen.append("ran"))
    assert seen == ["ran"] and _checked_out(platform) == before


@pytest.mark.parametrize("fails", [False, True], ids=["commits", "fails"])
def test_a_step_that_never_uses_the_orm_commits_and_rolls_back_its_objects(platform, fails):
    """A step whose statements all go on the driver (the dossier locked and its objects
    made from the row, the writes queued): its changed dossier is written at commit; when
    it fails before the session did anything, nothing is written, and the dossier object
    it held is expired and detached as after the session's own rollback."""
    from sqlalchemy import inspect as sa_inspect

    from engine.models import Dossier
    from engine.step import load
    from tests.engine.factories import submit

    code = submit(platform)
    with platform.db.read() as session:
        ident, note = session.execute(select(Dossier.id, Dossier.status)
                                      .where(Dossier.code == code)).one()
    with pytest.raises(LookupError) if fails else _nothing(), \
            platform.db.transaction() as session:
        dossier = load.lock_dossier(session, ident)
        assert not session.in_transaction()  # no ORM work: the session's own never began
        if fails:
            raise LookupError("the step failed")
        dossier.status = "testing"  # (a change begins the session's: it will flush it)
    with platform.db.read() as session:
        stored = session.execute(select(Dossier.status).where(Dossier.id == ident)).scalar()
    assert stored == (note if fails else "testing")
    assert _checked_out(platform) == 0
    state = sa_inspect(dossier)
    assert state.detached
    assert ("status" in state.expired_attributes) == fails


@contextmanager
def _nothing():
    yield
