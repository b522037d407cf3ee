"""The reads behind a dossier's view: the status look-up's one indexed read of a dossier
(:data:`LOOKUP`), and the dossier with all its lists from one statement
(:func:`read_rows`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import SimpleNamespace

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    String,
    bindparam,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, FromClause, Select

from .db import Database, UTCDateTime
from .models import (
    Agency,
    AuditEvent,
    Document,
    Dossier,
    HumanTask,
    Job,
    Outbox,
    Procedure,
    ProcedureVersion,
    User,
)
from .versions import version_meta

#: The status look-up's one indexed read of the dossier: its own columns and the names it
#: shows. Never a version's ``meta`` (:func:`engine.versions.version_meta` caches it by
#: version id) nor the eager joins of the ORM classes.
LOOKUP = (
    select(Dossier.id, Dossier.code, Dossier.status, Dossier.channel, Dossier.data,
           Dossier.received_at, Dossier.due_at, Dossier.finished_at, Dossier.parent_id,
           Dossier.applicant_id, Dossier.agency_id, Dossier.procedure_id, Dossier.version_id,
           ProcedureVersion.content_hash,
           Procedure.code.label("procedure_code"), Procedure.name_vi.label("procedure_vi"),
           Procedure.name_en.label("procedure_en"), Agency.code.label("agency_code"),
           Agency.name_vi.label("agency_vi"), Agency.name_en.label("agency_en"),
           User.full_name.label("applicant_name"), User.id_number.label("applicant_id_number"))
    .join(Procedure, Procedure.id == Dossier.procedure_id)
    .join(ProcedureVersion, ProcedureVersion.id == Dossier.version_id)
    .join(Agency, Agency.id == Dossier.agency_id)
    .join(User, User.id == Dossier.applicant_id))


LOOKUP_MINE = (LOOKUP.where(Dossier.applicant_id == bindparam("user_id"))
                .order_by(Dossier.received_at.desc(), Dossier.id.desc()))


def as_record(session: Session, row: Row | SimpleNamespace) -> SimpleNamespace:
    """A read-only stand-in for a :class:`Dossier` with what :func:`summary`,
    :func:`dossier_view` and the visibility rules read (``procedure``, ``agency``,
    ``applicant``, ``version.meta``), built from a :data:`LOOKUP` row or the ``dossier``
    row of :func:`read_rows` (same names)."""
    return SimpleNamespace(
        id=row.id, code=row.code, status=row.status, channel=row.channel, data=row.data,
        received_at=row.received_at, due_at=row.due_at, finished_at=row.finished_at,
        parent_id=row.parent_id, applicant_id=row.applicant_id, agency_id=row.agency_id,
        procedure_id=row.procedure_id, version_id=row.version_id,
        procedure=SimpleNamespace(id=row.procedure_id, code=row.procedure_code,
                                  name_vi=row.procedure_vi, name_en=row.procedure_en),
        agency=SimpleNamespace(id=row.agency_id, code=row.agency_code, name_vi=row.agency_vi,
                               name_en=row.agency_en),
        applicant=SimpleNamespace(id=row.applicant_id, full_name=row.applicant_name,
                                  id_number=row.applicant_id_number),
        version=SimpleNamespace(id=row.version_id, content_hash=row.content_hash,
                                meta=version_meta(session, row.version_id, row.content_hash)))


# -- a dossier and its lists: one statement ------------------------------------------
#
# What a dossier's view shows — the dossier itself (the columns of LOOKUP), the
# cooperating dossiers, the history, the open steps, the documents, the notifications, the
# jobs still preparing something — comes back from ONE statement by dossier code: a UNION
# ALL of one SELECT per list over shared typed slots (i… integers, s… strings, t… times,
# j JSON), sorted by list and then by each list's own order. One round trip instead of
# seven: on a database server shared with other work, round trips, not rows, are what a
# status look-up waits for. Each branch is declared as {name: (slot, column)};
# read_rows hands back namespaces with the real names (``doc.filename``, never
# ``row.s2``).

_SLOTS = {**{f"i{n}": BigInteger() for n in range(1, 7)},
          **{f"s{n}": String() for n in range(1, 13)},
          "t1": UTCDateTime(), "t2": UTCDateTime(), "t3": UTCDateTime(), "j": JSON(),
          "order_s": String(), "order_i": BigInteger()}


# The dossier named by :code, for the other branches (a CTE: looked up once).
_ME = select(Dossier.id, Dossier.parent_id).where(Dossier.code == bindparam("code")).cte("me")


_MY_ID = select(_ME.c.id).scalar_subquery()


_MY_PARENT = select(_ME.c.parent_id).scalar_subquery()


_BRANCHES: dict[str, tuple[dict, object, object]] = {
    # name: ({field: (slot, column)}, FROM (a table or a join), WHERE)
    "dossier": ({"id": ("i1", Dossier.id), "parent_id": ("i2", Dossier.parent_id),
                 "applicant_id": ("i3", Dossier.applicant_id),
                 "agency_id": ("i4", Dossier.agency_id),
                 "procedure_id": ("i5", Dossier.procedure_id),
                 "version_id": ("i6", Dossier.version_id), "code": ("s1", Dossier.code),
                 "status": ("s2", Dossier.status), "channel": ("s3", Dossier.channel),
                 "content_hash": ("s4", ProcedureVersion.content_hash),
                 "procedure_code": ("s5", Procedure.code),
                 "procedure_vi": ("s6", Procedure.name_vi),
                 "procedure_en": ("s7", Procedure.name_en), "agency_code": ("s8", Agency.code),
                 "agency_vi": ("s9", Agency.name_vi), "agency_en": ("s10", Agency.name_en),
                 "applicant_name": ("s11", User.full_name),
                 "applicant_id_number": ("s12", User.id_number),
                 "received_at": ("t1", Dossier.received_at), "due_at": ("t2", Dossier.due_at),
                 "finished_at": ("t3", Dossier.finished_at), "data": ("j", Dossier.data)},
                Dossier.__table__
                .join(Procedure.__table__, Procedure.id == Dossier.procedure_id)
                .join(ProcedureVersion.__table__, ProcedureVersion.id == Dossier.version_id)
                .join(Agency.__table__, Agency.id == Dossier.agency_id)
                .join(User.__table__, User.id == Dossier.applicant_id),
                Dossier.code == bindparam("code")),
    "family": ({"id": ("i1", Dossier.id), "parent_id": ("i2", Dossier.parent_id),
                "code": ("s1", Dossier.code), "_": ("order_i", Dossier.id)},
               Dossier.__table__, or_(Dossier.id == _MY_PARENT, Dossier.parent_id == _MY_ID)),
    "history": ({"at": ("t1", AuditEvent.at), "actor": ("s1", AuditEvent.actor),
                 "action": ("s2", AuditEvent.action), "detail": ("j", AuditEvent.detail),
                 "_": ("order_i", AuditEvent.id)},
                AuditEvent.__table__, AuditEvent.dossier_id == _MY_ID),
    "steps": ({"id": ("i1", HumanTask.id), "title": ("s1", HumanTask.title),
               "role_code": ("s2", HumanTask.role_code), "assignee": ("s3", User.username),
               "due_at": ("t1", HumanTask.due_at), "_": ("order_i", HumanTask.id)},
              HumanTask.__table__.outerjoin(User.__table__, User.id == HumanTask.assignee_id),
              (HumanTask.dossier_id == _MY_ID) & (HumanTask.status == "open")),
    "documents": ({"id": ("i1", Document.id), "size": ("i2", Document.size),
                   "revision": ("i3", Document.revision),
                   "signatures": ("i4", Document.signatures), "name": ("s1", Document.name),
                   "filename": ("s2", Document.filename),
                   "media_type": ("s3", Document.media_type), "kind": ("s4", Document.kind),
                   "created_at": ("t1", Document.created_at), "_": ("order_s", Document.name),
                   "__": ("order_i", Document.revision)},
                  Document.__table__, Document.dossier_id == _MY_ID),
    "notifications": ({"created_at": ("t1", Outbox.created_at),
                       "subject": ("s1", Outbox.subject), "status": ("s2", Outbox.status),
                       "_": ("order_i", Outbox.id)},
                      Outbox.__table__,
                      # what was sent to people, not the records sent to the national portal
                      (Outbox.dossier_id == _MY_ID) & (Outbox.kind != "national_sync")),
    "preparing": ({"kind": ("s1", Job.kind), "status": ("s2", Job.status),
                   "last_error": ("s3", Job.last_error), "attempts": ("i1", Job.attempts),
                   "key": ("s4", Job.key), "payload": ("j", Job.payload),
                   "created_at": ("t1", Job.created_at),
                   "_": ("order_i", Job.id)},
                  Job.__table__, (Job.dossier_id == _MY_ID) & (Job.status != "done")),
}


_KINDS = list(_BRANCHES)


def _branch_select(number: int, fields: dict, source: FromClause,
                   where: ColumnElement) -> Select:
    """One SELECT of the union. Only the first one types its empty slots (``CAST(NULL AS
    …)``): the databases type a union's columns from all branches, SQLAlchemy from the
    first; bare NULLs elsewhere keep the statement short (psycopg caches the parsing of
    statements up to 4 KB)."""
    by_slot = {slot: column for slot, column in fields.values()}
    columns = [literal_column(str(number), Integer()).label("k")]
    for slot, type_ in _SLOTS.items():
        column = by_slot.get(slot)
        if column is None:
            column = cast(null(), type_) if number == 0 else null()
        columns.append(column.label(slot))
    return select(*columns).select_from(source).where(where)


_DOSSIER_ROWS = union_all(*(_branch_select(n, *_BRANCHES[kind])
                            for n, kind in enumerate(_KINDS))).order_by("k", "order_s",
                                                                        "order_i")


_COLUMN = {slot: index for index, slot in enumerate(["k", *_SLOTS])}  # position in a row
_FIELDS = [[(name, _COLUMN[slot]) for name, (slot, _c) in _BRANCHES[kind][0].items()
            if not name.startswith("_")] for kind in _KINDS]


def read_rows(session: Session, code: str) -> dict[str, list[SimpleNamespace]]:
    """The dossier ``code`` (a list of one, or empty) and its lists of :data:`_BRANCHES`,
    each in its order, from one statement in ``session``'s transaction."""
    return grouped(session.execute(_DOSSIER_ROWS, {"code": code}))


def read_rows_outside(db: Database, code: str) -> dict[str, list[SimpleNamespace]]:
    """:func:`read_rows` as one statement of its own, outside any transaction (one snapshot:
    :meth:`engine.db.Database.rows`), for the status look-up."""
    return grouped(db.rows(_DOSSIER_ROWS, {"code": code}))


def grouped(rows: Iterable[Sequence]) -> dict[str, list[SimpleNamespace]]:
    """:data:`_DOSSIER_ROWS`'s rows by list, each row a namespace of its fields."""
    out: dict[str, list[SimpleNamespace]] = {kind: [] for kind in _KINDS}
    for row in rows:
        kind = row[0]
        out[_KINDS[kind]].append(SimpleNamespace(**{name: row[index]
                                                    for name, index in _FIELDS[kind]}))
    return out
