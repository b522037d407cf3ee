"""The one-stop slips (phiếu một cửa) of the dossier's form set, signed by the agency.

Which forms exist, their numbers and layouts are data: the dossier's **form set**
(:mod:`engine.formsets`: Circular 01/2018/TT-VPCP, or 03/2025/TT-VPCP for dossiers received
from 1/7/2025), chosen when it was received. A diagram issues a slip with the service
operator ``issue_slip(form, …)``, naming the form by meaning — ``receipt``, ``supplement``,
``refusal``, ``apology``, ``stop``, ``control`` or any other the set defines — or by a bare
number as diagrams did before sets (read in Circular 01/2018's numbering, so ``'05'`` stays
the control slip). Each slip is rendered (A5, the dossier code as a QR code), signed with
the receiving agency's seal certificate (:func:`signing.pki.load_agency_signer`: one
signature, no officer's passphrase, the key created on first use), stored as the dossier's
generated document ``slip-<number>`` (its number in the set; a new revision when issued
again), audited as ``slip_issued`` and e-mailed to the applicant with the PDF attached — one
e-mail per event: with ``message``, the text is that ``notifications:`` entry of
procedure.yaml (so a slip replaces the plain notice of the same event), else a built-in
text. The step only asks for the slip — a ``slip`` job (:mod:`engine.jobs`) with everything
it needs (:func:`request_slip`) — and the slow rendering and sealing run after the step
commits, holding no dossier lock (:func:`produce_slip`); the e-mail's text is fixed by the
step, as of its event. Outside diagrams, the notice of stopped processing is requested when
the agency stops a dossier or its applicant withdraws it (:mod:`engine.lifecycle`), and the
apology by the officer who issues it (:mod:`engine.apologies`).

Why the agency signs and not an officer: slips are issued by the one-stop desk as an
organisation, sometimes by the system itself, and Decree 30/2020 copies carry the agency's
signature. Officers keep signing results.

The control slip is built from the rows, never from the workflow: every completed
human task is a hand-over from whoever completed it to the step(s) that followed; the clock
stops (supplements) are noted where they happened. :func:`control_slip` renders it on
demand for the agency's staff and the applicant; :func:`handovers` gives its rows.

Layouts are the set's (``signing/layouts/<set>/``), or the procedure's own under
``documents:`` named ``slip-<meaning>`` or ``slip-<number>`` (same context keys, listed in
``signing/layouts/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, formsets, jobs, sms
from .documents import can_see_dossier, check_url, file_name, store_document
from .errors import NotFound, ScriptError
from .formsets import FormSet, SlipForm
from .models import Agency, ClockStop, Dossier, HumanTask, Role, User
from .operators import StepContext, _text, operator, placeholders
from .statuses import STATUS_LABELS

APPLICANT_LABEL = "Tổ chức, cá nhân"
EARLY, ON_TIME, LATE = "Trước hạn", "Đúng hạn", "Quá hạn"
UNIT_LABELS = {"hours": "giờ", "days": "ngày", "working_days": "ngày làm việc",
               "months": "tháng"}
CHANNEL_LABELS = {
    "online": "Trực tuyến trên Cổng dịch vụ công (bản điện tử có chữ ký số)",
    "counter": "Bộ phận tiếp nhận và trả kết quả",
    "post": "Qua dịch vụ bưu chính công ích",
}
CONTROL = "control"


def form_set_of(dossier: Dossier) -> FormSet:
    """The dossier's form set (the one chosen when it was received)."""
    return formsets.get(dossier.form_set)


BUILT_IN_BODY = ("Kính gửi {applicant},\n\n{agency_name} gửi Quý vị {slip_title} của hồ sơ "
                 "{code} (thủ tục \"{procedure}\"), bản điện tử có chữ ký số của cơ quan, "
                 "đính kèm thư này.\n\nTheo dõi hồ sơ: {link}")
#: The slips' names in English, by meaning, for the e-mail to an applicant who reads
#: English (the slip itself is the Vietnamese legal form).
TITLES_EN = {
    "receipt": "Receipt and appointment slip", "supplement": "Request to supplement the dossier",
    "refusal": "Refusal to accept the dossier",
    "apology": "Apology and new appointment date", "stop": "Notice of stopped processing",
    "control": "Processing control slip",
}
BUILT_IN_SUBJECT_EN = "{slip_title} — dossier {code}"
BUILT_IN_BODY_EN = ("Dear {applicant},\n\n{agency_name} sends you the {slip_title} of dossier "
                    "{code} (procedure \"{procedure}\"), digitally signed by the agency, "
                    "attached to this e-mail.\n\nFollow the dossier: {link}")


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
        "status_text": STATUS_LABELS.get(dossier.status, (dossier.status,))[0],
        "issued_on": clock.local_now().date(),
        "issued_at_text": moment_text(clock.now()),
        "form_number": number, "form_title": form.title if form is not None else "",
        "form_set_name": form_set.name_vi,
        "form_label": f"Mẫu số {number} ({form_set.name_vi})" if number else form_set.name_vi,
    }


def layout(version, form: SlipForm, form_set: FormSet) -> dict:
    """The procedure's own layout of the form (``slip-<meaning>`` or ``slip-<number>`` under
    ``documents:``) if it names one, else the form set's."""
    documents = (version.meta.get("documents") or {}) if version is not None else {}
    for name in (f"slip-{form.meaning}", f"slip-{form.number}"):
        path = documents.get(name)
        if path and path in (version.files or {}):
            return yaml.safe_load(version.files[path])
    return form_set.layout(form)


def render_signed(p, dossier: Dossier, spec: dict, context: dict, title: str) -> bytes:
    """Render a slip and sign it with the agency's seal (its certificate made on first use)."""
    from signing.ltv import add_validation_data
    from signing.pki import load_agency_signer
    from signing.render import render_pdf
    from signing.sign import sign_pdf
    from signing.template import fill

    from .tasks import timestamper

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
    # Timestamped (B-T) when a TSA is configured, with its validation data (B-LT).
    stamper = timestamper(p)
    signed = sign_pdf(pdf, signer, slot=1, reason=title, signing_time=clock.now(),
                      agency=f"Mã định danh: {agency.code}", timestamper=stamper)
    return signed if stamper is None else add_validation_data(signed, p.pki_dir)


def _officer_name(session: Session, actor: str) -> str:
    user = session.execute(select(User).where(User.username == actor)).scalar()
    return user.full_name if user is not None and user.kind == "staff" else ""


def _new_due(value) -> datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.VIETNAM)


def request_slip(step: StepContext, form: SlipForm, *, key: str, reason: str = "",
                 items: str = "", new_due_at: datetime | None = None,
                 previous_due_at: datetime | None = None, email: dict | None = None,
                 task_id: str = "") -> str:
    """Ask for slip ``form`` of the dossier's set in this step: a ``slip`` job keyed
    ``key``, run after commit (:func:`produce_slip`), which stores it as
    ``slip-<number>``, audits it and queues ``email`` ({recipient, subject, body, key}) with
    the PDF attached. Returns the job's key."""
    dossier = step.dossier
    previous = previous_due_at or dossier.due_at
    payload = {"form": form.meaning, "form_set": form_set_of(dossier).code,
               "number": form.number, "document": f"slip-{form.number}", "title": form.title,
               "reason": reason, "items": items,
               "new_due_at": new_due_at.isoformat() if new_due_at else None,
               "previous_due_at": previous.isoformat() if previous else None,
               "actor": step.actor, "task_id": task_id, "email": email}
    key = jobs.enqueue(step.platform, step.session, kind="slip", key=key,
                       dossier_id=dossier.id, payload=payload)
    step.events.append(f"slip:{form.number}")
    return key


@operator
def issue_slip(step: StepContext, task, form: str, reason: str = "", items: str = "",
               new_due_at=None, message: str = "", send: bool = True,
               previous_due_at=None) -> dict:
    """Issue slip ``form`` of the dossier's form set — by meaning (``receipt``,
    ``supplement``, ``refusal``, ``apology``, ``stop``, ``control``…) or by its Circular
    01/2018 number ('01'…'05') — signed by the agency: attach it to the dossier as
    ``slip-<number>`` and, with ``send``, e-mail it to the applicant — the text of the
    ``notifications:`` entry ``message`` if given, else a built-in one. ``reason``
    (supplement, refusal, apology), ``items`` (supplement: what to add), ``new_due_at``
    (apology: ISO moment).

    The step only asks for the slip (a ``slip`` job, :mod:`engine.jobs`): it is rendered,
    sealed, stored, audited and e-mailed right after the step commits, outside the
    dossier's lock. Returns ``{form, number, job, sent_to}``: ``job`` is the job's key (no
    document id: the document does not exist yet), ``sent_to`` how many e-mails it will
    queue."""
    dossier = step.dossier
    slip = formsets.diagram_form(str(form), form_set_of(dossier))
    notifications = step.version.meta.get("notifications") or {}
    if message and message not in notifications:
        raise ScriptError(f"No notification named '{message}' in procedure.yaml.")
    email = _email(step, task, slip, message, str(reason or ""), str(items or "")) \
        if send else None
    key = request_slip(step, slip, key=f"{dossier.code}:slip-{slip.number}:{task.id}",
                       reason=str(reason or ""), items=str(items or ""),
                       new_due_at=_new_due(new_due_at),
                       previous_due_at=_new_due(previous_due_at), email=email,
                       task_id=str(task.id))
    return {"form": slip.meaning, "number": slip.number, "job": key,
            "sent_to": 1 if email else 0}


def _email(step: StepContext, task, form: SlipForm, message: str, reason: str,
           items: str) -> dict | None:
    """The slip's e-mail to the applicant as of this step (recipient, subject, body and
    idempotency key), queued with the PDF once it exists; None without an address."""
    recipient = step.dossier.applicant.email
    if not recipient:
        return None
    lang = step.dossier.applicant.language or "vi"
    english = lang == "en"
    extra = {"slip_title": TITLES_EN.get(form.meaning, form.title) if english else form.title,
             "agency_name": (step.dossier.agency.name_en or step.dossier.agency.name_vi)
             if english else step.dossier.agency.name_vi}
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
        subject = _text({"vi": form.subject, "en": BUILT_IN_SUBJECT_EN}, values, lang)
        body = _text({"vi": BUILT_IN_BODY, "en": BUILT_IN_BODY_EN}, values, lang)
    return {"recipient": recipient, "subject": subject, "body": body,
            "key": f"{step.dossier.code}:slip-{form.number}:{task.id}:{recipient}"}


def _job_form(job: dict, dossier: Dossier) -> tuple[FormSet, SlipForm]:
    """The set and form a slip job names (jobs queued before sets named a number only)."""
    form_set = formsets.get(job.get("form_set") or dossier.form_set)
    return form_set, formsets.diagram_form(job["form"], form_set)


def produce_slip(p, work) -> Callable[[Session], None]:
    """The ``slip`` job (:mod:`engine.jobs`): read the dossier fresh in a read transaction,
    then render and seal the slip holding nothing; returns the finisher that, in the job's
    short write transaction, stores it as ``slip-<number>``, audits ``slip_issued`` and
    queues its e-mail with the PDF attached."""
    job = work.payload
    with p.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.id == work.dossier_id)).scalar()
        if dossier is None:
            raise NotFound(f"No dossier {work.dossier_id} for slip job {work.key}.")
        form_set, form = _job_form(job, dossier)
        version = dossier.version
        context = slip_context(session, dossier, version.meta, reason=job.get("reason", ""),
                               items=job.get("items", ""),
                               new_due_at=_new_due(job.get("new_due_at")),
                               previous_due_at=_new_due(job.get("previous_due_at")),
                               officer=_officer_name(session, job.get("actor", "")), form=form)
        if form.meaning == CONTROL:
            context["handovers"] = handovers(session, dossier)
        spec, code = layout(version, form, form_set), dossier.code
        _ = dossier.agency  # loaded for signing, after the session has closed
    signed = render_signed(p, dossier, spec, context, form.title)
    name = f"slip-{form.number}"

    def finish(session: Session) -> None:
        locked = session.get(Dossier, work.dossier_id)  # locked by the job's runner
        doc = store_document(p, session, dossier=locked, name=name,
                             filename=file_name(form.title, code),
                             media_type="application/pdf", content=signed, kind="generated",
                             signatures=1)
        audit.append(session, actor=job.get("actor") or "system", action="slip_issued",
                     dossier_id=locked.id,
                     detail={"form": form.number, "meaning": form.meaning,
                             "form_set": form_set.code, "document_id": doc.id,
                             "sha256": doc.sha256, "reason": context["reason"],
                             "items": context["items"],
                             "new_due_at": context["new_due_at_text"], "job": work.key})
        email = job.get("email")
        if email:  # to the applicant, by the channels they chose (engine/sms.py)
            sms.notify_applicant(session, p, locked, key=email["key"],
                                 subject=email["subject"], body=email["body"],
                                 attachments=[doc.id])

    return finish


def control_slip(p, code: str, user) -> bytes:
    """The control slip of dossier ``code`` as it stands now, signed by the agency: for the
    agency's staff and the dossier's applicant. Not stored (a snapshot; the diagram stores
    the final one)."""
    with p.db.read() as session:  # read, then render and seal with nothing held
        dossier = session.execute(select(Dossier).where(Dossier.code == code.strip())).scalar()
        if dossier is None or not can_see_dossier(user, dossier):
            raise NotFound(f"No dossier with code {code!r} for this person.",
                           vi=f"Không tìm thấy hồ sơ mã {code!r} của người này.")
        form_set = form_set_of(dossier)
        form = form_set.form(CONTROL)
        meta = dossier.version.meta
        context = slip_context(session, dossier, meta, form=form)
        context["handovers"] = handovers(session, dossier)
        spec = layout(dossier.version, form, form_set)
        dossier.agency  # noqa: B018  (loaded now: the seal names it after the session ends)
    return render_signed(p, dossier, spec, context, form.title)


@operator
def issue_apology(step: StepContext, task, reason: str, new_due_at: str,
                  message: str = "late") -> dict:
    """The apology form of the dossier's set (04): record why, move the appointment date,
    and send the applicant the slip (signed by the agency, reason and new date on it) with
    the text of the ``notifications:`` entry ``message`` when procedure.yaml has one (one
    e-mail). Diagrams that apologise by themselves use it; the rules want an officer to
    apologise before the date (:func:`engine.apologies.apologise`). The slip is made right
    after the step commits: ``job`` is its job's key."""
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
    slip = issue_slip(step, task, "apology", reason=reason, new_due_at=moment,
                      previous_due_at=before, message=message if known else "")
    step.events.append("apology")
    return {"new_due_at": moment.isoformat(), "reason": reason, "job": slip["job"]}


OPERATORS = (issue_slip, issue_apology)

__all__ = ["OPERATORS", "issue_slip", "issue_apology", "request_slip", "produce_slip",
           "control_slip", "handovers", "timeliness", "moment_text", "applicant_fields",
           "form_set_of", "slip_context"]
