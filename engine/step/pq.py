"""The step's statements on PostgreSQL sent with libpq's own calls, without psycopg's cursor.

A statement built once (:func:`engine.step.driver.driver_form`) costs psycopg's cursor more
client time in its Python layers — the query's conversion, its cache of prepared
statements, the generators that wait on the socket, the checks of the results — than
libpq spends sending it. Here it goes on the ``PGconn`` psycopg holds: prepared once per
connection under a name of ours (``motcua_<n>``; psycopg names its own ``_pg3_<n>``), its
values dumped by the connection's adapters as psycopg's cursor dumps them (a
``Transformer``: binary or text per type as psycopg chooses, the prepared statement kept
per SQL and parameter types, as psycopg keys its own), its rows loaded in the binary format
by the same Transformer — the rows the cursor gives. libpq's blocking calls release the
GIL in psycopg's C implementation, so another thread runs while a statement waits.

Transactions: psycopg begins one before a statement on an idle connection that is not in
autocommit; here the same ``BEGIN`` (its isolation level, read only or read write,
deferrable, as the connection is set) is sent the same way, and psycopg and SQLAlchemy,
which read the state from libpq, see the transaction begun.

Errors are psycopg's own (``psycopg.errors.error_from_result``), so SQLAlchemy wraps them
as it wraps the cursor's; a connection lost is a psycopg ``OperationalError`` and libpq
marks it bad, which SQLAlchemy reads as a disconnect.

Prepared statements lost: psycopg deallocates all of a connection's prepared statements,
ours too, when it rolls back a transaction or to a savepoint while it holds some of its
own. A rollback marks the connection (:func:`watch`) and its next statement here asks the
server which of ours remain. A statement that fails is prepared again on its next use (a
table altered: "cached plan must not change result type", or statements deallocated by a
command psycopg's cursor ran); outside a transaction (:meth:`engine.db.Database.rows`), or
first in a transaction begun here, at once.
"""

from __future__ import annotations

from itertools import count

from psycopg import IsolationLevel, errors
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus, Format, TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine

_KEY = "motcua_pq"  # the connection's state in its pool record's info
_KEPT = 256  # prepared statements kept per connection; the oldest deallocated beyond
_OK = (ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK)
_IDLE = TransactionStatus.IDLE
_RETRIED = (errors.InvalidSqlStatementName, errors.FeatureNotSupported)


class Connection:
    """What one driver connection keeps for this path: its Transformer and the names of
    the statements prepared on it by SQL and parameter types."""

    def __init__(self, driver_connection):
        self.driver_connection = driver_connection
        self.pgconn = driver_connection.pgconn
        self.transformer = Transformer(driver_connection)
        self.encoding = driver_connection.info.encoding
        self.names: dict[tuple, bytes] = {}
        self.numbers = count()
        #: Set by a rollback that may have deallocated every prepared statement.
        self.stale = False

    def run(self, sql: str, parameters: tuple, fetch: bool) -> list[tuple]:
        """Run ``sql`` (numbered parameters) with ``parameters``; its rows when ``fetch``."""
        pgconn, transformer = self.pgconn, self.transformer
        values = transformer.dump_sequence(parameters, [PyFormat.AUTO] * len(parameters))
        key, formats = (sql, transformer.types), transformer.formats
        outside = self.driver_connection.autocommit
        begun_here = not outside and pgconn.transaction_status == _IDLE
        if begun_here:
            self._check(pgconn.exec_(_begin(self.driver_connection)))
        # Outside a transaction, or first in one begun here, a statement whose prepared
        # form was lost or is outdated can be tried again: nothing else is undone.
        again = outside or begun_here
        if self.stale:
            self._refresh()
        while True:
            name = self.names.get(key) or self._prepare(key)
            result = pgconn.exec_prepared(name, values, formats, Format.BINARY)
            if result.status in _OK:
                break
            error = self._forget(key, result)
            if not (again and isinstance(error, _RETRIED)):
                raise error
            again = False
            if begun_here:  # the failed transaction begun anew
                self._check(pgconn.exec_(b"ROLLBACK"))
                self._check(pgconn.exec_(_begin(self.driver_connection)))
        if not fetch:
            return []
        transformer.set_pgresult(result)
        return transformer.load_rows(0, result.ntuples, tuple)

    def _prepare(self, key: tuple) -> bytes:
        if len(self.names) >= _KEPT:
            oldest = next(iter(self.names))
            self._check(self.pgconn.exec_(b"DEALLOCATE " + self.names.pop(oldest)))
        name = f"motcua_{next(self.numbers)}".encode()
        sql, types = key
        self._check(self.pgconn.prepare(name, sql.encode(self.encoding), types))
        self.names[key] = name
        return name

    def _refresh(self) -> None:
        """Keep the names of the statements still prepared on the server."""
        result = self._check(self.pgconn.exec_(
            b"SELECT name FROM pg_prepared_statements WHERE name LIKE 'motcua\\_%'"))
        live = {result.get_value(row, 0) for row in range(result.ntuples)}
        self.names = {key: name for key, name in self.names.items() if name in live}
        self.stale = False

    def _forget(self, key: tuple, result):
        """The error of a failed statement, its prepared form forgotten (all of them when
        the server has none of this name: deallocated together)."""
        error = self._error(result)
        if isinstance(error, errors.InvalidSqlStatementName):
            self.names.clear()
        else:
            self.names.pop(key, None)
        return error

    def _check(self, result):
        if result.status not in _OK:
            raise self._error(result)
        return result

    def _error(self, result) -> errors.Error:
        error = errors.error_from_result(result, encoding=self.encoding)
        if self.driver_connection.broken and not isinstance(error, errors.OperationalError):
            # libpq's own message for a lost connection has no SQLSTATE; psycopg's cursor
            # raises OperationalError for it
            return errors.OperationalError(result.get_error_message(self.encoding))
        return error


def _begin(driver_connection) -> bytes:
    """The ``BEGIN`` psycopg sends on ``driver_connection``, as its settings make it."""
    parts = [b"BEGIN"]
    if driver_connection.isolation_level is not None:
        level = IsolationLevel(driver_connection.isolation_level)
        parts.append(b"ISOLATION LEVEL " + level.name.replace("_", " ").encode())
    if driver_connection.read_only is not None:
        parts.append(b"READ ONLY" if driver_connection.read_only else b"READ WRITE")
    if driver_connection.deferrable is not None:
        parts.append(b"DEFERRABLE" if driver_connection.deferrable else b"NOT DEFERRABLE")
    return b" ".join(parts)


def sender(pooled) -> Connection:
    """This path's state of the pooled PostgreSQL connection ``pooled``."""
    driver_connection = pooled.driver_connection
    state = pooled.info.get(_KEY)
    if state is None or state.driver_connection is not driver_connection:
        state = pooled.info[_KEY] = Connection(driver_connection)
    return state


def watch(engine: Engine) -> None:
    """Mark a connection of ``engine`` whose rollback may deallocate its prepared
    statements (see the module docstring): psycopg rolls back only a connection in a
    transaction, and clears its statements on every rollback to a savepoint."""

    def mark(info: dict, driver_connection, savepoint: bool = False) -> None:
        state = info.get(_KEY)
        if state is not None and state.names and (
                savepoint or driver_connection.info.transaction_status != _IDLE):
            state.stale = True

    @event.listens_for(engine, "rollback")
    def _rollback(conn):
        if not conn.invalidated and not conn.closed:
            mark(conn.connection.info, conn.connection.driver_connection)

    @event.listens_for(engine, "rollback_savepoint")
    def _rollback_savepoint(conn, _name, _context):
        mark(conn.connection.info, conn.connection.driver_connection, savepoint=True)

    @event.listens_for(engine.pool, "reset")
    def _reset(driver_connection, record, _state):
        mark(record.info, driver_connection)
