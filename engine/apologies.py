"""Apologies before the appointment (văn bản xin lỗi và đề nghị gia hạn, form 04).

The rules want the agency to apologise **before** the appointment date, with the real
reason and a new date an officer decides (Circular 03/2025 form 04; Circular 01/2018 form
04 for older dossiers). So an officer of the dossier's agency — its handler or its head —
issues it (:func:`apologise`) while the dossier is open and its date has not passed:

- the new date is a working day on the calendar (announced days off included), later than
  the current appointment, and ends at the close of day an administrator set;
- in one step (under the dossier's lock) the appointment ``due_at`` moves (only it: the
  appointment before any apology is the statistics' business), the event is audited with
  the reason and both dates, the diagram's deadline timers are set again from the new date
  (a timer whose date was computed from the old one would otherwise still fire), and the
  apology slip of the dossier's form set is issued, sealed by the agency and sent to the
  applicant through the channels they chose.

Diagrams warn the handler and the head one working day before the date (the ``notify``
operator with ``to: 'handler,head'``), and a dossier whose date passes without an apology
is flagged (:func:`flag_late`, and :func:`is_late` for lists).
"""

from __future__ import annotations

from datetime import date, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import audit, clock, outbox, runtime, slip_fields, slips
from .documents import can_see_dossier
from .errors import Conflict, InvalidData, PermissionDenied
from .lifecycle import _officer_emails, _reason
from .lookup import by_code
from .models import Dossier
from .operators import StepContext, operator
from .vocabulary import FINAL_STATUSES, RoleCode

#: Roles of the dossier's agency that may apologise and extend.
APOLOGISING_ROLES = (RoleCode.HANDLER, RoleCode.HEAD)


def can_apologise(user, dossier: dict) -> bool:
    """Whether a page should offer ``user`` the apology form on this dossier view."""
    agency = (dossier.get("agency") or {}).get("code")
    return (user is not None and dossier.get("status") not in FINAL_STATUSES
            and any(user.has_role(role, agency) for role in APOLOGISING_ROLES))


def is_late(dossier: Dossier, now: datetime | None = None) -> bool:
    """The dossier is open and its appointment (moved by any apology) has passed."""
    now = now or clock.now()
    return (dossier.status not in FINAL_STATUSES and dossier.due_at is not None
            and dossier.clock_stopped_at is None and dossier.due_at < now)


def _new_day(value) -> date:
    if isinstance(value, datetime):
        return value.astimezone(clock.VIETNAM).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise _invalid("new_date", "Give the new appointment date as YYYY-MM-DD.",
                       "Hãy nhập ngày hẹn trả mới (năm-tháng-ngày).") from None


def _invalid(field: str, message: str, vi: str) -> InvalidData:
    return InvalidData(message, vi=vi,
                       details=[{"field": field, "message": message, "message_vi": vi}])


def apologise(p, code: str, user, reason: str, new_date) -> dict:
    """The officer ``user`` apologises for dossier ``code`` and moves its appointment to the
    close of day of ``new_date`` (a working day after the current appointment). Returns
    ``{code, previous_due_at, due_at, job}``.

    NotFound for anyone who may not see the dossier, PermissionDenied for staff without the
    handler or head role in its agency, Conflict when it is finished or its date has passed
    (then it is late: the apology comes too late), InvalidData for a missing reason or a bad
    date."""
    reason = _reason(reason)
    day = _new_day(new_date)
    with p.db.transaction() as session:
        dossier = by_code(session, Dossier, code, where=lambda row: can_see_dossier(user, row),
                          for_person=True)
        if not any(user.has_role(role, dossier.agency.code) for role in APOLOGISING_ROLES):
            raise PermissionDenied(
                "Only the dossier's handling officers or the agency's head may apologise and "
                "extend its appointment.",
                vi="Chỉ chuyên viên thụ lý hoặc lãnh đạo cơ quan giải quyết mới được ban hành "
                   "văn bản xin lỗi và gia hạn.")

        def act(step: runtime.Step) -> dict:
            dossier = step.dossier  # re-read under the lock
            calendar = step.context.calendar
            if dossier.status in FINAL_STATUSES:
                raise Conflict(f"Dossier {dossier.code} is finished: there is nothing to extend.",
                               vi=f"Hồ sơ {dossier.code} đã kết thúc: không còn gì để gia hạn.")
            now = clock.now()
            before = dossier.due_at
            if before is None or before <= now:
                raise Conflict(
                    f"The appointment of dossier {dossier.code} has passed: an apology must be "
                    "issued before the appointment date.",
                    vi=f"Hồ sơ {dossier.code} đã quá ngày hẹn trả: văn bản xin lỗi phải ban "
                       "hành trước ngày hẹn.")
            if not calendar.is_working_day(day):
                raise _invalid("new_date", f"{day:%d/%m/%Y} is not a working day.",
                               f"Ngày {day:%d/%m/%Y} không phải ngày làm việc.")
            moment = calendar._end_of(day)
            if moment <= before:
                raise _invalid("new_date", "The new appointment must be later than the "
                                           f"current one ({slip_fields.date_text(before)}).",
                               "Ngày hẹn mới phải sau ngày hẹn hiện tại "
                               f"({slip_fields.date_text(before)}).")
            dossier.due_at = moment
            reset_deadline_timers(step.workflow, dossier)
            audit.append(step.session, actor=user.username, action="apology",
                         dossier_id=dossier.id,
                         detail={"reason": reason, "from": before.isoformat(),
                                 "to": moment.isoformat()})
            form = slip_fields.form_set_of(dossier).form("apology")
            count = sum(1 for event in step.context.events if event == "apology")
            key = f"{dossier.code}:slip-{form.number}:apology:{moment:%Y%m%d}:{count}"
            job = slips.request_slip(step.context, form, key=key, reason=reason,
                                     new_due_at=moment, previous_due_at=before,
                                     email=_email(p, dossier, form, reason, moment, key))
            step.context.events.append("apology")
            return {"code": dossier.code, "previous_due_at": before.isoformat(),
                    "due_at": moment.isoformat(), "job": job}

        return runtime.run_step(p, dossier.id, act, actor=user.username, session=session)


def _email(p, dossier: Dossier, form, reason: str, moment: datetime, key: str) -> dict | None:
    recipient = dossier.applicant.email
    if not recipient:
        return None
    values = {"code": dossier.code, "procedure": dossier.procedure.name_vi,
              "applicant": dossier.applicant.full_name, "reason": reason,
              "agency": dossier.agency.name_vi, "due_date": slip_fields.date_text(moment),
              "link": f"{p.settings.public_url}/ho-so/{dossier.code}"}
    from signing.template import fill

    body_vi = fill("Kính gửi {applicant},\n\nHồ sơ {code} đề nghị thủ tục \"{procedure}\" chưa "
                   "thể giải quyết xong đúng hạn.\nLý do: {reason}\n{agency} trân trọng xin "
                   "lỗi và hẹn trả kết quả vào ngày {due_date}.\n\nTheo dõi hồ sơ: {link}",
                   values)
    body_en = fill("Dear {applicant},\n\nDossier {code} for \"{procedure}\" cannot be completed "
                   "by its appointment date.\nReason: {reason}\n{agency} apologises; the new "
                   "appointment date is {due_date}.\n\nFollow the dossier: {link}", values)
    subject = fill(form.subject, values)
    return {"recipient": recipient, "subject": subject, "body": f"{body_vi}\n\n--\n{body_en}",
            "key": f"{key}:{recipient}"}


def reset_deadline_timers(workflow, dossier: Dossier) -> int:
    """Give every waiting date timer the dossier's new appointment and let it compute its
    moment again (SpiffWorkflow keeps the first one it computed, and a waiting event takes
    its parent's data again each time it is checked, so the parent gets the new date too).
    Timers that wait for a duration or a cycle are left alone. Returns how many were
    reset."""
    due = dossier.due_at.isoformat()

    def give(task) -> None:
        data = task.data.get("dossier")
        if isinstance(data, dict):
            task.data["dossier"] = {**data, "due_at": due}

    count = 0
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.get_tasks(state=TaskState.NOT_FINISHED_MASK):
            give(task)
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, TimeDateEventDefinition) and task.state == TaskState.WAITING:
                if task.parent is not None:
                    give(task.parent)
                task.internal_data.pop("event_value", None)
                count += 1
    return count


LATE_OFFICERS = (
    "[Quá hạn] Hồ sơ {code} đã quá ngày hẹn trả mà chưa có văn bản xin lỗi",
    "Hồ sơ {code} (thủ tục \"{procedure}\") của {applicant} đã quá ngày hẹn trả kết quả "
    "{due_date} mà chưa có văn bản xin lỗi và gia hạn. Hồ sơ được ghi nhận là trễ hạn.\n\n"
    "Xử lý hồ sơ: {link}",
    "[Late] Dossier {code} passed its appointment without an apology",
    "Dossier {code} (\"{procedure}\") of {applicant} passed its appointment date {due_date} "
    "with no apology and extension. It is recorded as late.\n\nOpen the dossier: {link}",
)


@operator
def flag_late(step: StepContext, task, to: str = "handler,head") -> dict:
    """The dossier's appointment has passed with no apology: record it (audited ``late``)
    and tell the officers of roles ``to`` (comma-separated) of its agency. Lists flag such
    a dossier by its date (:func:`is_late`)."""
    from signing.template import fill

    dossier = step.dossier
    values = {"code": dossier.code, "procedure": dossier.procedure.name_vi,
              "applicant": dossier.applicant.full_name,
              "due_date": slip_fields.date_text(dossier.due_at),
              "link": f"{step.platform.settings.public_url}/ho-so/{dossier.code}"}
    subject_vi, body_vi, subject_en, body_en = (fill(t, values) for t in LATE_OFFICERS)
    recipients = sorted({email for role in str(to).split(",") if role.strip()
                         for email in _officer_emails(step.session, dossier.agency_id,
                                                      role.strip())})
    for address, lang in recipients:  # each officer in their own language alone
        english = lang == "en"
        outbox.enqueue_email(step.session, key=f"{dossier.code}:late:{task.id}:{address}",
                             recipient=address, subject=subject_en if english else subject_vi,
                             body=body_en if english else body_vi, dossier_id=dossier.id)
    audit.append(step.session, actor=step.actor, action="late", dossier_id=dossier.id,
                 detail={"due_at": dossier.due_at.isoformat() if dossier.due_at else None,
                         "told": len(recipients)})
    step.events.append("late")
    return {"sent_to": len(recipients)}


OPERATORS = (flag_late,)

__all__ = ["apologise", "can_apologise", "is_late", "flag_late", "reset_deadline_timers",
           "OPERATORS"]
