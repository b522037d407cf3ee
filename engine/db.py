"""Database access: one engine per URL, two transaction helpers used everywhere.

:meth:`Database.transaction` is a unit of work that may write (:mod:`engine.unit`).
SQLite serialises writers: such a transaction starts with ``BEGIN IMMEDIATE`` so two
writers never both read stale state and then collide at commit. PostgreSQL locks the
rows it changes (``SELECT … FOR UPDATE``) and claims queue rows with ``SKIP LOCKED``.

:meth:`Database.read` is a read transaction: a deferred ``BEGIN`` on SQLite (in WAL mode
a reader never waits for a writer, nor blocks one), ``BEGIN READ ONLY`` on PostgreSQL.
Pages and API reads use it, so no page waits for a step.

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

from .columns import UTCDateTime, utcnow  # noqa: F401  (migrations name engine.db.UTCDateTime)
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
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


class Database:
    """A bound engine and session factory."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        options = {"motcua_read_only": True}
        if self.engine.dialect.name == "postgresql":
            options["postgresql_readonly"] = True
        self.read_sessions = sessionmaker(self.engine.execution_options(**options),
                                          expire_on_commit=False, autoflush=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit when the block ends normally, roll back on any error.

        Before the commit the unit's writes and audit events are sent; after it, the
        unit's after-commit work runs (:mod:`engine.unit`)."""
        session = self.sessions()
        unit = session.info[KEY] = Unit()
        try:
            with session.begin():
                yield session
                send_pending(session, unit)
        finally:
            session.close()
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

    def create_all(self) -> None:
        from .schema import metadata

        metadata.create_all(self.engine)

    def drop_all(self) -> None:
        from .schema import metadata

        metadata.drop_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
