"""Dossiers received at the counter or by post (tiếp nhận trực tiếp, qua bưu chính).

A reception officer enters the dossier for its applicant: the applicant is found by ID
number (CCCD) or tax code, or created with their contact details (an account without a
usable password: they follow the dossier with its code and their ID number at
``/tra-cuu``, or set a password later). The form is the procedure's own application form
with the scanned documents attached; the channel and the officer are recorded; the
appointment follows the procedure's deadline for that channel. From there the dossier runs
like any other: the diagram's reception step checks it and issues slip 01.

Nothing here names a procedure.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, forms, outside
from .accounts import hash_password
from .calendar import calendar_and_settings
from .dossiers import application_form, opening, receiving_agency, start_process
from .errors import InvalidData, PermissionDenied
from .lookup import by_code
from .models import Agency, Dossier, Procedure, User, UserRole
from .procedures import receiving_agencies
from .step import load
from .vocabulary import COUNTER_CHANNELS, Channel, RoleCode

#: Channels an officer records (``online`` is the applicant's own submission).
CHANNELS = COUNTER_CHANNELS
APPLICANT_KINDS = ("citizen", "firm")
#: A CCCD has 12 digits, an old ID card 9, a tax code 10 (13 with a branch suffix).
_ID_NUMBER = re.compile(r"^\d{9,13}(-\d{3})?$")


def _field_error(field: str, en: str, vi: str) -> InvalidData:
    return InvalidData(en, vi=vi, details=[{"field": field, "message": en, "message_vi": vi}])


def clean_id_number(id_number: str) -> str:
    value = (id_number or "").strip().replace(" ", "")
    if not _ID_NUMBER.match(value):
        raise _field_error("id_number", "Enter the applicant's ID number (CCCD, 12 digits) or tax "
                           "code (10 digits).",
                           "Hãy nhập số CCCD (12 chữ số) hoặc mã số thuế (10 chữ số) của người nộp.")
    return value


def find_applicant(p, id_number: str) -> dict | None:
    """The applicant with this ID number or tax code ``{id_number, full_name, email, phone,
    kind}``, or None."""
    value = clean_id_number(id_number)
    with p.db.read() as session:
        user = session.execute(select(User).where(User.id_number == value, User.kind != "staff")
                               .order_by(User.id).limit(1)).scalar()
        if user is None:
            return None
        return {"id_number": user.id_number, "full_name": user.full_name, "email": user.email,
                "phone": user.phone, "kind": user.kind}


def reception_agencies(officer) -> list[str]:
    """Codes of the agencies where ``officer`` receives dossiers (role ``reception``)."""
    return sorted({agency for role, agency in officer.roles if role == RoleCode.RECEPTION})


def receive(p, officer, procedure_code: str, applicant: dict, data: dict,
            files: dict | None = None, *, channel: str = Channel.COUNTER,
            agency_code: str | None = None) -> dict:
    """Enter a dossier received at the counter or by post for ``applicant`` (found by
    ``id_number``, else created from ``full_name``, ``email``, ``phone``, ``kind``). The
    officer must receive dossiers at the receiving agency. Nothing is kept if anything is
    wrong. Returns ``{code, status, due_at, agency, channel}``."""
    if channel not in CHANNELS:
        raise _field_error("channel", "Choose how the dossier arrived: at the counter or by post.",
                           "Hãy chọn hình thức tiếp nhận: trực tiếp hoặc qua bưu chính.")
    id_number = clean_id_number(applicant.get("id_number", ""))
    return outside.attempts(lambda: _receive(p, officer, procedure_code, applicant, id_number,
                                             data, files, channel, agency_code))


def _receive(p, officer, procedure_code, applicant, id_number, data, files, channel,
             agency_code) -> dict:
    with p.db.transaction() as session:
        procedure = by_code(session, Procedure, procedure_code,
                            where=lambda row: row.active_version_id is not None)
        agency = receiving_agency(session, procedure, agency_code or _own_agency(
            session, officer, procedure))
        _check_officer(session, officer, agency)
        version = load.version_by_id(session, procedure.active_version_id)
        person = _applicant(session, applicant, id_number)
        calendar, settings = calendar_and_settings(session)
        new = opening(session, procedure=procedure, version=version, agency=agency,
                      applicant=person, channel=channel, calendar=calendar, settings=settings)
        schema = application_form(version)
        # the files are checked and stored, then written with the dossier's row
        stored = forms.store_uploads(p, session, schema, files, dossier=new, user_id=officer.id,
                                     opened=True)
        dossier = new.written(session)
        dossier.received_by_id = officer.id
        dossier.data = forms.validate(schema, {**(data or {}), **stored})
        audit.append(session, actor=officer.username, action="receive_at_counter",
                     dossier_id=dossier.id,
                     detail={"procedure": procedure.code, "version": version.number,
                             "agency": agency.code, "channel": channel,
                             "applicant": person.username, "due_at": dossier.due_at.isoformat()})
        start_process(p, session, dossier, person, version, actor=officer.username,
                      calendar=calendar)
        return {"code": dossier.code, "status": dossier.status, "channel": channel,
                "due_at": dossier.due_at.isoformat(), "agency": agency.code,
                "applicant": person.full_name, "id_number": person.id_number}


def _own_agency(session: Session, officer, procedure: Procedure) -> str | None:
    """The one receiving agency of the procedure where the officer receives, if there is one."""
    mine = set(reception_agencies(officer))
    matching = [a.code for a in receiving_agencies(session, procedure) if a.code in mine]
    return matching[0] if len(matching) == 1 else None


def _check_officer(session: Session, officer, agency: Agency) -> None:
    holds = session.execute(select(UserRole).where(
        UserRole.user_id == officer.id, UserRole.role_code == RoleCode.RECEPTION,
        UserRole.agency_id == agency.id)).scalar()
    if holds is None:
        raise PermissionDenied(
            f"Only reception officers of {agency.name_vi} receive its dossiers.",
            vi=f"Chỉ cán bộ tiếp nhận của {agency.name_vi} được tiếp nhận hồ sơ của cơ quan này.")


def _applicant(session: Session, applicant: dict, id_number: str) -> User:
    user = session.execute(select(User).where(User.id_number == id_number, User.kind != "staff")
                           .order_by(User.id).limit(1)).scalar()
    if user is not None:
        return user
    full_name = " ".join((applicant.get("full_name") or "").split())
    if not full_name:
        raise _field_error("full_name", "No applicant has this ID number yet: enter their full name "
                           "and contact details.",
                           "Chưa có người nộp với số giấy tờ này: hãy nhập họ tên và thông tin "
                           "liên hệ.")
    kind = applicant.get("kind") if applicant.get("kind") in APPLICANT_KINDS else "citizen"
    username = id_number
    if session.execute(select(User.id).where(User.username == username)).scalar() is not None:
        username = f"{id_number}-{secrets.token_hex(3)}"
    # No password anyone knows: the applicant follows the dossier with its code and ID number.
    user = User(username=username, password_hash=hash_password(secrets.token_urlsafe(24)),
                full_name=full_name, kind=kind, email=(applicant.get("email") or "").strip(),
                phone=(applicant.get("phone") or "").strip(), id_number=id_number)
    session.add(user)
    session.flush()
    return user


def procedures_received_by(p, officer) -> list[dict]:
    """The procedures whose dossiers ``officer`` receives ``{code, name_vi, name_en,
    agencies}`` (the agencies among those they receive at)."""
    mine = set(reception_agencies(officer))
    out = []
    with p.db.read() as session:
        for procedure in session.execute(select(Procedure).where(
                Procedure.active_version_id.is_not(None)).order_by(Procedure.name_vi)).scalars():
            agencies = [a.code for a in receiving_agencies(session, procedure) if a.code in mine]
            if agencies:
                out.append({"code": procedure.code, "name_vi": procedure.name_vi,
                            "name_en": procedure.name_en, "agencies": agencies})
    return out


def awaiting_hand_over(p, officer, limit: int = 50) -> list[dict]:
    """Processed dossiers of the officer's reception agencies whose result has not reached
    the applicant yet, oldest first ``{code, procedure, applicant, finished_at}``."""
    mine = reception_agencies(officer)
    if not mine:
        return []
    with p.db.read() as session:
        rows = session.execute(
            select(Dossier.code, Procedure.name_vi, Procedure.name_en, User.full_name,
                   Dossier.finished_at)
            .join(Procedure, Procedure.id == Dossier.procedure_id)
            .join(User, User.id == Dossier.applicant_id)
            .join(Agency, Agency.id == Dossier.agency_id)
            .where(Dossier.status == "processed", Agency.code.in_(mine))
            .order_by(Dossier.finished_at).limit(limit)).all()
    return [{"code": r.code, "procedure_vi": r.name_vi, "procedure_en": r.name_en,
             "applicant": r.full_name, "finished_at": r.finished_at.isoformat()} for r in rows]
