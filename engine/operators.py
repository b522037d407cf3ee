"""Service-task operators: the Python functions a diagram may call by name.

A diagram's service task names an operator (``spiffworkflow:serviceTaskOperator``) and
passes parameters as expressions; deploy checks the name and the parameters against this
registry. Operators act on the step's :class:`StepContext`, inside the step's
transaction: anything that leaves the database (e-mail) goes through the outbox. An
operator signals a business failure by raising :class:`~engine.errors.OperatorError`
(code, message): the engine throws it as a BPMN error from the service task.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from signing.template import fill

from . import audit, clock, national, outbox, sms
from .deadlines import on_status_change
from .errors import OperatorError, ScriptError
from .handover import status_for
from .models import Dossier, ProcedureVersion, User, UserRole
from .vocabulary import FINAL_STATUSES, STATUSES, RoleCode

log = logging.getLogger(__name__)



@dataclass
class StepContext:
    """What an operator may touch during one step of one dossier."""

    platform: object
    session: Session
    dossier: Dossier
    version: ProcedureVersion
    calendar: object
    actor: str = "system"
    events: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Operator:
    name: str
    func: Callable
    parameters: dict[str, bool]  # name -> required
    doc: str


REGISTRY: dict[str, Operator] = {}


def operator(func: Callable) -> Callable:
    """Declare ``func(step, task, **params)`` an operator named after it; its keyword
    parameters are the diagram's parameters (those without a default are required). It is
    registered at set-up (:func:`register`, :mod:`engine.platform`), not on import."""
    sig = inspect.signature(func)
    params = {name: p.default is inspect.Parameter.empty
              for name, p in list(sig.parameters.items())[2:]}
    func.operator = Operator(func.__name__, func, params, inspect.getdoc(func) or "")
    return func


def register(*funcs: Callable) -> None:
    """Make the operators ``funcs`` (declared with :func:`operator`) callable from diagrams."""
    for func in funcs:
        REGISTRY[func.operator.name] = func.operator


def call(step: StepContext, task, name: str, params: dict) -> Any:
    op = REGISTRY.get(name)
    if op is None:
        raise ScriptError(f"Unknown service operator '{name}'.")
    return op.func(step, task, **params)


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def placeholders(step: StepContext, task, extra: dict | None = None, *,
                 lang: str = "vi") -> dict:
    """Values a notification or document template may name (names in ``lang``)."""
    d = step.dossier
    due = d.due_at.astimezone(clock.VIETNAM).strftime("%d/%m/%Y") if d.due_at else ""
    english = lang == "en"
    values = _Blank({k: v for k, v in task.data.items() if not k.startswith("_")})
    values.update(code=d.code, applicant=d.applicant.full_name, status=d.status, due_date=due,
                  procedure=(d.procedure.name_en if english else "") or d.procedure.name_vi,
                  agency_name=(d.agency.name_en if english else "") or d.agency.name_vi,
                  link=f"{step.platform.settings.public_url}/ho-so/{d.code}")
    values.update(extra or {})
    return values


@operator
def set_status(step: StepContext, task, status: str) -> dict:
    """Set the dossier's status (one of STATUSES); a final status ends its processing time.
    ``returned`` is recorded as ``processed``: the result is ready, and the hand-over that
    makes it returned is recorded outside the diagram (:mod:`engine.handover`).

    Entering ``supplement_requested`` stops the dossier's clock and leaving it resumes the
    clock, moving the appointment by the working days paused (:mod:`engine.deadlines`);
    the workflow's ``dossier['due_at']`` then follows, for the steps after this one.
    """
    if status not in STATUSES:
        raise ScriptError(f"Unknown dossier status '{status}' (known: {', '.join(STATUSES)}).")
    status = status_for(status)  # "returned" is the hand-over's, recorded outside diagrams

    before = step.dossier.status
    step.dossier.status = status
    if status in FINAL_STATUSES and step.dossier.finished_at is None:
        step.dossier.finished_at = clock.now()
    audit.append(step.session, actor=step.actor, action="status", dossier_id=step.dossier.id,
                 detail={"from": before, "to": status, "task": task.task_spec.bpmn_id})
    if on_status_change(step.session, step.calendar, step.dossier, before, status,
                        actor=step.actor):
        refresh_appointment(task, step.dossier)
    national.record_status(step)  # the national portal hears of every status change
    step.events.append(f"status:{status}")
    return {"status": status}


def refresh_appointment(task, dossier: Dossier) -> None:
    """Write the dossier's current appointment into the task's ``dossier['due_at']`` (a
    new dict: the data of other tasks may share the old one)."""
    data = task.data.get("dossier")
    if isinstance(data, dict) and dossier.due_at is not None:
        task.data["dossier"] = {**data, "due_at": dossier.due_at.isoformat()}


def _recipients(step: StepContext, to: str) -> list[tuple[str, str]]:
    """``(address, language)`` of the applicant (the address may be empty: one received at
    the counter may have given none, and is then told by SMS if they chose it), or of the
    officers of the dossier's agency holding one of the comma-separated roles ``to``
    (``handler,head``)."""
    if to == RoleCode.APPLICANT:
        applicant = step.dossier.applicant
        return [(applicant.email, applicant.language or "vi")]
    roles = [role.strip() for role in str(to).split(",") if role.strip()]
    rows = step.session.execute(
        select(User.email, User.language).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role_code.in_(roles), UserRole.agency_id == step.dossier.agency_id,
               User.active.is_(True))).all()
    return sorted({(email, language or "vi") for email, language in rows if email})


@operator
def notify(step: StepContext, task, message: str, to: str = RoleCode.APPLICANT) -> dict:
    """E-mail the ``notifications:`` entry ``message`` to the applicant or the officers of
    the roles ``to`` (comma-separated: ``handler,head``)."""
    template = (step.version.meta.get("notifications") or {}).get(message)
    if template is None:
        raise ScriptError(f"No notification named '{message}' in procedure.yaml.")
    recipients = _recipients(step, to)
    for recipient, lang in recipients:
        values = placeholders(step, task, lang=lang)
        subject = _text(template.get("subject"), values, lang)
        body = _text(template.get("body"), values, lang)
        key = f"{step.dossier.code}:{message}:{task.id}:{recipient}"
        if to == RoleCode.APPLICANT:  # by the channels the applicant chose (e-mail, SMS, both)
            sms.notify_applicant(step.session, step.platform, step.dossier, key=key,
                                 subject=subject, body=body)
            continue
        outbox.enqueue_email(step.session, key=key, recipient=recipient, subject=subject,
                             body=body, dossier_id=step.dossier.id)
    audit.append(step.session, actor=step.actor, action="notify", dossier_id=step.dossier.id,
                 detail={"message": message, "to": to, "recipients": len(recipients)})
    return {"sent_to": len(recipients)}


def _text(template, values: dict, lang: str = "vi") -> str:
    """Fill an analyst's template with the key-only filler (``str.format_map`` would let
    ``{code.__class__}`` walk object attributes), in the reader's language ``lang``
    (``{vi, en}``: English when asked for and written, else Vietnamese) — one language per
    e-mail."""
    if not isinstance(template, dict):
        return fill(template or "", values)
    if lang == "en" and template.get("en"):
        return fill(template["en"], values)
    return fill(template.get("vi", ""), values)


@operator
def render_document(step: StepContext, task, document: str, signers: int = 0,
                    seal: bool = True) -> dict:
    """Render the ``documents:`` entry to a PDF with ``signers`` empty signature fields and,
    unless ``seal`` is false, the agency's seal field over the last one (the agency seals
    the result once every officer signed: :mod:`signing.seal`)."""
    from signing.render import render_pdf
    from signing.seal import add_seal_field

    from .documents import check_url, file_name, store_document

    path = (step.version.meta.get("documents") or {}).get(document)
    if path is None or path not in step.version.files:
        raise ScriptError(f"No document named '{document}' in procedure.yaml.")
    layout = yaml.safe_load(step.version.files[path])
    slots = list(layout.get("signatures") or [])[: int(signers)]
    slots += [{"label": "", "name": "", "title": ""}] * (int(signers) - len(slots))
    context = placeholders(step, task, {"issued_on": clock.local_now().date(),
                                        "dossier": task.data.get("dossier", {})})
    pdf = render_pdf(layout, context, signature_slots=slots, qr_text=step.dossier.code,
                     qr_url=check_url(step.platform.settings, step.dossier.code))
    if seal and slots:
        pdf = add_seal_field(pdf)
    doc = store_document(step.platform, step.session, dossier=step.dossier, name=document,
                         filename=file_name(fill(layout.get("title") or document, context),
                                            step.dossier.code),
                         media_type="application/pdf", content=pdf, kind="generated")
    audit.append(step.session, actor=step.actor, action="render", dossier_id=step.dossier.id,
                 detail={"document": document, "document_id": doc.id, "sha256": doc.sha256})
    return {"document_id": doc.id}


@operator
def require(step: StepContext, task, condition, code: str, message: str = "") -> dict:
    """Stop with the business error ``code`` unless ``condition`` holds: an error boundary
    event with that code (or without one) takes the diagram's error path; uncaught, the step
    is refused with ``message``."""
    if not condition:
        raise OperatorError(str(code), str(message or f"Requirement {code} not met."))
    return {"ok": True}


@operator
def procedure_data(step: StepContext, task, keys) -> dict:
    """The entries ``keys`` (a list of names) of the dossier's procedure.yaml, as
    ``{name: value}`` (None when absent): rules kept as data beside the diagram (a limit by
    vehicle kind, the fee, the level) instead of constants in its expressions."""
    names = [keys] if isinstance(keys, str) else list(keys or [])
    meta = step.version.meta or {}
    return {str(name): copy.deepcopy(meta.get(str(name))) for name in names}


#: The operators defined here; those of other features are listed beside them
#: (``OPERATORS`` of :mod:`engine.registry`, :mod:`engine.slips`, :mod:`engine.tracking`).
OPERATORS = (set_status, notify, render_document, require, procedure_data)
