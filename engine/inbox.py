"""The officers' inbox (việc cần làm): the open tasks a user may act on, a page at a time.

A task is actionable for a user when it is open and either **assigned to them**
(``assignee_id = me``; this also covers an applicant's own supplement step) or
**unclaimed for a (role, agency) pair they hold**. The query is a ``UNION ALL`` with one
arm for "assigned to me" and one per (role, agency) pair, each arm an ordered range of
its own partial index of open tasks, read only up to the page size:

- ``ix_task_assignee_due`` ``(assignee_id, due_at, id) WHERE status = 'open'``;
- ``ix_task_unclaimed_due`` ``(role_code, agency_id, due_at, id) WHERE status = 'open'
  AND assignee_id IS NULL``.

So a page reads at most (arms × page size) index entries, however many open tasks the
province has. (The earlier shape, one ``WHERE`` with ``OR assignee_id = me``, could use
neither index and read every open task, then returned them all.)

Order: due date, tasks without one last, then id. Paging is by keyset: a page carries
``next``, an opaque cursor naming its last row's (due date, id), which the next call
passes as ``after``; ``None`` on the last page. A cursor stays valid while tasks come and
go: rows before it are never repeated, rows after it never skipped (a task whose due
date changed may move across it, as in any keyset paging).

**Filters** narrow every arm the same way, so each stays a range of its index:
``due="overdue"`` (due before now) and ``due="soon"`` (due from now to the end of the next
working day, Vietnam time) bound ``due_at`` and leave out tasks without a due date;
``search`` keeps the tasks whose dossier code, applicant's name or procedure name
contains the text (case-insensitive; SQLite's ``lower`` is replaced by Python's so that
Vietnamese capitals fold too — :mod:`engine.db`). A search joins each arm's rows to their
dossier, applicant and procedure by primary key and filters them while reading the index
in order, so a page still stops after its rows; at worst it reads the officer's open
tasks (hundreds), never the province's.

Rows hold only what the list shows: human_task columns, the dossier's code, the
applicant's name and the procedure's names (joins by primary key); no ORM objects. Reads
run in a read transaction (:meth:`engine.db.Database.read`).
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
)

from . import clock
from .calendar import load_calendar
from .db import UTCDateTime
from .errors import InvalidData
from .models import Agency, Dossier, HumanTask, Procedure, User
from .vocabulary import FINAL_STATUSES

PAGE_SIZE = 50
SCOPES = ("all", "mine", "waiting")
DUE_FILTERS = ("soon", "overdue")
SEARCH_MAX = 100

_T = HumanTask.__table__.c
_COLUMNS = (_T.id, _T.title, _T.spec_name, _T.status, _T.dossier_id, _T.role_code,
            _T.assignee_id, _T.due_at, _T.created_at)
# A literal, not a bound parameter: a prepared statement's generic plan sees ``status = $1``
# and cannot prove it implies the partial indexes' ``status = 'open'``; SQLite needs the
# same text as the index's WHERE too.
_OPEN = _T.status == literal_column("'open'")
_DOSSIER_DUE = (Dossier.due_at.label("dossier_due_at"), Dossier.status.label("dossier_status"),
                Dossier.clock_stopped_at.label("dossier_clock_stopped_at"))


@dataclass(frozen=True)
class Page:
    """One page of the inbox: up to ``limit`` rows, and the cursor of the next page."""

    tasks: list[dict]
    next: str | None


def encode_cursor(due_at: datetime | None, task_id: int) -> str:
    """The opaque cursor that follows the row (``due_at``, ``task_id``)."""
    raw = f"{due_at.isoformat() if due_at else ''}~{task_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    """(due date or None, id) of a cursor from :func:`encode_cursor`; InvalidData if it is
    not one."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        due, _, task_id = raw.rpartition("~")
        due_at = datetime.fromisoformat(due) if due else None
        if due_at is not None and due_at.tzinfo is None:
            raise ValueError("naive")
        return due_at, int(task_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidData("Invalid page cursor.", vi="Con trỏ trang không hợp lệ.",
                          details=[{"field": "after", "message": "Not a page cursor."}]
                          ) from None


def _search_condition():
    """The dossier code, applicant's name or procedure name contains ``:search`` (a
    lower-cased LIKE pattern)."""
    pattern = bindparam("search", type_=String())
    return or_(*(func.lower(column).like(pattern, escape="\\")
                 for column in (Dossier.code, User.full_name, Procedure.name_vi,
                                Procedure.name_en)))


def _arms(condition, after: str | None, n: int, due: str | None = None,
          search: bool = False) -> list[Select]:
    """The ordered, limited reads of one arm (``condition``) that follow a cursor of kind
    ``after`` (None: the first page; ``"dated"``; ``"undated"``), narrowed by the ``due``
    filter and the ``search`` text.

    After a row with a due date, the arm is two index ranges: later due dates (a row
    comparison, which an index scan starts from) and then the rows without a due date."""
    bounds = []
    if due is not None:
        bounds.append(_T.due_at < bindparam("due_before", type_=UTCDateTime()))
    if due == "soon":
        bounds.append(_T.due_at >= bindparam("due_from", type_=UTCDateTime()))

    def read(where, *order):
        statement = select(*_COLUMNS).where(_OPEN, condition, *bounds, *where)
        if search:
            statement = (statement.join(Dossier, Dossier.id == _T.dossier_id)
                         .join(Procedure, Procedure.id == Dossier.procedure_id)
                         .join(User, User.id == Dossier.applicant_id)
                         .where(_search_condition()))
        return statement.order_by(*order).limit(n)

    after_id = bindparam("after_id", type_=Integer())
    if after is None:
        return [read((), _T.due_at.asc().nulls_last(), _T.id)]
    if after == "undated":
        return [read((_T.due_at.is_(None), _T.id > after_id), _T.id)] if due is None else []
    after_due = bindparam("after_due", type_=UTCDateTime())
    dated = read((tuple_(_T.due_at, _T.id) > tuple_(after_due, after_id),), _T.due_at, _T.id)
    return [dated, read((_T.due_at.is_(None),), _T.id)] if due is None else [dated]


@lru_cache(maxsize=512)
def _statement(scope: str, pairs: int, after: str | None, limit: int,
               due: str | None = None, search: bool = False) -> Select | None:
    """The statement of a page for a shape: ``scope``, how many (role, agency) pairs, the
    kind of cursor, the page size, the due filter, whether it searches. Values come as
    parameters (``user_id``, ``role_<i>``, ``agency_<i>``, ``after_due``, ``after_id``,
    ``due_from``, ``due_before``, ``search``): building and caching a statement of this
    size costs more than the query itself, so each shape is built once per process."""
    conditions = []
    if scope in ("all", "mine"):
        conditions.append(_T.assignee_id == bindparam("user_id", type_=Integer()))
    if scope in ("all", "waiting"):
        for i in range(pairs):
            agency_id = select(Agency.id).where(
                Agency.code == bindparam(f"agency_{i}", type_=String())).scalar_subquery()
            conditions.append(and_(_T.assignee_id.is_(None),
                                   _T.role_code == bindparam(f"role_{i}", type_=String()),
                                   _T.agency_id == agency_id))
    arms = [select(*arm.subquery().c) for condition in conditions
            for arm in _arms(condition, after, limit, due, search)]
    if not arms:
        return None
    union = union_all(*arms).subquery("arms") if len(arms) > 1 else arms[0].subquery("arms")
    page = select(union).order_by(union.c.due_at.asc().nulls_last(), union.c.id) \
        .limit(limit).subquery("page")
    return (select(page, Dossier.code.label("dossier_code"),
                   Procedure.name_vi.label("procedure_name"),
                   Procedure.name_en.label("procedure_name_en"),
                   User.full_name.label("applicant_name"), *_DOSSIER_DUE)
            .join(Dossier, Dossier.id == page.c.dossier_id)
            .join(Procedure, Procedure.id == Dossier.procedure_id)
            .join(User, User.id == Dossier.applicant_id)
            .order_by(page.c.due_at.asc().nulls_last(), page.c.id))


def like_pattern(text: str) -> str:
    """A lower-cased ``LIKE`` pattern that finds ``text`` anywhere (its own ``%``, ``_``
    and ``\\`` taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def clean_search(text: str | None) -> str:
    """The search text as searched: NFC, spaces trimmed and collapsed; InvalidData past
    :data:`SEARCH_MAX` characters."""
    text = " ".join(unicodedata.normalize("NFC", text or "").split())
    if len(text) > SEARCH_MAX:
        raise InvalidData(f"Search for at most {SEARCH_MAX} characters.",
                          vi=f"Nội dung tìm kiếm tối đa {SEARCH_MAX} ký tự.",
                          details=[{"field": "q", "message": f"At most {SEARCH_MAX} characters."}])
    return text


def due_window(session, due: str) -> dict:
    """The ``due_from`` / ``due_before`` values of a due filter, from now: ``overdue``
    before now; ``soon`` from now to the end of the next working day (Vietnam time)."""
    now = clock.now()
    if due == "overdue":
        return {"due_before": now}
    today = now.astimezone(clock.VIETNAM).date()
    next_day = load_calendar(session).next_working_day(today)
    end = datetime.combine(next_day + timedelta(days=1), time(0), clock.VIETNAM)
    return {"due_from": now, "due_before": end}


def _prepared(user, scope: str, after: str | None, limit: int, due: str | None = None,
              search: str = "", window: dict | None = None) -> tuple[Select | None, dict]:
    if scope not in SCOPES:
        raise InvalidData(f"Unknown scope {scope!r}.", vi=f"Phạm vi không hợp lệ: {scope!r}.",
                          details=[{"field": "scope", "message": f"One of {', '.join(SCOPES)}."}])
    if due is not None and due not in DUE_FILTERS:
        raise InvalidData(f"Unknown due filter {due!r}.", vi=f"Bộ lọc hạn không hợp lệ: {due!r}.",
                          details=[{"field": "due",
                                    "message": f"One of {', '.join(DUE_FILTERS)}."}])
    pairs = sorted(set(user.roles)) if scope != "mine" else []
    params: dict = {"user_id": user.id} if scope != "waiting" else {}
    for i, (role, agency) in enumerate(pairs):
        params[f"role_{i}"], params[f"agency_{i}"] = role, agency
    kind = None
    if after:
        due_at, params["after_id"] = decode_cursor(after)
        kind = "undated" if due_at is None else "dated"
        if due_at is not None:
            params["after_due"] = due_at
    if due is not None:
        params.update(window or {})
    if search:
        params["search"] = like_pattern(search)
    return _statement(scope, len(pairs), kind, limit, due, bool(search)), params


def inbox_query(user, *, scope: str = "all", after: str | None = None,
                limit: int = PAGE_SIZE, due: str | None = None, search: str = "",
                window: dict | None = None) -> Select | None:
    """The statement of one page (``limit`` rows) with its values bound (to print or
    EXPLAIN it); None when the user can have no task. ``window``: the due filter's
    bounds (:func:`due_window`)."""
    statement, params = _prepared(user, scope, after, limit, due, clean_search(search), window)
    return statement.params(params) if statement is not None else None


def _late(row) -> bool:
    """The dossier's appointment (moved by any apology) has passed while it is open and its
    clock runs: it is late (engine/apologies.py)."""
    return (row.dossier_due_at is not None and row.dossier_status not in FINAL_STATUSES
            and row.dossier_clock_stopped_at is None and row.dossier_due_at < clock.now())


def _row(row, user) -> dict:
    """The same keys as the task rows elsewhere (engine.tasks), with the dossier's
    appointment and whether it has passed (``dossier_late``)."""
    mine = row.assignee_id == user.id
    return {"id": row.id, "title": row.title, "spec_name": row.spec_name, "status": row.status,
            "dossier_code": row.dossier_code, "procedure_name": row.procedure_name,
            "procedure_name_en": row.procedure_name_en, "role": row.role_code,
            "applicant_name": row.applicant_name,
            "assignee": user.username if mine else None,
            "due_at": row.due_at.isoformat() if row.due_at else None,
            "created_at": row.created_at.isoformat(), "mine": mine,
            "dossier_due_at": row.dossier_due_at.isoformat() if row.dossier_due_at else None,
            "dossier_late": _late(row)}


def _page(session, user, scope: str, after: str | None, limit: int, due: str | None = None,
          search: str = "") -> Page:
    window = due_window(session, due) if due in DUE_FILTERS else None
    statement, params = _prepared(user, scope, after, limit + 1, due, search, window)
    if statement is None:
        return Page([], None)
    rows = session.execute(statement, params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([_row(r, user) for r in rows],
                encode_cursor(rows[-1].due_at, rows[-1].id) if more else None)


def inbox_page(p, user, *, scope: str = "all", after: str | None = None,
               limit: int = PAGE_SIZE, due: str | None = None, search: str = "") -> Page:
    """One page of the user's actionable tasks, due first (no due date last, then id).

    ``scope``: ``all``, ``mine`` (assigned to the user) or ``waiting`` (unclaimed, of their
    roles); ``after``: the ``next`` cursor of the previous page; ``limit``: 1 to
    :data:`PAGE_SIZE`; ``due``: None, ``soon`` or ``overdue``; ``search``: text in the
    dossier code, applicant's name or procedure name. A cursor belongs to the filters it
    was made with."""
    if not 1 <= limit <= PAGE_SIZE:
        raise InvalidData(f"The page size is 1 to {PAGE_SIZE}.",
                          vi=f"Số dòng mỗi trang từ 1 đến {PAGE_SIZE}.",
                          details=[{"field": "limit", "message": f"1 to {PAGE_SIZE}."}])
    search = clean_search(search)
    with p.db.read() as session:
        return _page(session, user, scope, after, limit, due, search)


def all_tasks(p, user) -> list[dict]:
    """Every actionable task of the user, page after page in one read transaction (for
    callers that want the whole list; pages should use :func:`inbox_page`)."""
    out: list[dict] = []
    after = None
    with p.db.read() as session:
        while True:
            page = _page(session, user, "all", after, PAGE_SIZE)
            out += page.tasks
            if page.next is None:
                return out
            after = page.next


#: A dossier's open tasks with what their rows show, built once: one indexed read by dossier
#: (``ix_task_dossier``) that :meth:`engine.db.Database.rows` runs as one statement on the
#: driver (no transaction of its own, no ORM).
_DOSSIER_TASK_COLUMNS = (*_COLUMNS, Dossier.code.label("dossier_code"),
                         Procedure.name_vi.label("procedure_name"),
                         Procedure.name_en.label("procedure_name_en"),
                         User.full_name.label("applicant_name"),
                         Agency.code.label("agency_code"), *_DOSSIER_DUE)
_DOSSIER_TASKS = (select(*_DOSSIER_TASK_COLUMNS)
                  .select_from(Dossier)
                  .join(HumanTask, HumanTask.dossier_id == Dossier.id)
                  .join(Procedure, Procedure.id == Dossier.procedure_id)
                  .join(User, User.id == Dossier.applicant_id)
                  .outerjoin(Agency, Agency.id == HumanTask.agency_id)
                  .where(Dossier.code == bindparam("code", type_=String()), _OPEN)
                  .order_by(HumanTask.id))
_DossierTask = namedtuple("_DossierTask", [column.key for column in _DOSSIER_TASK_COLUMNS])


def tasks_of_dossier(p, user, dossier_code: str) -> list[dict]:
    """The open tasks of one dossier that the user may act on (assigned to them, or
    unclaimed for a (role, agency) they hold), by id: an indexed read by dossier, never
    the whole inbox."""
    pairs = set(user.roles)
    rows = [_DossierTask._make(r) for r in p.db.rows(_DOSSIER_TASKS, {"code": dossier_code})]
    return [_row(r, user) for r in rows
            if r.assignee_id == user.id
            or (r.assignee_id is None and (r.role_code, r.agency_code) in pairs)]
