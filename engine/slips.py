"""The one-stop slips (phiếu một cửa) of the dossier's form set, signed by the agency.

Which forms exist, their numbers and layouts are data: the dossier's **form set**
(:mod:`engine.formsets`: Circular 01/2018/TT-VPCP, or 03/2025/TT-VPCP for dossiers received
from 1/7/2025), chosen when it was received. A diagram issues a slip with the service
operator ``issue_slip(form, …)``, naming the form by meaning — ``receipt``, ``supplement``,
``refusal``, ``apology``, ``stop``, ``control`` or any other the set defines — or by a bare
number as diagrams did before sets (read in Circular 01/2018's numbering, so ``'05'`` stays
the control slip). Each slip is rendered (A5, the dossier code as a QR code), signed with
the receiving agency's seal (``p.signers.agency``, :mod:`signing.providers`: one
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
from .lookup import by_code
from .models import Dossier, User
from .operators import StepContext, _text, operator, placeholders
from .slip_fields import form_set_of, handovers, slip_context

CONTROL = "control"


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


# --- what a slip shows ------------------------------------------------------------------


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
    from signing.render import render_pdf
    from signing.sign import sign_pdf
    from signing.template import fill

    agency = dossier.agency
    slot = {key: fill(value, context)
            for key, value in dict((spec.get("signatures") or [{}])[0]).items()}
    slot["name"] = slot.get("name") or context.get("officer_name") or agency.name_vi
    pdf = render_pdf(spec, context, signature_slots=[slot], qr_text=dossier.code,
                     qr_url=check_url(p.settings, dossier.code))
    # The certificate's CN already names the agency: the second line gives its code.
    # Timestamped (B-T) when a TSA is configured, with its validation data (B-LT).
    stamper = p.timestamper()
    with p.signers.agency(agency.code, name=agency.name_vi, email=agency.email or "") as signer:
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
        dossier = by_code(session, Dossier, code, where=lambda row: can_see_dossier(user, row),
                          for_person=True)
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
           "control_slip"]
