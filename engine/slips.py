"""The one-stop slips of Circular 01/2018/TT-VPCP (forms 01–05), signed by the agency.

A diagram issues a slip with the service operator ``issue_slip(form, …)``: 01 receipt and
appointment, 02 request to supplement, 03 refusal, 04 apology and new appointment date, 05
processing control slip. Each slip is rendered (A5, the dossier code as a QR code), signed
with the receiving agency's seal certificate (:func:`signing.pki.load_agency_signer`: one
signature, no officer's passphrase, the key created on first use), stored as the dossier's
generated document ``slip-<form>`` (a new revision when issued again), audited as
``slip_issued`` and e-mailed to the applicant with the PDF attached — one e-mail per event:
with ``message``, the text is that ``notifications:`` entry of procedure.yaml (so a slip
replaces the plain notice of the same event), else a built-in text. The step only asks for
the slip — a ``slip`` job (:mod:`engine.jobs`) with everything it needs — and the slow
rendering and sealing run after the step commits, holding no dossier lock
(:func:`produce_slip`); the e-mail's text is fixed by the step, as of its event.

Why the agency signs and not an officer: slips are issued by the one-stop desk as an
organisation, sometimes by the system itself (form 04 when a timer finds the dossier late),
and Decree 30/2020 copies carry the agency's signature. Officers keep signing results.

The control slip (05) is built from the rows, never from the workflow: every completed
human task is a hand-over from whoever completed it to the step(s) that followed; the clock
stops (supplements) are noted where they happened. :func:`control_slip` renders it on
demand for the agency's staff and the applicant; :func:`handovers` gives its rows.

Layouts are data: ``signing/layouts/slip-NN.yaml``, or the procedure's own
``documents: {slip-NN: …}`` when it names one (same context keys, listed in
``signing/layouts/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, jobs, outbox
from .documents import can_see_dossier, check_url, file_name, store_document
from .errors import NotFound, ScriptError
from .models import Agency, ClockStop, Dossier, HumanTask, Role, User
from .operators import StepContext, _text, operator, placeholders
from .statuses import STATUS_LABELS

LAYOUT_DIR = Path(__file__).resolve().parent.parent / "signing" / "layouts"
APPLICANT_LABEL = "Tổ chức, cá nhân"
EARLY, ON_TIME, LATE = "Trước hạn", "Đúng hạn", "Quá hạn"
UNIT_LABELS = {"hours": "giờ", "days": "ngày", "working_days": "ngày làm việc",
               "months": "tháng"}
CHANNEL_LABELS = {
    "online": "Trực tuyến trên Cổng dịch vụ công (bản điện tử có chữ ký số)",
    "counter": "Bộ phận tiếp nhận và trả kết quả",
    "post": "Qua dịch vụ bưu chính công ích",
}


@dataclass(frozen=True)
class SlipForm:
    number: str
    title: str   # as the circular names it, for the e-mail and the signature's reason
    subject: str  # built-in e-mail subject when no notification is named


FORMS = {
    "01": SlipForm("01", "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                   "Giấy tiếp nhận hồ sơ và hẹn trả kết quả — hồ sơ {code}"),
    "02": SlipForm("02", "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
                   "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ {code}"),
    "03": SlipForm("03", "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
                   "Phiếu từ chối tiếp nhận giải quyết hồ sơ {code}"),
    "04": SlipForm("04", "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
                   "Phiếu xin lỗi và hẹn lại ngày trả kết quả — hồ sơ {code}"),
    "05": SlipForm("05", "Phiếu kiểm soát quá trình giải quyết hồ sơ",
                   "Phiếu kiểm soát quá trình giải quyết hồ sơ {code}"),
}
#: The slips' names in English, for the e-mail to an applicant who reads English (the
#: slip itself is the Vietnamese legal form).
TITLES_EN = {
    "01": "Receipt and appointment slip", "02": "Request to supplement the dossier",
    "03": "Refusal to accept the dossier", "04": "Apology and new appointment date",
    "05": "Processing control slip",
}
BUILT_IN_SUBJECT_EN = "{slip_title} — dossier {code}"
BUILT_IN_BODY_EN = ("Dear {applicant},\n\n{agency_name} sends you the {slip_title} of dossier "
                    "{code} (procedure \"{procedure}\"), digitally signed by the agency, "
                    "attached to this e-mail.\n\nFollow the dossier: {link}")
BUILT_IN_BODY = ("Kính gửi {applicant},\n\n{agency_name} gửi Quý vị {slip_title} của hồ sơ "
                 "{code} (thủ tục \"{procedure}\"), bản điện tử có chữ ký số của cơ quan, "
                 "đính kèm thư này.\n\nTheo dõi hồ sơ: {link}")


# --- dates as a slip writes them -------------------------------------------------------

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


# --- what a slip shows ------------------------------------------------------------------

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
        due = None if task.role_code == "applicant" else (task.due_at or dossier.due_at)
        notes = [task.title]
        if nxt is not None and nxt.role_code == "applicant":
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
            "result": ("Không tính thời gian" if task.role_code == "applicant"
                       else timeliness(task.completed_at, due)),
            "note": "; ".join(n for n in notes if n),
        })
    for row in rows:
        row["at_text"] = short_text(row["at"])
        row["due_text"] = f"Hạn: {short_text(row['due'])}" if row["due"] else ""
    return rows


def slip_context(session: Session, dossier: Dossier, meta: dict, *, reason: str = "",
                 items: str = "", new_due_at: datetime | None = None,
                 previous_due_at: datetime | None = None, officer: str = "") -> dict:
    """Everything a slip layout may name (signing/layouts/README.md)."""
    agency = dossier.agency
    parent = session.get(Agency, agency.parent_id) if agency.parent_id else None
    applicant = applicant_fields(dossier, meta)
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
        "status_text": STATUS_LABELS.get(dossier.status, (dossier.status,))[0],
        "issued_on": clock.local_now().date(),
    }


def layout(version, form: str) -> dict:
    """The procedure's own layout of ``slip-<form>`` if it names one, else the built-in."""
    name = f"slip-{form}"
    path = (version.meta.get("documents") or {}).get(name) if version is not None else None
    if path and path in (version.files or {}):
        return yaml.safe_load(version.files[path])
    return yaml.safe_load((LAYOUT_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def render_signed(p, dossier: Dossier, spec: dict, context: dict, form: str) -> bytes:
    """Render a slip and sign it with the agency's seal (its certificate made on first use)."""
    from signing.pki import load_agency_signer
    from signing.render import render_pdf
    from signing.sign import sign_pdf
    from signing.template import fill

    agency = dossier.agency
    slot = {key: fill(value, context)
            for key, value in dict((spec.get("signatures") or [{}])[0]).items()}
    slot["name"] = slot.get("name") or context.get("officer_name") or agency.name_vi
    pdf = render_pdf(spec, context, signature_slots=[slot], qr_text=dossier.code,
                     qr_url=check_url(p.settings, dossier.code))
    signer = load_agency_signer(p.pki_dir, agency.code, name=agency.name_vi,
                                passphrase=p.settings.agency_key_passphrase,
                                email=agency.email or "")
    # The certificate's CN already names the agency: the second line gives its code.
    return sign_pdf(pdf, signer, slot=1, reason=FORMS[form].title, signing_time=clock.now(),
                    agency=f"Mã định danh: {agency.code}")


def _officer_name(session: Session, actor: str) -> str:
    user = session.execute(select(User).where(User.username == actor)).scalar()
    return user.full_name if user is not None and user.kind == "staff" else ""


def _new_due(value) -> datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.VIETNAM)


@operator
def issue_slip(step: StepContext, task, form: str, reason: str = "", items: str = "",
               new_due_at=None, message: str = "", send: bool = True,
               previous_due_at=None) -> dict:
    """Issue slip ``form`` ('01'…'05', Circular 01/2018) signed by the agency: attach it to
    the dossier as ``slip-<form>`` and, with ``send``, e-mail it to the applicant — the text
    of the ``notifications:`` entry ``message`` if given, else a built-in one. ``reason``
    (02, 03, 04), ``items`` (02: what to supplement), ``new_due_at`` (04: ISO moment).

    The step only asks for the slip (a ``slip`` job, :mod:`engine.jobs`): it is rendered,
    sealed, stored, audited and e-mailed right after the step commits, outside the
    dossier's lock. Returns ``{form, job, sent_to}``: ``job`` is the job's key (no document
    id: the document does not exist yet), ``sent_to`` how many e-mails it will queue."""
    form = str(form).strip().zfill(2)
    if form not in FORMS:
        raise ScriptError(f"Unknown slip form '{form}' (known: {', '.join(FORMS)}).")
    notifications = step.version.meta.get("notifications") or {}
    if message and message not in notifications:
        raise ScriptError(f"No notification named '{message}' in procedure.yaml.")
    dossier = step.dossier
    new_due = _new_due(new_due_at)
    previous_due = _new_due(previous_due_at) or dossier.due_at  # the appointment now
    email = _email(step, task, form, message, str(reason or ""), str(items or "")) if send \
        else None
    payload = {"form": form, "document": f"slip-{form}", "title": FORMS[form].title,
               "reason": str(reason or ""), "items": str(items or ""),
               "new_due_at": new_due.isoformat() if new_due else None,
               "previous_due_at": previous_due.isoformat() if previous_due else None,
               "message": message or "", "send": bool(send), "actor": step.actor,
               "task_id": str(task.id), "email": email}
    key = jobs.enqueue(step.platform, step.session, kind="slip",
                       key=f"{dossier.code}:slip-{form}:{task.id}", dossier_id=dossier.id,
                       payload=payload)
    step.events.append(f"slip:{form}")
    return {"form": form, "job": key, "sent_to": 1 if email else 0}


def _email(step: StepContext, task, form: str, message: str, reason: str,
           items: str) -> dict | None:
    """The slip's e-mail to the applicant as of this step (recipient, subject, body and
    idempotency key), queued with the PDF once it exists; None without an address."""
    recipient = step.dossier.applicant.email
    if not recipient:
        return None
    lang = step.dossier.applicant.language or "vi"
    extra = {"slip_title": TITLES_EN[form] if lang == "en" else FORMS[form].title}
    if reason:
        extra["reason"] = reason
    if items:
        extra["items"] = items
    values = placeholders(step, task, extra, lang=lang)
    template = (step.version.meta.get("notifications") or {}).get(message) if message else None
    if template is not None:
        subject = _text(template.get("subject"), values, lang)
        body = _text(template.get("body"), values, lang)
    else:
        subject = _text({"vi": FORMS[form].subject, "en": BUILT_IN_SUBJECT_EN}, values, lang)
        body = _text({"vi": BUILT_IN_BODY, "en": BUILT_IN_BODY_EN}, values, lang)
    return {"recipient": recipient, "subject": subject, "body": body,
            "key": f"{step.dossier.code}:slip-{form}:{task.id}:{recipient}"}


def produce_slip(p, work) -> Callable[[Session], None]:
    """The ``slip`` job (:mod:`engine.jobs`): read the dossier fresh in a read transaction,
    then render and seal the slip holding nothing; returns the finisher that, in the job's
    short write transaction, stores it as ``slip-<form>``, audits ``slip_issued`` and
    queues its e-mail with the PDF attached."""
    job = work.payload
    form = job["form"]
    with p.db.read() as session:
        dossier = session.get(Dossier, work.dossier_id)
        if dossier is None:
            raise NotFound(f"No dossier {work.dossier_id} for slip job {work.key}.")
        version = dossier.version
        context = slip_context(session, dossier, version.meta, reason=job.get("reason", ""),
                               items=job.get("items", ""),
                               new_due_at=_new_due(job.get("new_due_at")),
                               previous_due_at=_new_due(job.get("previous_due_at")),
                               officer=_officer_name(session, job.get("actor", "")))
        if form == "05":
            context["handovers"] = handovers(session, dossier)
        spec, code = layout(version, form), dossier.code
        _ = dossier.agency  # loaded for signing, after the session has closed
    signed = render_signed(p, dossier, spec, context, form)

    def finish(session: Session) -> None:
        locked = session.get(Dossier, work.dossier_id)  # locked by the job's runner
        doc = store_document(p, session, dossier=locked, name=f"slip-{form}",
                             filename=file_name(FORMS[form].title, code),
                             media_type="application/pdf", content=signed, kind="generated",
                             signatures=1)
        audit.append(session, actor=job.get("actor") or "system", action="slip_issued",
                     dossier_id=locked.id,
                     detail={"form": form, "document_id": doc.id, "sha256": doc.sha256,
                             "reason": context["reason"], "items": context["items"],
                             "new_due_at": context["new_due_at_text"], "job": work.key})
        email = job.get("email")
        if email:
            outbox.enqueue_email(session, key=email["key"], recipient=email["recipient"],
                                 subject=email["subject"], body=email["body"],
                                 dossier_id=locked.id, attachments=[doc.id])

    return finish


def control_slip(p, code: str, user) -> bytes:
    """Form 05 of dossier ``code`` as it stands now, signed by the agency: for the agency's
    staff and the dossier's applicant. Not stored (a snapshot; the diagram stores the final
    one)."""
    with p.db.read() as session:  # read, then render and seal with nothing held
        dossier = session.execute(select(Dossier).where(Dossier.code == code.strip())).scalar()
        if dossier is None or not can_see_dossier(user, dossier):
            raise NotFound(f"No dossier with code {code!r} for this person.",
                           vi=f"Không tìm thấy hồ sơ mã {code!r} của người này.")
        meta = dossier.version.meta
        context = slip_context(session, dossier, meta)
        context["handovers"] = handovers(session, dossier)
        spec = layout(dossier.version, "05")
        dossier.agency  # noqa: B018  (loaded now: the seal names it after the session ends)
    return render_signed(p, dossier, spec, context, "05")


@operator
def issue_apology(step: StepContext, task, reason: str, new_due_at: str,
                  message: str = "late") -> dict:
    """Form 04: the dossier is late. Record why, move the appointment date, and send the
    applicant slip 04 (signed by the agency, reason and new date on it) with the text of
    the ``notifications:`` entry ``message`` when procedure.yaml has one (one e-mail).
    The slip is made right after the step commits: ``job`` is its job's key
    (:func:`engine.slips.issue_slip`)."""
    before = step.dossier.due_at
    moment = datetime.fromisoformat(str(new_due_at))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.VIETNAM)
    step.dossier.due_at = moment
    audit.append(step.session, actor=step.actor, action="apology", dossier_id=step.dossier.id,
                 detail={"reason": reason, "from": before.isoformat() if before else None,
                         "to": moment.isoformat()})
    task.data["reason"] = reason  # this boundary branch's own copy of the data
    known = message in (step.version.meta.get("notifications") or {})
    slip = issue_slip(step, task, "04", reason=reason, new_due_at=moment,
                      previous_due_at=before, message=message if known else "")
    step.events.append("apology")
    return {"new_due_at": moment.isoformat(), "reason": reason, "job": slip["job"]}


OPERATORS = (issue_slip, issue_apology)

__all__ = ["FORMS", "OPERATORS", "issue_slip", "issue_apology", "produce_slip", "control_slip",
           "handovers", "timeliness", "moment_text",
           "applicant_fields"]
