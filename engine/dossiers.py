"""Dossiers (hồ sơ): submission, codes, appointment dates, what applicants and officers see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import audit, clock, deadlines, forms, runtime
from .calendar import load_calendar
from .documents import can_see_dossier, withheld
from .documents import view as document_view
from .errors import InvalidData, NotFound, PermissionDenied
from .models import Agency, AuditEvent, Document, Dossier, HumanTask, Outbox, Procedure, User
from .procedures import application_form, receiving_agencies

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
    view["parent"] = session.execute(select(Dossier.code).where(
        Dossier.id == dossier.parent_id)).scalar() if dossier.parent_id else None
    view["children"] = list(session.execute(select(Dossier.code).where(
        Dossier.parent_id == dossier.id).order_by(Dossier.id)).scalars())
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
            .order_by(Document.name, Document.revision)).scalars()
        if viewer is _AGENCY or not withheld(viewer, dossier, d)]
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
