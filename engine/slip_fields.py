"""What a slip shows (:mod:`engine.slips`): the circular's wording of dates and deadlines,
the applicant and the documents received, the hand-overs of the control slip, and
:func:`slip_context`, everything a slip layout may name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock, formsets
from .formsets import FormSet, SlipForm
from .models import Agency, ClockStop, Dossier, HumanTask, Role
from .vocabulary import Channel, RoleCode, Status

APPLICANT_LABEL = RoleCode.APPLICANT.vi
EARLY, ON_TIME, LATE = "Trước hạn", "Đúng hạn", "Quá hạn"
UNIT_LABELS = {"hours": "giờ", "days": "ngày", "working_days": "ngày làm việc",
               "months": "tháng"}
CHANNEL_LABELS = {
    Channel.ONLINE: "Trực tuyến trên Cổng dịch vụ công (bản điện tử có chữ ký số)",
    Channel.COUNTER: "Bộ phận tiếp nhận và trả kết quả",
    Channel.POST: "Qua dịch vụ bưu chính công ích",
}


def form_set_of(dossier: Dossier) -> FormSet:
    """The dossier's form set (the one chosen when it was received)."""
    return formsets.get(dossier.form_set)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(clock.VIETNAM)


def moment_text(moment: datetime | None) -> str:
    """"09 giờ 00 phút, ngày 03 tháng 12 năm 2026" (the circular's wording), or ""."""
    if moment is None:
        return ""
    m = _local(moment)
    return f"{m:%H} giờ {m:%M} phút, ngày {m:%d} tháng {m:%m} năm {m.year}"


def date_text(moment: datetime | None) -> str:
    return "" if moment is None else f"{_local(moment):%d/%m/%Y}"


def short_text(moment: datetime | None) -> str:
    return "" if moment is None else f"{_local(moment):%H:%M %d/%m/%Y}"


def timeliness(done: datetime | None, due: datetime | None) -> str:
    """Trước hạn (done on an earlier day than due), Đúng hạn (by the due moment, on its day)
    or Quá hạn (after it); "" when there is no due moment or nothing is done yet."""
    if done is None or due is None:
        return ""
    if done > due:
        return LATE
    return EARLY if _local(done).date() < _local(due).date() else ON_TIME


def deadline_text(meta: dict) -> str:
    deadline = meta.get("deadline") or {}
    value, unit = deadline.get("value"), deadline.get("unit", "working_days")
    if value is None:
        return ""
    number = f"{value:02d}" if isinstance(value, int) else str(value)
    return f"{number} {UNIT_LABELS.get(unit, unit)}"


def applicant_fields(dossier: Dossier, meta: dict) -> dict:
    """Name, address, phone and e-mail of the applicant as slips and the register show them:
    the ``applicant_fields:`` templates of procedure.yaml over the submitted form
    (``{application[company_name]}``), else the applicant's account."""
    from signing.template import fill

    user = dossier.applicant
    values = {"name": user.full_name, "address": "", "phone": user.phone or "",
              "email": user.email or ""}
    context = {"application": dossier.data or {}, "applicant": values.copy()}
    for key, template in (meta.get("applicant_fields") or {}).items():
        if key in values and template:
            text = fill(template, context)
            if "{" not in text:  # a field the form did not have keeps the account's value
                values[key] = text
    return values


def documents_received(dossier: Dossier, meta: dict) -> list[dict]:
    """Rows {name, count} of the procedure's required documents the dossier holds."""
    rows = []
    data = dossier.data or {}
    for item in meta.get("required_documents") or []:
        value = data.get(item.get("key"))
        if not value:
            continue
        count = len(value) if isinstance(value, list) else 1
        name = item.get("name") or {}
        rows.append({"name": name.get("vi", "") if isinstance(name, dict) else str(name),
                     "count": f"{count:02d}"})
    return rows


def role_labels(session: Session) -> dict[str, str]:
    labels = dict(session.execute(select(Role.code, Role.name_vi)).all())
    labels["applicant"] = APPLICANT_LABEL
    return labels


def _finished_receiver(dossier: Dossier) -> str:
    if dossier.status in ("returned", "processed"):
        return f"{APPLICANT_LABEL} (nhận kết quả)"
    if dossier.status == "refused":
        return f"{APPLICANT_LABEL} (nhận thông báo từ chối)"
    return APPLICANT_LABEL if dossier.finished_at else ""


def _stop_note(stop: ClockStop) -> str:
    if stop.ended_at is None:
        return f"Tạm dừng tính thời gian từ {short_text(stop.started_at)} (bổ sung hồ sơ)"
    days = f", {stop.working_days} ngày làm việc" if stop.working_days is not None else ""
    return (f"Tạm dừng tính thời gian {date_text(stop.started_at)} – "
            f"{date_text(stop.ended_at)}{days} (bổ sung hồ sơ)")


def handovers(session: Session, dossier: Dossier) -> list[dict]:
    """The rows of form 05: the submission, then one row per completed human task — given
    by whoever completed it to the step created next (its role, and its officer once one
    holds it) — with the step's due moment and whether it was early, on time or late.
    Clock stops are noted on the hand-over to the applicant that started them."""
    roles = role_labels(session)
    tasks = session.execute(select(HumanTask).where(HumanTask.dossier_id == dossier.id)
                            .order_by(HumanTask.created_at, HumanTask.id)).scalars().all()
    stops = session.execute(select(ClockStop).where(ClockStop.dossier_id == dossier.id)
                            .order_by(ClockStop.started_at)).scalars().all()
    done = sorted((t for t in tasks if t.status == "completed" and t.completed_at),
                  key=lambda t: (t.completed_at, t.id))

    def person(task: HumanTask | None) -> str:
        user = (task.completed_by or task.assignee) if task else None
        return user.full_name if user else ""

    def following(moment: datetime, exclude: int) -> HumanTask | None:
        later = [t for t in tasks if t.id != exclude and t.status != "cancelled"
                 and t.created_at >= moment]
        return later[0] if later else None

    first = tasks[0] if tasks else None
    rows = [{"giver": APPLICANT_LABEL, "giver_name": dossier.applicant.full_name,
             "receiver": roles.get(first.role_code, first.role_code) if first else "",
             "receiver_name": person(first), "at": dossier.received_at,
             "due": None, "result": "", "note": "Nộp hồ sơ"}]
    for task in done:
        nxt = following(task.completed_at, task.id)
        due = None if task.role_code == RoleCode.APPLICANT else (task.due_at or dossier.due_at)
        notes = [task.title]
        if nxt is not None and nxt.role_code == RoleCode.APPLICANT:
            notes += [_stop_note(s) for s in stops
                      if abs((s.started_at - task.completed_at).total_seconds()) < 60]
        rows.append({
            "giver": roles.get(task.role_code, task.role_code),
            "giver_name": person(task),
            "receiver": (roles.get(nxt.role_code, nxt.role_code) if nxt
                         else _finished_receiver(dossier)),
            "receiver_name": person(nxt) if nxt else (
                dossier.applicant.full_name if dossier.finished_at else ""),
            "at": task.completed_at, "due": due,
            "result": ("Không tính thời gian" if task.role_code == RoleCode.APPLICANT
                       else timeliness(task.completed_at, due)),
            "note": "; ".join(n for n in notes if n),
        })
    for row in rows:
        row["at_text"] = short_text(row["at"])
        row["due_text"] = f"Hạn: {short_text(row['due'])}" if row["due"] else ""
    return rows


def slip_context(session: Session, dossier: Dossier, meta: dict, *, reason: str = "",
                 items: str = "", new_due_at: datetime | None = None,
                 previous_due_at: datetime | None = None, officer: str = "",
                 form: SlipForm | None = None) -> dict:
    """Everything a slip layout may name (signing/layouts/README.md)."""
    agency = dossier.agency
    parent = session.get(Agency, agency.parent_id) if agency.parent_id else None
    applicant = applicant_fields(dossier, meta)
    form_set = form_set_of(dossier)
    number = form.number if form is not None else ""
    return {
        "code": dossier.code,
        "agency_name": agency.name_vi, "agency_address": agency.address or "",
        "agency_email": agency.email or "",
        "parent_agency_name": parent.name_vi if parent else "",
        "applicant_name": applicant["name"], "applicant_address": applicant["address"],
        "applicant_phone": applicant["phone"], "applicant_email": applicant["email"],
        "procedure_name": dossier.procedure.name_vi,
        "deadline_text": deadline_text(meta),
        "received_at_text": moment_text(dossier.received_at),
        "received_date_text": date_text(dossier.received_at),
        "due_at_text": moment_text(dossier.due_at),
        "previous_due_text": moment_text(previous_due_at or dossier.due_at),
        "new_due_at_text": moment_text(new_due_at),
        "result_channel": CHANNEL_LABELS.get(dossier.channel, dossier.channel),
        "documents": documents_received(dossier, meta),
        "reason": reason or "", "items": items or "",
        "officer_name": officer,
        "status_text": Status.label_of(dossier.status),
        "issued_on": clock.local_now().date(),
        "issued_at_text": moment_text(clock.now()),
        "form_number": number, "form_title": form.title if form is not None else "",
        "form_set_name": form_set.name_vi,
        "form_label": f"Mẫu số {number} ({form_set.name_vi})" if number else form_set.name_vi,
    }
