"""A statement compiled once per dialect as the driver takes it, and SQL sent on a driver
cursor as SQLAlchemy would send it.

Building a statement's SQL and finding its compiled form cost SQLAlchemy more client time
than the database spends on a statement of a step, and so do the execution context and
the result object it makes for every execution. A statement built once (a module's
constant read, a template of :mod:`engine.step.sql`, the combined writes of a step) is
compiled here once per dialect into the driver's form (:func:`driver_form`): its SQL, its
parameters in the driver's order, the conversions of its values and rows (SQLAlchemy's
processors, fused where :mod:`engine.step.convert` knows the type). :func:`on_cursor`
sends SQL on a driver cursor with what matters of SQLAlchemy's execution kept: the
connection's cursor events, its echo log and its error handling. On PostgreSQL the
statement's named parameters are numbered for psycopg's raw cursor, one kept per
connection, and sent by libpq (:mod:`engine.step.pq`).

Such a statement runs in the session's transaction by :func:`engine.step.sql.run`, and
in autocommit by :meth:`engine.db.Database.rows`.
"""

from __future__ import annotations

import re
import threading
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import InvalidRequestError

from . import pq
from .convert import bind as bind_conversion
from .convert import result as result_conversion


@dataclass(frozen=True, eq=False)
class Driver:
    """A statement compiled once for one dialect, as the driver takes it: its SQL, its
    parameters in order (``None`` for named parameters), the defaults of the values it
    holds, the conversions of its values (SQLAlchemy's bind processors) and of its result
    columns (result processors), each fused into one function where
    :mod:`engine.step.convert` knows its type."""

    sql: str
    order: tuple[str, ...] | None
    #: PostgreSQL's: psycopg's raw cursor, for SQL with numbered parameters (``$1``),
    #: which it sends as it is (its usual cursor parses the SQL for names on every run
    #: when the statement is long, as a step's one statement is).
    raw_cursor: type | None
    defaults: dict
    binds: tuple[tuple[str, Callable], ...]
    #: Each parameter in order, with its default and conversion (None: sent as it is).
    positions: tuple[tuple[str, object, Callable | None], ...]
    results: tuple[tuple[int, Callable], ...]
    #: Its rows as named tuples (a SELECT's), by the names of its columns.
    row: type | None

    def parameters(self, params: dict) -> dict | tuple:
        """The driver's parameters for the statement's values ``params``."""
        if self.order is None:
            values = {**self.defaults, **params}
            for name, convert in self.binds:
                values[name] = convert(values[name])
            return values
        # A value given, else the statement's own: what {**defaults, **params} would hold.
        get = params.get
        return tuple([get(name, default) if convert is None else convert(get(name, default))
                      for name, default, convert in self.positions])

    def cursor(self, connection):
        """A cursor of the pooled DBAPI ``connection`` that takes :attr:`sql`; give it back
        with :meth:`done`.

        On PostgreSQL it is the connection's own raw cursor, kept with it for every
        statement: a psycopg cursor finds the conversion of each result column and each
        value by its type once, and a new cursor per statement paid for all of them again
        (a locked read has 82 columns). Its rows come in the binary format: the same values
        (psycopg has a binary loader for every type a table here has), for less work on both
        sides — a saved workflow (``bytea``) arrives as its bytes instead of twice as many
        hex digits, and times and numbers are not parsed from text."""
        if self.raw_cursor is None:
            return connection.cursor()
        kept = connection.info.get(_KEPT_CURSOR)  # dropped with the connection's record
        driver_connection = connection.driver_connection
        if kept is None or kept.connection is not driver_connection or kept.closed:
            from psycopg.pq import Format

            kept = connection.info[_KEPT_CURSOR] = self.raw_cursor(driver_connection)
            kept.format = Format.BINARY
        return kept

    def done(self, cursor) -> None:
        """Give back a cursor of :meth:`cursor` (SQLite's is closed; PostgreSQL's kept)."""
        if self.raw_cursor is None:
            cursor.close()

    def converted(self, found: list) -> list[tuple]:
        """The rows ``found`` with their values as SQLAlchemy gives them."""
        if self.results:
            for number, row in enumerate(found):
                row = list(row)
                for index, convert in self.results:
                    row[index] = convert(row[index])
                found[number] = tuple(row)
        return found


_DRIVER: dict = {}
#: The key of a pooled PostgreSQL connection's kept cursor in its record's ``info``.
_KEPT_CURSOR = "motcua_cursor"
_NOT_DRIVER = object()  # a statement the driver cannot take as compiled (see _compile)
_LOCK = threading.Lock()


def driver_form(statement, dialect) -> Driver | None:
    """``statement`` compiled for ``dialect``'s driver (once: statements built once are
    kept by identity), or None when its SQL is only known at execution time."""
    key = (statement, dialect.name)
    driver = _DRIVER.get(key)
    if driver is None:
        driver = _compile(statement, dialect)
        with _LOCK:
            if len(_DRIVER) >= 2048:
                _DRIVER.clear()
            _DRIVER[key] = driver
    return None if driver is _NOT_DRIVER else driver


def _compile(statement, dialect):
    """The statement's :class:`Driver` form, or ``_NOT_DRIVER`` when its SQL is only known
    at execution time (an expanding ``IN``, a value rendered in the SQL, escaped names)."""
    compiled = statement.compile(dialect=dialect)
    sql = str(compiled)
    if ("__[POSTCOMPILE_" in sql or compiled.escaped_bind_names
            or (compiled.positional and compiled.positiontup is None)):
        return _NOT_DRIVER
    if compiled.insert_prefetch or compiled.update_prefetch:  # a default SQLAlchemy computes
        return _NOT_DRIVER
    results, row = (), None
    selected = (statement.selected_columns if getattr(statement, "is_select", False)
                else statement.exported_columns if getattr(statement, "_returning", ())
                else None)
    if selected is not None:  # a SELECT's or a RETURNING's rows
        try:
            processors = [(column.type, column.type.dialect_impl(dialect).result_processor(
                dialect, None)) for column in selected]
        except (TypeError, InvalidRequestError):
            # a conversion SQLAlchemy chooses by the type the server sends (PostgreSQL's
            # numeric types): only known at execution time
            return _NOT_DRIVER
        results = tuple((index, result_conversion(type_, dialect, reference))
                        for index, (type_, reference) in enumerate(processors)
                        if reference is not None)
        row = namedtuple("Row", list(selected.keys()), rename=True)
    order = tuple(compiled.positiontup) if compiled.positional else None
    raw_cursor = None
    if dialect.name == "postgresql" and not compiled.positional:
        from psycopg import RawCursor as raw_cursor

        sql, order = _numbered(sql)
    binds = {name: bind_conversion(compiled.binds[name].type, dialect, reference)
             for name, reference in compiled._bind_processors.items()}
    defaults = dict(compiled.params)
    positions = tuple((name, defaults[name], binds.get(name)) for name in order or ())
    return Driver(sql, order, raw_cursor, defaults, tuple(binds.items()), positions,
                   results, row)


_NAMED = re.compile(r"%\((\w+)\)s|%%")


def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with psycopg's named parameters (``%(name)s``) numbered (``$1``) and its
    escaped ``%%`` plain, and the names in their numbers' order."""
    order: list[str] = []

    def number(match) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return _NAMED.sub(number, sql), tuple(order)

def on_cursor(connection, cursor, sql: str, parameters, *, fetch: bool,
              send: pq.Connection | None = None) -> list:
    """Send ``sql`` on ``cursor``, a driver cursor of the SQLAlchemy ``connection``, as
    SQLAlchemy would: the connection's cursor events (statement counters, the benchmarks'
    breakdown) and its echo log see it, and a driver error is raised as SQLAlchemy raises
    it (wrapped, a dropped connection invalidated). Its rows when ``fetch``. With ``send``
    (PostgreSQL's numbered SQL), the statement goes by libpq (:mod:`engine.step.pq`); the
    events still see ``cursor``."""
    events = connection._has_events or connection.engine._has_events
    try:
        if events:
            for listener in connection.dispatch.before_cursor_execute:
                sql, parameters = listener(connection, cursor, sql, parameters, None, False)
        if connection._echo:  # the engine's echo log, as SQLAlchemy writes it
            connection._log_info(sql)
            connection._log_info("[driver] %r", parameters)
        if send:
            found = send.run(sql, parameters, fetch)
        else:
            cursor.execute(sql, parameters)
            found = cursor.fetchall() if fetch else []
        if events:
            connection.dispatch.after_cursor_execute(connection, cursor, sql, parameters, None,
                                                     False)
        return found
    except BaseException as error:  # SQLAlchemy's own handling: wrapped, disconnects noted
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        raise

