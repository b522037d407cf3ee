"""BPMN events that cross a workflow's edge: messages between dossiers, operator errors.

**Sending.** A message throw event, message end event or send task whose message nobody
inside the same workflow is waiting for (SpiffWorkflow delivers those itself, within one
diagram or collaboration) leaves the workflow as an event; :func:`emit` turns it into a
``message`` row in the sender's step transaction: its name, its payload (the
``spiffworkflow:messagePayload`` expression's value) and its **correlation**:

- the value of the message's correlation property (a ``bpmn:correlationProperty`` whose
  retrieval expression reads the payload, e.g. ``dossier_code``) when it has one: the way
  to address another dossier is to put that dossier's code (or a shared key) in the payload;
- otherwise the sender's own dossier code (a message to a later step of the same dossier).

**Waiting.** After every step, :mod:`engine.runtime` writes a ``waiting_message`` row for each
task waiting for a message, with the correlation it expects (:func:`waiting_correlation`):
the value the workflow already holds for the message's correlation property (learnt from an
earlier message, or set by ``spiffworkflow:processVariableCorrelation``), else its own
dossier code.

**Delivery.** The worker (:func:`engine.worker.deliver_messages`) joins pending messages to
waiting rows on name and correlation, locks the receiving dossier and runs :func:`deliver`
in that dossier's step: the one waiting task named by the row catches the message, the
engine runs on, the rows are re-synced and the message is marked delivered, all in one
transaction. A message nobody waits for yet stays pending until someone does.

**Starting a dossier** (the province ↔ district two-way flow). A procedure may name, beside
the process a citizen's submission starts, *cooperating* processes that a message start
event starts (``cooperating:`` in procedure.yaml, e.g. the Department of Finance's side of a
budget-code dossier a district finance office forwarded). A pending message that no waiting
row accepts and whose name starts such a process of an active procedure version
(:func:`engine.cooperation.start_receivers`) starts a new dossier there
(:func:`engine.dossiers.start_dossier`): coded by the
receiving agency (Circular 01/2018 Art. 19), same applicant, ``parent_id`` the sender's
dossier, its start event catching the message like any catch event (the payload lands in
its ``spiffworkflow:messageVariable``), all in the transaction that marks the message
delivered. A message whose name starts nothing stays pending.

**Documents travel with messages.** A payload key ``documents`` (names of the sender's
documents) attaches the latest revision of each to the receiving dossier on delivery (a new
row pointing at the same stored bytes): the Department's signed certificate reaches the
district's dossier, and its applicant, this way. The sender's step checks that it has them.

**Operator errors.** An operator raising :class:`~engine.errors.OperatorError` becomes a
BPMN error with its code, thrown from the service task (:func:`throw_operator_error`); an
error boundary event on the task or on an enclosing sub-process catches it. Uncaught, the
step rolls back.
"""

from __future__ import annotations

import copy
import json
import logging

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition as BaseErrorEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, clock
from .documents import latest
from .errors import OperatorError, ScriptError
from .models import Document, Dossier, Message
from .step.rows import waiting_correlation, waiting_definitions  # noqa: F401

log = logging.getLogger(__name__)


def outgoing_correlation(event: BpmnEvent, dossier_code: str) -> str:
    for key in sorted(event.correlations):
        values = event.correlations[key] or {}
        for name in sorted(values):
            if values[name] is not None:
                return str(values[name])
    return dossier_code


def _plain(value, where: str):
    """The payload as plain JSON (dates and decimals become strings); refuses ``typename``
    keys, which break SpiffWorkflow's deserialization of the receiving workflow."""
    plain = json.loads(json.dumps(value, ensure_ascii=False, default=str))
    stack = [plain]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "typename" in item:
                raise ScriptError(
                    f"The payload of message {where} may not contain a key 'typename'.",
                    vi=f"Nội dung thông điệp {where} không được có khóa 'typename'.")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return plain


def emit(step) -> int:
    """Write a ``message`` row for each message the workflow threw and nobody inside caught;
    refuse (roll back) an error nobody caught. Returns the number of messages written."""
    written = 0
    for event in step.workflow.get_events():
        definition = event.event_definition
        if isinstance(definition, MessageEventDefinition):
            correlation = outgoing_correlation(event, step.dossier.code)
            payload = _plain(event.payload if event.payload is not None else {},
                             repr(definition.name))
            _check_documents(step, definition.name, payload)
            message = Message(name=definition.name, correlation=correlation[:255],
                              payload=payload,
                              status="pending", created_at=clock.now(),
                              sender_dossier_id=step.dossier.id,
                              sender_task=getattr(event, "sender", "") or "")
            step.session.add(message)
            audit.append(step.session, actor=step.context.actor, action="message_sent",
                         dossier_id=step.dossier.id,
                         detail={"message": definition.name, "correlation": correlation})
            written += 1
        elif isinstance(definition, BaseErrorEventDefinition):
            code = getattr(definition, "code", None) or definition.name
            raise ScriptError(
                f"The diagram threw error {code!r} and no error boundary event catches it.",
                vi=f"Quy trình phát sinh lỗi {code!r} nhưng không có sự kiện biên nào bắt lỗi này.",
                details=[{"element": definition.name or "", "message": f"uncaught error {code}"}])
        else:  # an escalation nobody catches is not critical (BPMN 2.0 §10.5.5)
            log.info("dossier %s: uncaught %s %r", step.dossier.code,
                     type(definition).__name__, definition.name)
    return written


def _document_names(payload) -> list:
    return payload.get("documents") or [] if isinstance(payload, dict) else []


def _check_documents(step, name: str, payload) -> None:
    """The sender must have every document its message carries (its step fails otherwise,
    rather than leaving a message no one can deliver)."""
    names = _document_names(payload)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ScriptError(f"The 'documents' of message {name!r} must be a list of document names.",
                          vi=f"Mục 'documents' của thông điệp {name!r} phải là danh sách tên "
                             "giấy tờ.")
    missing = [n for n in names if latest(step.session, step.dossier.id, n) is None]
    if missing:
        raise ScriptError(
            f"Message {name!r} carries documents this dossier does not have: {', '.join(missing)}.",
            vi=f"Thông điệp {name!r} gửi kèm giấy tờ mà hồ sơ chưa có: {', '.join(missing)}.",
            details=[{"element": name, "message": f"no document {n!r}"} for n in missing])


def attach_documents(session: Session, message: Message, receiver: Dossier, *,
                     actor: str = "system") -> list[int]:
    """Give ``receiver`` the latest revision of each document the message carries: new rows
    (kind 'generated', same name) over the same stored bytes and checksum."""
    names = _document_names(message.payload)
    if not names or message.sender_dossier_id is None:
        return []
    added = []
    for name in names:
        source = latest(session, message.sender_dossier_id, name)
        if source is None:  # checked when sent; a document is never deleted
            raise ScriptError(f"Message {message.name!r} carries a document {name!r} the sending "
                              "dossier does not have.",
                              vi=f"Thông điệp {message.name!r} gửi kèm giấy tờ {name!r} mà hồ sơ "
                                 "gửi không có.")
        revision = (session.execute(select(func.max(Document.revision)).where(
            Document.dossier_id == receiver.id, Document.name == name)).scalar() or 0) + 1
        copy_row = Document(dossier_id=receiver.id, name=source.name, kind="generated",
                            filename=source.filename, media_type=source.media_type,
                            size=source.size, sha256=source.sha256,
                            storage_key=source.storage_key, revision=revision,
                            signatures=source.signatures, created_at=clock.now())
        session.add(copy_row)
        session.flush()
        added.append(copy_row.id)
    audit.append(session, actor=actor, action="documents_received", dossier_id=receiver.id,
                 detail={"message": message.name, "message_id": message.id,
                         "documents": names, "document_ids": added})
    return added


def throw_operator_error(step, task, exc: OperatorError) -> None:
    """Throw ``exc`` as a BPMN error from the service task ``task`` (now in ERROR state).
    An error boundary event catches it by code; if none does, raise: the step rolls back."""
    where = task.task_spec.bpmn_id or task.task_spec.name
    definition = ErrorEventDefinition(exc.code, code=exc.code)
    event = BpmnEvent(definition, payload={"code": exc.code, "message": exc.message},
                      target=task.workflow)
    step.workflow.catch(event)
    if event in step.workflow.bpmn_events:
        step.workflow.bpmn_events.remove(event)
        raise OperatorError(
            exc.code,
            f"Service task {where} failed with error {exc.code!r}: {exc.message} "
            "(no error boundary event catches it).",
            vi=f"Bước {where} gặp lỗi {exc.code!r}: {exc.vi}",
            details=[{"element": where, "code": exc.code, "message": exc.message}]) from exc
    audit.append(step.session, actor=step.context.actor, action="error_caught",
                 dossier_id=step.dossier.id,
                 detail={"task": where, "code": exc.code, "message": exc.message})


def deliver(step, message: Message, task_guid: str) -> bool:
    """Let the waiting task ``task_guid`` catch ``message`` (the step's action). False when the
    task no longer waits for it (its row was stale): nothing changes then."""
    task = step.task(task_guid)
    if task is None or task.state != TaskState.WAITING:
        return False
    definition = next((d for d in waiting_definitions(task)
                       if isinstance(d, MessageEventDefinition) and d.name == message.name), None)
    if definition is None:
        return False
    # The rows matched on correlation already; the workflow's own correlations are passed so
    # that SpiffWorkflow's check agrees, and the payload may teach it new ones.
    event = BpmnEvent(definition, payload=copy.deepcopy(message.payload),
                      correlations=copy.deepcopy(task.workflow.correlations))
    where = task.task_spec.bpmn_id or task.task_spec.name
    try:
        task.task_spec.catch(task, event)
    except ScriptError as exc:  # the receiver's correlation property does not fit the payload
        raise ScriptError(f"Message {message.name!r} cannot be caught by {where}: {exc.message}",
                          vi=f"Bước {where} không nhận được thông điệp {message.name!r}: {exc.vi}",
                          details=[{"element": where, "message": exc.message}]) from exc
    task.task_spec._update(task)
    message.status = "delivered"
    message.delivered_at = clock.now()
    message.receiver_dossier_id = step.dossier.id
    audit.append(step.session, actor=step.context.actor, action="message_received",
                 dossier_id=step.dossier.id,
                 detail={"message": message.name, "correlation": message.correlation,
                         "task": where, "message_id": message.id})
    attach_documents(step.session, message, step.dossier, actor=step.context.actor)
    return True
