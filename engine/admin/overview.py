"""The administrator's start page: how many of each thing there is."""

from __future__ import annotations

from sqlalchemy import func, select

from ..models import Agency, CalendarOverride, Procedure, Role, User


def counts(p) -> dict[str, int]:
    """How many of each thing there is to manage, for the administrator's start page."""
    with p.db.transaction() as session:
        return {name: session.execute(select(func.count()).select_from(model)).scalar() or 0
                for name, model in (("agencies", Agency), ("users", User), ("roles", Role),
                                    ("procedures", Procedure), ("overrides", CalendarOverride))}
