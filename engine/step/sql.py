"""Statements the step path sends: inserts SQLAlchemy can cache, and several writes sent
as one statement on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import insert, literal, select, union_all
from sqlalchemy.orm import Session


def insert_rows(table, values: list[dict]):
    """An insert of ``values`` (rows of the same columns) whose compiled form SQLAlchemy can
    cache: a multi-row ``VALUES`` cannot be cached, so several rows are an
    ``INSERT … SELECT … UNION ALL SELECT …`` (which keeps their order)."""
    if len(values) == 1:
        return insert(table).values(**values[0])
    columns = sorted(set().union(*values))
    rows = [select(*(literal(row.get(name), table.c[name].type).label(name)
                     for name in columns)) for row in values]
    return insert(table).from_select(columns, union_all(*rows))


def send(session: Session, statements: list) -> None:
    """Send ``statements``: one statement on PostgreSQL (all but the last as CTEs of the
    last), in order elsewhere."""
    if not statements:
        return
    if session.get_bind().dialect.name != "postgresql" or len(statements) == 1:
        for statement in statements:
            session.execute(statement)
        return
    *parts, last = statements
    session.execute(last.add_cte(*(part.cte(f"step_write_{i}")
                                   for i, part in enumerate(parts))))
