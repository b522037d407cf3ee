"""Statements the step path sends: writes built once per shape and bound by name, and
several writes sent as one statement on PostgreSQL.

Building a statement, and computing the key SQLAlchemy finds its compiled form by, cost
more client time than the database spends on it. A :class:`Write` is a statement built
once (a :class:`Template`, with bind parameters) and the values of one use; the writes of a
transaction go as one statement on PostgreSQL (all but the last as data-modifying CTEs of
the last) which is itself built once per sequence of templates, so a step of a usual shape
reuses a statement whose compiled form SQLAlchemy already holds. Any other statement may
be queued too; it is sent as it is.

Statements built once — templates, the combined writes, a module's constant reads — run
on the driver's own cursor (:func:`run`, :func:`first`): compiled once per dialect for
the driver, values converted as SQLAlchemy converts them, its cursor events, echo log and
error handling kept, without its per-execution machinery (an execution context and a
result object per statement cost more client time than psycopg and SQLite spend). On
PostgreSQL they go by libpq, past psycopg's cursor (:mod:`engine.step.pq`).

One statement means one snapshot: on PostgreSQL no write of a batch sees another's effect,
so the writes of one :func:`send` must touch different rows (a step's do: it writes the
difference between the rows it found and those it needs, :mod:`engine.step.store`).
"""

from __future__ import annotations

import re
import threading
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, union_all
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

from ..unit import KEY
from . import pq
from .convert import bind as bind_conversion
from .convert import result as result_conversion


class Template:
    """A write statement of one shape: ``build(tag)`` makes it with every bind parameter
    named ``<name><tag>`` (the tag keeps the parameters of several writes apart when they
    are parts of one statement)."""

    def __init__(self, build: Callable[[str], object]):
        self.build = build
        self.plain = build("")


@dataclass(frozen=True, eq=False)
class Write:
    """One use of a template: its values by parameter name."""

    template: Template
    values: dict


def param(name: str, column=None, tag: str = "", **kw):
    """The bind parameter of a template's value ``name``, typed by ``column`` (JSON columns
    are encoded). Its name never is a column's: those are kept for SQLAlchemy's own use in
    an insert's or update's values."""
    return bindparam(f"p_{name}{tag}", type_=column.type if column is not None else None, **kw)


class _Cache:
    """Built statements by key, the most recent ``size`` kept."""

    def __init__(self, size: int = 512):
        self.size = size
        self.items: dict = {}
        self.lock = threading.Lock()

    def get(self, key, build: Callable[[], object]):
        found = self.items.get(key)
        if found is None:
            found = build()
            with self.lock:
                if len(self.items) >= self.size:
                    self.items.clear()
                self.items[key] = found
        return found


_INSERTS = _Cache()
_COMBINED = _Cache()


def _insert_template(table, columns: tuple[str, ...], n: int) -> Template:
    def build(tag: str):
        if n == 1:
            return insert(table).values({name: param(name, table.c[name], tag)
                                         for name in columns})
        rows = [select(*(param(f"{name}_{i}", table.c[name], tag).label(name)
                         for name in columns)) for i in range(n)]
        return insert(table).from_select(list(columns), union_all(*rows))
    return Template(build)


def insert_template(table, columns: tuple[str, ...], n: int) -> Template:
    """The insert of ``n`` rows of ``columns`` into ``table``: a multi-row ``VALUES`` cannot be
    cached, so several rows are an ``INSERT … SELECT … UNION ALL SELECT …`` (which keeps
    their order). Built once per table, columns and number of rows."""
    if n > 32:  # a bulk insert: not kept
        return _insert_template(table, columns, n)
    return _INSERTS.get((table.name, columns, n), lambda: _insert_template(table, columns, n))


def insert_values(columns: tuple[str, ...], values: list[dict]) -> dict:
    """The parameters of :func:`insert_template`'s statement for ``values``."""
    if len(values) == 1:
        return {name: values[0].get(name) for name in columns}
    return {f"{name}_{i}": row.get(name) for i, row in enumerate(values) for name in columns}


def insert_rows(table, values: list[dict]) -> Write:
    """An insert of ``values`` (rows of the same columns)."""
    columns = tuple(sorted(set().union(*values)))
    return Write(insert_template(table, columns, len(values)), insert_values(columns, values))


def inserted(session: Session, table, values: list[dict], returning: tuple) -> list[tuple]:
    """Insert ``values`` (rows of the same columns: every column SQLAlchemy would give a
    default must be among them) into ``table`` now, on the driver (:func:`run`), and return
    the columns ``returning`` of the new rows — in no promised order when there are
    several: return a column that tells them apart."""
    columns = tuple(sorted(set().union(*values)))
    n = len(values)
    build = lambda: insert_template(table, columns, n).plain.returning(*returning)  # noqa: E731
    statement = (build() if n > 32 else  # a bulk insert: not kept
                 _RETURNING.get((table.name, columns, n, tuple(c.key for c in returning)),
                                build))
    return run(session, statement, bound(insert_values(columns, values)))


_RETURNING = _Cache()


def bound(values: dict) -> dict:
    """A template's ``values`` by the names of its bind parameters (:func:`param`)."""
    return {f"p_{name}": value for name, value in values.items()}


def _one(session: Session, entry) -> None:
    if isinstance(entry, Write):
        run(session, entry.template.plain, bound(entry.values), rows=False)
    else:
        session.execute(entry)


def _combined(templates: tuple[Template, ...]):
    parts = [t.build(f"_w{i}") for i, t in enumerate(templates)]
    *ctes, last = parts
    return last.add_cte(*(part.cte(f"step_write_{i}") for i, part in enumerate(ctes)))


def send(session: Session, statements: list) -> None:
    """Send ``statements`` (:class:`Write` or statements): one statement on PostgreSQL (all
    but the last as CTEs of the last), in order elsewhere."""
    if not statements:
        return
    if session.get_bind().dialect.name != "postgresql" or len(statements) == 1:
        for entry in statements:
            _one(session, entry)
        return
    values = {f"p_{name}_w{i}": value for i, entry in enumerate(statements)
              if isinstance(entry, Write) for name, value in entry.values.items()}
    if all(isinstance(entry, Write) for entry in statements):
        templates = tuple(entry.template for entry in statements)
        statement = _COMBINED.get(templates, lambda: _combined(templates))
    else:  # built for this once: other statements carry their own values
        parts = [entry.template.build(f"_w{i}") if isinstance(entry, Write) else entry
                 for i, entry in enumerate(statements)]
        *ctes, last = parts
        statement = last.add_cte(*(part.cte(f"step_write_{i}") for i, part in enumerate(ctes)))
        session.connection().execute(statement, values)
        return
    run(session, statement, values, rows=False)


# -- statements built once, sent on the driver's cursor ----------------------------------

@dataclass(frozen=True, eq=False)
class _Driver:
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


def driver_form(statement, dialect) -> _Driver | None:
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
    """The statement's :class:`_Driver` form, or ``_NOT_DRIVER`` when its SQL is only known
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
    return _Driver(sql, order, raw_cursor, defaults, tuple(binds.items()), positions,
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


def run(session: Session, statement, params: dict, *, rows: bool = True) -> list[tuple]:
    """Run ``statement`` — built once: a module's constant or a template's — in the
    session's transaction on the driver's own cursor, and return its rows as tuples (values
    converted as SQLAlchemy would: aware datetimes, parsed JSON).

    SQLAlchemy's execution path (the compiled-form look-up, an execution context, a result
    object) costs several times what the driver spends on a statement of a step; this keeps
    what matters of it: the SQL compiled once per dialect, the same value conversions, the
    connection's cursor events (statement counters, the benchmarks' breakdown), its echo
    log and its error handling (a driver error becomes SQLAlchemy's, a dropped connection is
    invalidated). A statement whose SQL depends on its values goes the usual way."""
    return _execute(session, statement, params, rows)[1]


def first(session: Session, statement, params: dict):
    """The first row of the SELECT ``statement`` (see :func:`run`) as a named tuple, or
    None."""
    driver, found = _execute(session, statement, params, True)
    if not found:
        return None
    return found[0] if driver is None else driver.row._make(found[0])


def _execute(session: Session, statement, params: dict, rows: bool
             ) -> tuple[_Driver | None, list]:
    connection = _connection(session)
    driver = driver_form(statement, connection.dialect)
    if driver is None:
        result = connection.execute(statement, params)
        return None, list(result) if rows and result.returns_rows else []
    parameters = driver.parameters(params)
    pooled = connection.connection
    cursor = driver.cursor(pooled)
    try:
        found = on_cursor(connection, cursor, driver.sql, parameters,
                          fetch=rows and driver.row is not None,
                          send=driver.raw_cursor and pq.sender(pooled))
    finally:
        driver.done(cursor)
    return driver, driver.converted(found)


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


def _connection(session: Session):
    """The session's connection (its transaction begun), remembered by the transaction's
    unit of work when it has one (:meth:`engine.unit.Unit.connect`)."""
    unit = session.info.get(KEY)
    if unit is None:
        return session.connection()
    return unit.connection if unit.connection is not None else unit.connect(session)


_LOCK = threading.Lock()
