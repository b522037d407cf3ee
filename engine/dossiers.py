"""Dossiers (hồ sơ): submission, codes, appointment dates, what applicants and officers see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import audit, clock, forms, runtime
from .calendar import load_calendar
from .documents import can_see_dossier
from .documents import view as document_view
from .errors import InvalidData, NotFound, PermissionDenied
from .models import AuditEvent, Document, Dossier, HumanTask, Outbox, Procedure, User
from .procedures import application_form

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


def submit(p, user, procedure_code: str, data: dict, files: dict | None = None) -> dict:
    """Submit a dossier online: check the form and files, give it a code and an appointment
    date, start its process. Nothing is kept if anything is wrong."""
    if user is None:
        raise PermissionDenied("Sign in to submit a dossier.", vi="Hãy đăng nhập để nộp hồ sơ.")
    with p.db.transaction() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == procedure_code)).scalar()
        if procedure is None or procedure.active_version is None:
            raise NotFound(f"No procedure {procedure_code!r}.",
                           vi=f"Không có thủ tục {procedure_code!r}.")
        version = procedure.active_version
        if procedure.agency is None:
            raise InvalidData("This procedure has no handling agency yet.",
                              vi="Thủ tục chưa có cơ quan giải quyết.")
        schema = application_form(version)
        received_at = clock.now()
        deadline = version.meta.get("deadline") or {"value": 0, "unit": "working_days"}
        due_at = load_calendar(session).add(received_at, deadline["value"], deadline["unit"])
        applicant = session.get(User, user.id)
        dossier = Dossier(code=next_code(session, procedure.agency, received_at),
                          procedure_id=procedure.id, version_id=version.id,
                          agency_id=procedure.agency.id, applicant_id=applicant.id,
                          status="submitted", channel="online", received_at=received_at,
                          due_at=due_at, data={})
        session.add(dossier)
        session.flush()
        stored = forms.store_uploads(p, session, schema, files, dossier=dossier, user_id=user.id)
        dossier.data = forms.validate(schema, {**(data or {}), **stored})
        audit.append(session, actor=user.username, action="submit", dossier_id=dossier.id,
                     detail={"procedure": procedure.code, "version": version.number,
                             "due_at": due_at.isoformat()})
        runtime.start(p, session, dossier, initial_data(dossier, applicant),
                      actor=user.username)
        return {"code": dossier.code, "status": dossier.status,
                "received_at": dossier.received_at.isoformat(),
                "due_at": dossier.due_at.isoformat()}


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


def get_dossier(p, code: str, *, user=None, id_number: str | None = None) -> dict:
    """A dossier as its applicant, its agency's staff, or anyone with the code and the
    applicant's ID number sees it."""
    with p.db.transaction() as session:
        dossier = _find(session, code)
        by_id = bool(id_number) and id_number.strip() == dossier.applicant.id_number
        if not (by_id or can_see_dossier(user, dossier)):
            # The same answer as for an unknown code: a code alone reveals nothing.
            raise NotFound(f"No dossier with code {code!r} for this person.",
                           vi=f"Không tìm thấy hồ sơ mã {code!r} của người này.")
        return dossier_view(session, dossier)


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


def dossier_view(session: Session, dossier: Dossier) -> dict:
    view = summary(dossier)
    view["data"] = dossier.data
    view["history"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
        for e in session.execute(select(AuditEvent).where(AuditEvent.dossier_id == dossier.id)
                                 .order_by(AuditEvent.id)).scalars()]
    view["steps"] = [
        {"task_id": t.id, "title": t.title, "role": t.role_code,
         "assignee": t.assignee.username if t.assignee else None,
         "due_at": t.due_at.isoformat() if t.due_at else None}
        for t in session.execute(select(HumanTask).where(HumanTask.dossier_id == dossier.id,
                                                         HumanTask.status == "open")
                                 .order_by(HumanTask.id)).scalars()]
    view["documents"] = [
        document_view(d) for d in session.execute(
            select(Document).where(Document.dossier_id == dossier.id)
            .order_by(Document.name, Document.revision)).scalars()]
    view["notifications"] = [
        {"at": o.created_at.isoformat(), "subject": o.subject, "status": o.status}
        for o in session.execute(select(Outbox).where(Outbox.dossier_id == dossier.id)
                                 .order_by(Outbox.id)).scalars()]
    return view


def list_my_dossiers(p, user) -> list[dict]:
    with p.db.transaction() as session:
        rows = session.execute(select(Dossier).where(Dossier.applicant_id == user.id)
                               .order_by(Dossier.received_at.desc())).scalars().all()
        return [summary(d) for d in rows]
