"""Finding a row by its code, or :class:`~engine.errors.NotFound` in both languages.

``by_code(session, Dossier, code)`` is the dossier with that code (surrounding spaces
ignored); with ``where``, a dossier the caller may not see is not found either, in the
same words (a code alone reveals nothing about other people's dossiers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound
from .models import Agency, Dossier, Procedure, Role, User

Row = TypeVar("Row")

#: What each kind of row is called before its code, and the column its code is in.
_KINDS: dict[type, tuple[str, str, str]] = {
    Dossier: ("dossier with code", "hồ sơ mã", "code"),
    Procedure: ("procedure", "thủ tục", "code"),
    Agency: ("agency with code", "cơ quan mã", "code"),
    Role: ("role", "vai trò", "code"),
    User: ("user", "tài khoản", "username"),
}


def not_found(model: type, code: str | None, *, for_person: bool = False) -> NotFound:
    """The NotFound for ``model``'s row with this code (``for_person``: none the caller
    may see)."""
    en, vi, _ = _KINDS[model]
    return NotFound(f"No {en} {code!r}{' for this person' if for_person else ''}.",
                    vi=f"Không tìm thấy {vi} {code!r}{' của người này' if for_person else ''}.")


def by_code(session: Session, model: type[Row], code: str | None, *,
            where: Callable[[Row], bool] | None = None, for_person: bool = False,
            lock: bool = False) -> Row:
    """``model``'s row with this code, or :func:`not_found`: also when it fails ``where``
    (a procedure without an active version, a dossier the caller may not see: then say
    ``for_person``). ``lock`` takes the row's lock, re-reading it."""
    query = select(model).where(getattr(model, _KINDS[model][2]) == (code or "").strip())
    if lock:
        query = query.with_for_update(of=model).execution_options(populate_existing=True)
    row = session.execute(query).scalar()
    if row is None or (where is not None and not where(row)):
        raise not_found(model, code, for_person=for_person)
    return row
