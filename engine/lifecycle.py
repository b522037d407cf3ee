"""Ending a dossier outside its diagram: the applicant withdraws it (rút hồ sơ), or the
agency stops processing it (dừng xử lý). Both are national end states (DOMAIN.md §3).

No diagram draws these paths: any dossier that is not finished may end this way, whatever
its procedure. In one transaction (:func:`engine.runtime.run_step`, under the dossier's
lock) the workflow is cancelled — its open tasks, waiting timers and message waits go with
it when the rows are synced — the status becomes final, a stopped clock is closed, the
action is audited with its reason and the e-mails are queued in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, national, outbox, runtime, slip_fields, slips
from .deadlines import on_status_change
from .documents import can_see_dossier
from .dossier_view import summary
from .errors import Conflict, InvalidData, PermissionDenied
from .lookup import by_code
from .models import Dossier, User, UserRole
from .vocabulary import FINAL_STATUSES, STOPPING_ROLES, AuditAction, RoleCode, Status

#: Roles of the dossier's agency that may stop processing it.
MAX_REASON = 2000

_WITHDRAWN_APPLICANT = (
    "Đã rút hồ sơ {code}",
    "Kính gửi {applicant},\n\nHồ sơ {code} đề nghị thủ tục \"{procedure}\" đã được rút theo "
    "đề nghị của Quý vị.\nLý do: {reason}\n\nChi tiết hồ sơ: {link}",
    "Dossier {code} withdrawn",
    "Dear {applicant},\n\nDossier {code} for \"{procedure}\" has been withdrawn at your "
    "request.\nReason: {reason}\n\nDossier details: {link}",
)
_WITHDRAWN_OFFICERS = (
    "Người nộp đã rút hồ sơ {code}",
    "Hồ sơ {code} (thủ tục \"{procedure}\") của {applicant} đã được người nộp rút.\n"
    "Lý do: {reason}\nCác bước đang chờ xử lý của hồ sơ đã được hủy.\n\nChi tiết hồ sơ: {link}",
    "Dossier {code} withdrawn by the applicant",
    "Dossier {code} (\"{procedure}\") of {applicant} was withdrawn by the applicant.\n"
    "Reason: {reason}\nIts open steps have been cancelled.\n\nDossier details: {link}",
)
_STOPPED_APPLICANT = (
    "Thông báo dừng xử lý hồ sơ {code}",
    "Kính gửi {applicant},\n\nCơ quan giải quyết dừng xử lý hồ sơ {code} đề nghị thủ tục "
    "\"{procedure}\".\nLý do: {reason}\n\nChi tiết hồ sơ: {link}",
    "Processing of dossier {code} stopped",
    "Dear {applicant},\n\nThe agency has stopped processing dossier {code} for "
    "\"{procedure}\".\nReason: {reason}\n\nDossier details: {link}",
)


def withdraw(p, code: str, user, reason: str) -> dict:
    """The applicant withdraws their unfinished dossier; the agency's reception officers
    and the applicant are told. Returns the dossier's summary.

    NotFound for anyone who may not see the dossier, PermissionDenied for staff who may,
    Conflict when it is already finished, InvalidData without a reason.
    """
    def allowed(dossier: Dossier) -> bool:
        return user is not None and dossier.applicant_id == user.id

    def notify(session: Session, dossier: Dossier, values: dict, applicant: bool) -> None:
        if applicant:
            _email(session, dossier, "withdrawn", _applicant(dossier), _WITHDRAWN_APPLICANT,
                   values)
        for email in _officer_emails(session, dossier.agency_id, RoleCode.RECEPTION):
            _email(session, dossier, "withdrawn", email, _WITHDRAWN_OFFICERS, values)

    return _end(p, code, user, reason, status=Status.WITHDRAWN, action=AuditAction.WITHDRAW,
                allowed=allowed, notify=notify, applicant_texts=_WITHDRAWN_APPLICANT,
                refused=("Only the applicant may withdraw a dossier.",
                         "Chỉ người nộp mới được rút hồ sơ."))


def stop_processing(p, code: str, user, reason: str) -> dict:
    """The agency stops processing the dossier (dừng xử lý): a staff member holding
    ``head`` or ``reception`` in the dossier's agency. The applicant is told why."""
    def allowed(dossier: Dossier) -> bool:
        return user is not None and any(user.has_role(role, dossier.agency.code)
                                        for role in STOPPING_ROLES)

    def notify(session: Session, dossier: Dossier, values: dict, applicant: bool) -> None:
        if applicant:
            _email(session, dossier, "stopped", _applicant(dossier), _STOPPED_APPLICANT,
                   values)

    return _end(p, code, user, reason, status=Status.STOPPED, action=AuditAction.STOP,
                allowed=allowed, notify=notify, applicant_texts=_STOPPED_APPLICANT,
                refused=("Only the agency's head or reception officers may stop processing "
                         "a dossier.",
                         "Chỉ lãnh đạo hoặc bộ phận tiếp nhận của cơ quan giải quyết mới được "
                         "dừng xử lý hồ sơ."))


def can_withdraw(user, dossier: dict) -> bool:
    """Whether a page should offer ``user`` the withdraw button on this dossier view, which
    only its applicant and the agency's staff can see (the engine checks again)."""
    return (user is not None and not user.is_staff
            and dossier.get("status") not in FINAL_STATUSES)


def can_stop(user, dossier: dict) -> bool:
    """Whether the page should offer ``user`` the stop button on this dossier view."""
    agency = (dossier.get("agency") or {}).get("code")
    return (user is not None and dossier.get("status") not in FINAL_STATUSES
            and any(user.has_role(role, agency) for role in STOPPING_ROLES))


def _end(p, code: str, user, reason: str, *, status: str, action: str,
         allowed: Callable[[Dossier], bool], notify: Callable, refused: tuple[str, str],
         applicant_texts: tuple[str, str, str, str]) -> dict:
    reason = _reason(reason)
    with p.db.transaction() as session:
        # As get_dossier: a code alone reveals nothing.
        dossier = by_code(session, Dossier, code, for_person=True,
                          where=lambda row: allowed(row) or can_see_dossier(user, row))
        if not allowed(dossier):
            raise PermissionDenied(refused[0], vi=refused[1])
        actor = user.username

        def finish(step: runtime.Step) -> None:
            dossier = step.dossier  # re-read under the lock
            if dossier.status in FINAL_STATUSES:
                raise _finished(dossier)
            before = dossier.status
            step.workflow.cancel()
            dossier.status = status
            dossier.finished_at = clock.now()
            audit.append(step.session, actor=actor, action=action, dossier_id=dossier.id,
                         detail={"from": before, "to": status, "reason": reason})
            on_status_change(step.session, step.context.calendar, dossier, before, status,
                             actor=actor)
            national.record_status(step.context)
            values = _values(p, dossier, reason)
            notice = _stop_notice(step, status, reason, applicant_texts, values)
            notify(step.session, dossier, values, not notice)

        runtime.run_step(p, dossier.id, finish, actor=actor, session=session)
        _end_related(p, session, dossier, status=status, action=action, actor=actor,
                     reason=reason, upwards=status == "stopped")
        return summary(dossier)


def _stop_notice(step: runtime.Step, status: str, reason: str,
                 texts: tuple[str, str, str, str], values: dict) -> bool:
    """Issue the notice of stopped processing (Circular 03/2025 form 05) when the dossier's
    form set has one: the slip carries the applicant's e-mail (these texts, the PDF
    attached). False when the set has no such form (Circular 01/2018): the plain e-mail
    goes instead."""
    dossier = step.dossier
    form = slip_fields.form_set_of(dossier).forms.get("stop")
    if form is None:
        return False
    email = None
    if dossier.applicant.email:
        from signing.template import fill

        subject_vi, body_vi, subject_en, body_en = (fill(t, values) for t in texts)
        recipient = dossier.applicant.email
        email = {"recipient": recipient, "subject": f"{subject_vi} / {subject_en}",
                 "body": f"{body_vi}\n\n--\n{body_en}",
                 "key": f"{dossier.code}:{status}:{recipient}"}
    slips.request_slip(step.context, form, key=f"{dossier.code}:slip-{form.number}:{status}",
                       reason=reason, email=email)
    return True


_RELATED_OFFICERS = (
    "Hồ sơ liên thông {code} đã kết thúc",
    "Hồ sơ {code} (thủ tục \"{procedure}\") đã kết thúc theo hồ sơ liên thông {origin}.\n"
    "Lý do: {reason}\nCác bước đang chờ xử lý của hồ sơ đã được hủy.\n\nChi tiết hồ sơ: {link}",
    "Linked dossier {code} ended",
    "Dossier {code} (\"{procedure}\") has ended with its linked dossier {origin}.\n"
    "Reason: {reason}\nIts open steps have been cancelled.\n\nDossier details: {link}",
)


def _end_related(p, session: Session, origin: Dossier, *, status: str, action: str,
                 actor: str, reason: str, upwards: bool) -> None:
    """End the cooperating dossiers of ``origin`` with it (liên thông): those it started
    (a withdrawn district dossier withdraws the Department's), and, when an agency stops
    processing, also the one that started it, which would otherwise wait for ever for an
    answer. Each in its own step of the same transaction; their agencies' reception
    officers are told."""
    seen = {origin.id}
    queue = [origin]
    while queue:
        current = queue.pop()
        related = list(session.execute(select(Dossier).where(
            Dossier.parent_id == current.id)).scalars())
        if upwards and current.parent_id:
            related.append(session.get(Dossier, current.parent_id))
        for dossier in related:
            if dossier is None or dossier.id in seen:
                continue
            seen.add(dossier.id)
            queue.append(dossier)

            def finish(step: runtime.Step) -> None:
                linked = step.dossier
                if linked.status in FINAL_STATUSES:
                    return
                before = linked.status
                step.workflow.cancel()
                linked.status = status
                linked.finished_at = clock.now()
                audit.append(step.session, actor=actor, action=action, dossier_id=linked.id,
                             detail={"from": before, "to": status, "reason": reason,
                                     "with": origin.code})
                on_status_change(step.session, step.context.calendar, linked, before, status,
                                 actor=actor)
                national.record_status(step.context)
                values = {**_values(p, linked, reason), "origin": origin.code}
                for email in _officer_emails(step.session, linked.agency_id, RoleCode.RECEPTION):
                    _email(step.session, linked, status, email, _RELATED_OFFICERS, values)

            runtime.run_step(p, dossier.id, finish, actor=actor, session=session)


def _reason(reason) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise InvalidData("Give the reason.", vi="Hãy nêu lý do.",
                          details=[{"field": "reason", "message": "Give the reason.",
                                    "message_vi": "Hãy nêu lý do."}])
    if len(text) > MAX_REASON:
        message = f"The reason is longer than {MAX_REASON} characters."
        vi = f"Lý do dài quá {MAX_REASON} ký tự."
        raise InvalidData(message, vi=vi,
                          details=[{"field": "reason", "message": message, "message_vi": vi}])
    return text


def _finished(dossier: Dossier) -> Conflict:
    vi, en = Status.label_of(dossier.status, "vi"), Status.label_of(dossier.status, "en")
    return Conflict(f"Dossier {dossier.code} is already finished ({en}): it can no longer be "
                    "withdrawn or stopped.",
                    vi=f"Hồ sơ {dossier.code} đã kết thúc ({vi}): không thể rút hoặc dừng xử "
                       "lý nữa.")


def _values(p, dossier: Dossier, reason: str) -> dict:
    return {"code": dossier.code, "procedure": dossier.procedure.name_vi,
            "applicant": dossier.applicant.full_name, "reason": reason,
            "link": f"{p.settings.public_url}/ho-so/{dossier.code}"}


def _applicant(dossier: Dossier) -> tuple[str, str]:
    return dossier.applicant.email, dossier.applicant.language or "vi"


def _officer_emails(session: Session, agency_id: int, role: str) -> list[tuple[str, str]]:
    """``(address, language)`` of the agency's active officers holding ``role``."""
    rows = session.execute(
        select(User.email, User.language).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role_code == role, UserRole.agency_id == agency_id,
               User.active.is_(True))).all()
    return sorted({(email, language or "vi") for email, language in rows if email})


def _email(session: Session, dossier: Dossier, event: str, recipient: tuple[str, str],
           texts: tuple[str, str, str, str], values: dict) -> None:
    """Queue one e-mail to ``recipient`` (address, language) in that language alone."""
    from signing.template import fill

    address, lang = recipient
    subject_vi, body_vi, subject_en, body_en = texts
    subject, body = (subject_en, body_en) if lang == "en" else (subject_vi, body_vi)
    outbox.enqueue_email(session, key=f"{dossier.code}:{event}:{address}",
                         recipient=address, subject=fill(subject, values),
                         body=fill(body, values), dossier_id=dossier.id)
