"""Searching the dossiers of an officer's agency (tra cứu hồ sơ của cơ quan), a page at a time.

An officer sees every dossier of the agencies they hold a role in (as on the dossier page,
:func:`engine.documents.is_agency_side`), newest first, narrowed by text — in the dossier
code, the applicant's name or ID number, the procedure's name — and by status. Paging is
by keyset on (received_at, id), read from ``ix_dossier_agency_received``
``(agency_id, received_at, id)`` backwards, so the newest page of an agency with a million
dossiers reads fifty index entries; a text search filters rows while reading in that order
and stops at the page's end. Rows hold only what the list shows (Core rows, joins by
primary key), read in a read transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, bindparam, func, or_, select, tuple_

from .errors import InvalidData
from .inbox import PAGE_SIZE, clean_search, decode_cursor, encode_cursor, like_pattern
from .models import Agency, Dossier, Procedure, User
from .vocabulary import STATUSES, Status


@dataclass(frozen=True)
class DossierPage:
    """One page of dossiers, and the cursor of the next page (None on the last)."""

    dossiers: list[dict]
    next: str | None


def _agency_codes(user) -> list[str]:
    return sorted({agency for _role, agency in user.roles if agency})


def search_dossiers(p, user, *, search: str = "", status: str | None = None,
                    after: str | None = None, limit: int = PAGE_SIZE) -> DossierPage:
    """One page of the dossiers of ``user``'s agencies, newest first. ``search``: text in
    the code, the applicant's name or ID number, or the procedure's name; ``status``: one
    of :data:`engine.vocabulary.STATUSES`; ``after``: the previous page's ``next``."""
    if status is not None and status not in STATUSES:
        raise InvalidData(f"Unknown status {status!r}.", vi=f"Trạng thái không hợp lệ: {status!r}.",
                          details=[{"field": "status", "message": "Not a dossier status."}])
    if not 1 <= limit <= PAGE_SIZE:
        raise InvalidData(f"The page size is 1 to {PAGE_SIZE}.",
                          vi=f"Số dòng mỗi trang từ 1 đến {PAGE_SIZE}.",
                          details=[{"field": "limit", "message": f"1 to {PAGE_SIZE}."}])
    search = clean_search(search)
    codes = _agency_codes(user)
    if not codes:
        return DossierPage([], None)
    statement = (
        select(Dossier.id, Dossier.code, Dossier.status, Dossier.received_at, Dossier.due_at,
               Dossier.finished_at, Procedure.name_vi.label("procedure_name"),
               Procedure.name_en.label("procedure_name_en"),
               User.full_name.label("applicant_name"), Agency.code.label("agency_code"))
        .join(Procedure, Procedure.id == Dossier.procedure_id)
        .join(User, User.id == Dossier.applicant_id)
        .join(Agency, Agency.id == Dossier.agency_id)
        .order_by(Dossier.received_at.desc(), Dossier.id.desc())
        .limit(limit + 1))
    if status:
        statement = statement.where(Dossier.status == status)
    if search:
        pattern = bindparam("search", like_pattern(search), type_=String())
        statement = statement.where(or_(*(
            func.lower(column).like(pattern, escape="\\")
            for column in (Dossier.code, User.full_name, User.id_number, Procedure.name_vi,
                           Procedure.name_en))))
    if after:
        received_at, dossier_id = decode_cursor(after)
        if received_at is None:
            raise InvalidData("Invalid page cursor.", vi="Con trỏ trang không hợp lệ.",
                              details=[{"field": "after", "message": "Not a page cursor."}])
        statement = statement.where(
            tuple_(Dossier.received_at, Dossier.id) < tuple_(received_at, dossier_id))
    with p.db.read() as session:
        # the agencies' ids first: "agency_id IN (ids)" lets the index be read in order
        agency_ids = session.execute(select(Agency.id).where(Agency.code.in_(codes))).scalars()
        rows = session.execute(statement.where(Dossier.agency_id.in_(list(agency_ids)))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return DossierPage([_row(r) for r in rows],
                       encode_cursor(rows[-1].received_at, rows[-1].id) if more else None)


def _row(row) -> dict:
    vi, en = Status.label_of(row.status, "vi"), Status.label_of(row.status, "en")
    return {"code": row.code, "status": row.status, "status_vi": vi, "status_en": en,
            "procedure": {"name_vi": row.procedure_name, "name_en": row.procedure_name_en},
            "applicant_name": row.applicant_name, "agency_code": row.agency_code,
            "received_at": row.received_at.isoformat(),
            "due_at": row.due_at.isoformat() if row.due_at else None,
            "finished_at": row.finished_at.isoformat() if row.finished_at else None}
