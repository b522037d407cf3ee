"""Statements the step path sends: writes built once per shape and bound by name, and
several writes sent as one statement on PostgreSQL.

Building a statement, and computing the key SQLAlchemy finds its compiled form by, cost
more client time than the database spends on it. A :class:`Write` is a statement built
once (a :class:`Template`, with bind parameters) and the values of one use; the writes of a
transaction go as one statement on PostgreSQL (all but the last as data-modifying CTEs of
the last) which is itself built once per sequence of templates, so a step of a usual shape
reuses a statement whose compiled form SQLAlchemy already holds. Any other statement may
be queued too; it is sent as it is.

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


def _one(session: Session, entry) -> None:
    if isinstance(entry, Write):
        session.connection().execute(entry.template.plain,
                                     {f"p_{name}": value for name, value in entry.values.items()})
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
