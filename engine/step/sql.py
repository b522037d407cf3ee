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
in the session's transaction on the driver's own cursor (:func:`run`, :func:`first`):
compiled once per dialect for the driver and sent as SQLAlchemy would send them
(:mod:`engine.step.driver`), without its per-execution machinery (an execution context and
a result object per statement cost more client time than psycopg and SQLite spend). On
PostgreSQL they go by libpq, past psycopg's cursor (:mod:`engine.step.pq`).

One statement means one snapshot: on PostgreSQL no write of a batch sees another's effect,
so the writes of one :func:`send` must touch different rows (a step's do: it writes the
difference between the rows it found and those it needs, :mod:`engine.step.store`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, union_all
from sqlalchemy.orm import Session

from ..unit import KEY
from . import pq
from .driver import Driver, driver_form, on_cursor


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


# -- statements built once, run in the session's transaction on the driver's cursor ------

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
             ) -> tuple[Driver | None, list]:
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


def _connection(session: Session):
    """The session's connection (its transaction begun), remembered by the transaction's
    unit of work when it has one (:meth:`engine.unit.Unit.connect`)."""
    unit = session.info.get(KEY)
    if unit is None:
        return session.connection()
    return unit.connection if unit.connection is not None else unit.connect(session)

