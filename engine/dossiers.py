"""Dossiers (hồ sơ): submission, codes, appointment dates, what applicants and officers see."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import audit, clock, deadlines, forms, runtime
from .calendar import load_calendar
from .documents import can_see_dossier, withheld
from .documents import view as document_view
from .errors import InvalidData, NotFound, PermissionDenied
from .models import (
    Agency,
    AuditEvent,
    Document,
    Dossier,
    HumanTask,
    Outbox,
    Procedure,
    ProcedureVersion,
    User,
)
from .procedures import application_form, receiving_agencies
from .versions import version_meta

STATUS_LABELS = {
    "submitted": ("Mới nộp", "Submitted"),
    "supplement_requested": ("Yêu cầu bổ sung", "Supplement requested"),
    "accepted": ("Đã tiếp nhận", "Accepted"),
    "in_progress": ("Đang giải quyết", "In progress"),
    "approved": ("Đã phê duyệt", "Approved"),
    "refused": ("Từ chối", "Refused"),
    "processed": ("Đã giải quyết xong", "Processed"),
    "returned": ("Đã trả kết quả", "Result returned"),
    "stopped": ("Dừng xử lý", "Stopped"),
    "withdrawn": ("Đã rút hồ sơ", "Withdrawn"),
}


def next_code(session: Session, agency, received_at: datetime) -> str:
    """``<agency code>-<YYMMDD>-<NNNN>``: a per-agency, per-day sequence (Circular 01/2018
    Art. 19), taken with one atomic upsert so concurrent submissions never share a number."""
    from .models import DossierSequence

    day = received_at.astimezone(clock.VIETNAM).date()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (insert(DossierSequence).values(agency_id=agency.id, day=day, last=1)
            .on_conflict_do_update(index_elements=["agency_id", "day"],
                                   set_={"last": DossierSequence.last + 1})
            .returning(DossierSequence.last))
    number = session.execute(stmt).scalar_one()
    return f"{agency.code}-{day:%y%m%d}-{number:04d}"


def submit(p, user, procedure_code: str, data: dict, files: dict | None = None,
           agency_code: str | None = None) -> dict:
    """Submit a dossier online to ``agency_code`` (one of the procedure's receiving agencies:
    required when it has several): check the form and files, give it a code and an
    appointment date, start its process. Nothing is kept if anything is wrong."""
    if user is None:
        raise PermissionDenied("Sign in to submit a dossier.", vi="Hãy đăng nhập để nộp hồ sơ.")
    with p.db.transaction() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == procedure_code)).scalar()
        if procedure is None or procedure.active_version is None:
            raise NotFound(f"No procedure {procedure_code!r}.",
                           vi=f"Không có thủ tục {procedure_code!r}.")
        version = procedure.active_version
        agency = receiving_agency(session, procedure, agency_code)
        schema = application_form(version)
        received_at = clock.now()
        due_at = deadlines.initial_due_at(load_calendar(session), version.meta, received_at,
                                          "online")
        applicant = session.get(User, user.id)
        dossier = Dossier(code=next_code(session, agency, received_at),
                          procedure_id=procedure.id, version_id=version.id,
                          agency_id=agency.id, applicant_id=applicant.id,
                          status="submitted", channel="online", received_at=received_at,
                          due_at=due_at, data={})
        session.add(dossier)
        session.flush()
        stored = forms.store_uploads(p, session, schema, files, dossier=dossier, user_id=user.id)
        dossier.data = forms.validate(schema, {**(data or {}), **stored})
        audit.append(session, actor=user.username, action="submit", dossier_id=dossier.id,
                     detail={"procedure": procedure.code, "version": version.number,
                             "agency": agency.code, "due_at": due_at.isoformat()})
        runtime.start(p, session, dossier, initial_data(dossier, applicant),
                      actor=user.username)
        return {"code": dossier.code, "status": dossier.status,
                "received_at": dossier.received_at.isoformat(),
                "due_at": dossier.due_at.isoformat(), "agency": agency.code}


def receiving_agency(session: Session, procedure: Procedure, agency_code: str | None) -> Agency:
    """The agency a submission goes to: the applicant's choice among the procedure's receiving
    agencies (e.g. one of the district finance offices), or the only one there is."""
    agencies = receiving_agencies(session, procedure)
    if not agencies:
        raise InvalidData("This procedure has no receiving agency yet.",
                          vi="Thủ tục chưa có cơ quan tiếp nhận hồ sơ.")
    code = (agency_code or "").strip()
    if code:
        chosen = next((a for a in agencies if a.code == code), None)
        if chosen is None:
            raise InvalidData(
                f"Agency {code!r} does not receive dossiers of this procedure.",
                vi=f"Cơ quan {code!r} không tiếp nhận hồ sơ của thủ tục này.",
                details=[{"field": "agency",
                          "message": "Choose one of the agencies that receive this procedure.",
                          "message_vi": "Hãy chọn một trong các cơ quan tiếp nhận thủ tục này."}])
        return chosen
    if len(agencies) > 1:
        raise InvalidData(
            "Choose the agency that receives your dossier.",
            vi="Hãy chọn cơ quan tiếp nhận hồ sơ.",
            details=[{"field": "agency",
                      "message": "Choose the agency that receives your dossier (one of "
                                 f"{', '.join(a.code for a in agencies)}).",
                      "message_vi": "Hãy chọn cơ quan tiếp nhận hồ sơ."}])
    return agencies[0]


def initial_data(dossier: Dossier, applicant: User) -> dict:
    """The workflow data a process starts with (see bpmn/README.md)."""
    return {
        "dossier": {"code": dossier.code, "received_at": dossier.received_at.isoformat(),
                    "due_at": dossier.due_at.isoformat(), "agency_code": dossier.agency.code,
                    "agency_name": dossier.agency.name_vi, "procedure": dossier.procedure.code,
                    "applicant": {"name": applicant.full_name, "email": applicant.email,
                                  "id_number": applicant.id_number}},
        "application": dict(dossier.data),
    }


def _find(session: Session, code: str) -> Dossier:
    dossier = session.execute(select(Dossier).where(Dossier.code == code.strip())).scalar()
    if dossier is None:
        raise NotFound(f"No dossier with code {code!r}.", vi=f"Không tìm thấy hồ sơ mã {code!r}.")
    return dossier


#: The status look-up's one indexed read of the dossier: its own columns and the names it
#: shows. Never a version's ``meta`` (:func:`engine.versions.version_meta` caches it by
#: version id) nor the eager joins of the ORM classes.
_LOOKUP = (
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
_LOOKUP_BY_CODE = _LOOKUP.where(Dossier.code == bindparam("code"))
_LOOKUP_MINE = (_LOOKUP.where(Dossier.applicant_id == bindparam("user_id"))
                .order_by(Dossier.received_at.desc(), Dossier.id.desc()))


def _record(session: Session, row) -> SimpleNamespace:
    """A read-only stand-in for a :class:`Dossier` with what :func:`summary`,
    :func:`dossier_view` and the visibility rules read (``procedure``, ``agency``,
    ``applicant``, ``version.meta``), built from a :data:`_LOOKUP` row."""
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


def get_dossier(p, code: str, *, user=None, id_number: str | None = None) -> dict:
    """A dossier as its applicant, its agency's staff, or anyone with the code and the
    applicant's ID number sees it.

    The status look-up, the API's hottest call: one read transaction (it never waits for a
    step, nor blocks one), Core queries only, the version's meta from the in-process cache.
    """
    with p.db.read() as session:
        row = session.execute(_LOOKUP_BY_CODE, {"code": code.strip()}).first()
        if row is None:
            raise NotFound(f"No dossier with code {code!r}.",
                           vi=f"Không tìm thấy hồ sơ mã {code!r}.")
        dossier = _record(session, row)
        by_id = bool(id_number) and id_number.strip() == dossier.applicant.id_number
        if not (by_id or can_see_dossier(user, dossier)):
            # The same answer as for an unknown code: a code alone reveals nothing.
            raise NotFound(f"No dossier with code {code!r} for this person.",
                           vi=f"Không tìm thấy hồ sơ mã {code!r} của người này.")
        return dossier_view(session, dossier, viewer=user)


def summary(dossier: Dossier) -> dict:
    vi, en = STATUS_LABELS.get(dossier.status, (dossier.status, dossier.status))
    return {"code": dossier.code,
            "procedure": {"code": dossier.procedure.code, "name_vi": dossier.procedure.name_vi,
                          "name_en": dossier.procedure.name_en},
            "agency": {"code": dossier.agency.code, "name_vi": dossier.agency.name_vi,
                       "name_en": dossier.agency.name_en},
            "applicant": {"name": dossier.applicant.full_name},
            "status": dossier.status, "status_vi": vi, "status_en": en,
            "channel": dossier.channel,
            "received_at": dossier.received_at.isoformat(),
            "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
            "finished_at": dossier.finished_at.isoformat() if dossier.finished_at else None}


_AGENCY = object()  # dossier_view's default viewer: the agency's side, which sees everything


def dossier_view(session: Session, dossier: Dossier, *, viewer=_AGENCY) -> dict:
    """Everything about a dossier; for a ``viewer`` on the applicant's side, without the
    result documents not issued yet (:func:`engine.documents.withheld`)."""
    view = summary(dossier)
    view["data"] = dossier.data
    # how its fee is paid and its result delivered (level 3: at the desk; 4: online)
    meta = dossier.version.meta or {}
    view["procedure"].update(level=meta.get("level", 4), online_label=meta.get("online_label", ""),
                             fee=meta.get("fee") or {}, results=sorted(meta.get("documents") or {}))
    # cooperating dossiers (liên thông): the one that started this one, those it started
    ids = {"id": dossier.id, "parent": dossier.parent_id}
    family = session.execute(_FAMILY, ids).all()
    view["parent"] = next((r.code for r in family if r.id == dossier.parent_id), None)
    view["children"] = [r.code for r in family if r.parent_id == dossier.id]
    view["history"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
        for e in session.execute(_HISTORY, ids)]
    view["steps"] = [
        {"task_id": t.id, "title": t.title, "role": t.role_code, "assignee": t.assignee,
         "due_at": t.due_at.isoformat() if t.due_at else None}
        for t in session.execute(_STEPS, ids)]
    view["documents"] = [
        document_view(d) for d in session.execute(_DOCUMENTS, ids)
        if viewer is _AGENCY or not withheld(viewer, dossier, d)]
    view["notifications"] = [
        {"at": o.created_at.isoformat(), "subject": o.subject, "status": o.status}
        for o in session.execute(_NOTIFICATIONS, ids)]
    # what a step asked for that is still being made, e.g. a slip (engine.jobs): pending
    # or failed jobs; that one failed, and why, only for the agency's side
    from .documents import is_agency_side
    from .models import Job

    staff = viewer is _AGENCY or is_agency_side(viewer, dossier)
    view["preparing"] = [
        {"kind": j.kind, "document": (j.payload or {}).get("document", ""),
         "title": (j.payload or {}).get("title", ""),
         "status": j.status if staff else "pending",
         "error": j.last_error if staff and j.status == "failed" else "",
         "attempts": j.attempts if staff else 0, "created_at": j.created_at.isoformat()}
        for j in session.execute(select(Job.kind, Job.payload, Job.status, Job.last_error,
                                        Job.attempts, Job.created_at)
                                 .where(Job.dossier_id == dossier.id, Job.status != "done")
                                 .order_by(Job.id))]
    return view


# dossier_view's reads: Core rows (no ORM identity map, no eager joins), built once.
_FAMILY = (select(Dossier.id, Dossier.code, Dossier.parent_id)
           .where(or_(Dossier.id == bindparam("parent"), Dossier.parent_id == bindparam("id")))
           .order_by(Dossier.id))
_HISTORY = (select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.dossier_id == bindparam("id")).order_by(AuditEvent.id))
_STEPS = (select(HumanTask.id, HumanTask.title, HumanTask.role_code, HumanTask.due_at,
                 User.username.label("assignee"))
          .outerjoin(User, User.id == HumanTask.assignee_id)
          .where(HumanTask.dossier_id == bindparam("id"), HumanTask.status == "open")
          .order_by(HumanTask.id))
_DOCUMENTS = (select(Document.id, Document.name, Document.filename, Document.media_type,
                     Document.size, Document.kind, Document.revision, Document.signatures,
                     Document.created_at)
              .where(Document.dossier_id == bindparam("id"))
              .order_by(Document.name, Document.revision))
_NOTIFICATIONS = (select(Outbox.created_at, Outbox.subject, Outbox.status)
                  .where(Outbox.dossier_id == bindparam("id")).order_by(Outbox.id))


def list_my_dossiers(p, user) -> list[dict]:
    """The applicant's dossiers, newest first (a read transaction)."""
    with p.db.read() as session:
        return [summary(_record(session, row))
                for row in session.execute(_LOOKUP_MINE, {"user_id": user.id})]
