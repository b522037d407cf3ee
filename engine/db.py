"""Database access: one engine per URL, two transaction helpers used everywhere.

:meth:`Database.transaction` is a unit of work that may write (:mod:`engine.unit`).
SQLite serialises writers: such a transaction starts with ``BEGIN IMMEDIATE`` so two
writers never both read stale state and then collide at commit. PostgreSQL locks the
rows it changes (``SELECT … FOR UPDATE``) and claims queue rows with ``SKIP LOCKED``.

:meth:`Database.read` is a read transaction: a deferred ``BEGIN`` on SQLite (in WAL mode
a reader never waits for a writer, nor blocks one), ``BEGIN READ ONLY`` on PostgreSQL.
Pages and API reads use it, so no page waits for a step.

:meth:`Database.rows` is for a hot read of ONE statement (the status look-up, a dossier's
open tasks): it runs on the driver's cursor in autocommit — one statement is one snapshot,
so there is no ``BEGIN``/``COMMIT`` (on PostgreSQL two round trips) and no session — with
the SQL compiled once. SQLite's connections are in autocommit already (SQLAlchemy sends
every ``BEGIN`` itself), and in WAL mode a lone ``SELECT`` reads one snapshot without
waiting for a writer.

Connections are not pinged on every checkout (a round trip per transaction); they are
recycled after half an hour, and one the server dropped fails a single transaction,
which rolls back whole, and is replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

from .columns import UTCDateTime, utcnow  # noqa: F401  (migrations name engine.db.UTCDateTime)
from .step import pq
from .step.driver import driver_form, on_cursor
from .step.store import send_pending
from .unit import KEY, Unit


def make_engine(url: str) -> Engine:
    """Create the SQLAlchemy engine for ``url`` with the locking behaviour described above."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLite's lower() folds ASCII only; searches (engine.inbox) need "Đ" → "đ".
            dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            read_only = conn.get_execution_options().get("motcua_read_only")
            begin_on_driver(conn, "BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20)
    pq.watch(engine)
    return engine


def begin_on_driver(conn, sql: str) -> None:
    """Send SQLite's ``BEGIN`` on the connection's own driver cursor
    (:func:`engine.step.driver.on_cursor`: cursor events, echo log and SQLAlchemy's error
    handling kept). SQLAlchemy's ``exec_driver_sql`` would build an execution context and
    a result for a statement that has neither parameters nor rows, and that cost several
    times the statement itself in every transaction."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        on_cursor(conn, cursor, sql, (), fetch=False)
    finally:
        cursor.close()


def _roll_back(session: Session, unit: Unit) -> None:
    """Roll back a :meth:`Database.transaction` that failed, as the session's rollback
    does: the connection's transaction, and the session's objects — those added in it
    expunged, every other one expired (a session that had not begun its own transaction,
    :meth:`engine.unit.Unit.connect`, begins one to roll it back, the objects it holds
    being those of the failed transaction all the same)."""
    try:
        if not session.in_transaction():
            session.begin()
        session.rollback()
    finally:  # the session rolled it back if it had joined it
        if unit.transaction is not None and unit.transaction.is_active:
            unit.transaction.rollback()


def _lower(value):
    return value.lower() if isinstance(value, str) else value


class Database:
    """A bound engine and session factory."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        # A session joins a connection whose transaction a unit began (engine.unit): it
        # never commits that transaction, and rolls it back on an error in the ORM.
        self.sessions = sessionmaker(self.engine, expire_on_commit=False,
                                     join_transaction_mode="rollback_only")
        options = {"motcua_read_only": True}
        if self.engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        self.read_sessions = sessionmaker(self.engine.execution_options(**options),
                                          expire_on_commit=False, autoflush=False)
        self._disconnects = (self.engine.dialect.loaded_dbapi.OperationalError
                             if self.is_postgres else ())

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit when the block ends normally, roll back on any error.

        Before the commit the unit's writes and audit events are sent; after it, the
        unit's after-commit work runs (:mod:`engine.unit`)."""
        session = self.sessions()
        unit = session.info[KEY] = Unit(engine=self.engine)
        try:
            try:
                yield session
                send_pending(session, unit)
                if unit.transaction is None:
                    session.commit()
                else:  # begun by the unit (engine.unit.Unit.connect): the session joined it
                    unit.transaction.commit()
            except BaseException:
                _roll_back(session, unit)
                raise
        finally:
            session.close()  # a connection the session joined is the unit's to close
            if unit.transaction is not None:
                unit.connection.close()
        unit.committed()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction (see the module docstring): it never takes the write lock
        and never waits for a step. Writing in it fails on PostgreSQL."""
        session = self.read_sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def read_when_needed(self) -> Iterator[Session]:
        """A :meth:`read` that begins only if the block uses the session — for a block that
        usually answers from what it has (a :meth:`rows` result, the in-process caches)."""
        deferred = _Deferred(self)
        try:
            yield deferred  # type: ignore[misc]  (it stands for the Session it opens)
        except BaseException as error:
            deferred.close(error)
            raise
        deferred.close()

    def rows(self, statement: Executable, params: dict) -> list[tuple]:
        """The rows of one SELECT as tuples in its column order, values as SQLAlchemy would
        give them (aware datetimes, parsed JSON). See the module docstring: autocommit on a
        pooled driver connection, the statement compiled once for the driver
        (:func:`engine.step.driver.driver_form`; on PostgreSQL prepared once per connection and
        sent by libpq, :mod:`engine.step.pq`). A statement whose SQL depends on its values
        runs in a :meth:`read`."""
        driver = driver_form(statement, self.engine.dialect)
        if driver is None:
            with self.read() as session:
                return [tuple(row) for row in session.execute(statement, params)]
        pooled = self.engine.raw_connection()
        try:
            if self.is_postgres:
                connection = pooled.driver_connection
                connection.autocommit = True  # no BEGIN: idle, so a local flag, no round trip
                try:
                    found = _fetch(driver, pooled, params)
                finally:
                    connection.autocommit = False
            else:
                found = _fetch(driver, pooled, params)
        except self._disconnects as error:  # a dropped connection: not back into the pool
            pooled.invalidate(error)
            raise
        finally:
            pooled.close()
        return driver.converted(found)

    def create_all(self) -> None:
        from .schema import metadata

        metadata.create_all(self.engine)

    def drop_all(self) -> None:
        from .schema import metadata

        metadata.drop_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _fetch(driver, pooled, params: dict) -> list:
    send = driver.raw_cursor and pq.sender(pooled)
    if send:  # PostgreSQL's: by libpq (engine.step.pq)
        return send.run(driver.sql, driver.parameters(params), True)
    cursor = driver.cursor(pooled)
    try:
        cursor.execute(driver.sql, driver.parameters(params))
        return cursor.fetchall()
    finally:
        driver.done(cursor)


class _Deferred:
    """The session of :meth:`Database.read_when_needed`: opened on first use."""

    def __init__(self, db: Database):
        self._db, self._opened, self._session = db, None, None

    def __getattr__(self, name: str):
        if self._session is None:
            self._opened = self._db.read()
            self._session = self._opened.__enter__()
        return getattr(self._session, name)

    def close(self, error: BaseException | None = None) -> None:
        if self._opened is not None:  # rolls back on an error, as read() does
            self._opened.__exit__(type(error) if error else None, error,
                                  error.__traceback__ if error else None)
