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

**Waiting.** After every step, :mod:`engine.sync` writes a ``waiting_message`` row for each
task waiting for a message, with the correlation it expects (:func:`waiting_correlation`):
the value the workflow already holds for the message's correlation property (learnt from an
earlier message, or set by ``spiffworkflow:processVariableCorrelation``), else its own
dossier code.

**Delivery.** The worker (:func:`engine.worker.deliver_messages`) joins pending messages to
waiting rows on name and correlation, locks the receiving dossier and runs :func:`deliver`
in that dossier's step: the one waiting task named by the row catches the message, the
engine runs on, the rows are re-synced and the message is marked delivered, all in one
transaction. A message nobody waits for yet stays pending until someone does. (Starting a
new dossier from a message start event would be one more kind of receiver here.)

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

from . import audit, clock
from .errors import OperatorError, ScriptError
from .models import Message
from .sync import waiting_definitions

log = logging.getLogger(__name__)


def _properties(definition) -> list:
    return [*getattr(definition, "correlation_properties", []),
            *getattr(definition, "process_correlations", [])]


def waiting_correlation(task, definition: MessageEventDefinition, dossier_code: str) -> str:
    """The correlation a waiting task expects (see the module docstring)."""
    known = task.workflow.correlations or {}
    for prop in _properties(definition):
        for key in prop.correlation_keys:
            value = (known.get(key) or {}).get(prop.name)
            if value is not None:
                return str(value)
    return dossier_code


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
            message = Message(name=definition.name, correlation=correlation[:255],
                              payload=_plain(event.payload if event.payload is not None else {},
                                             repr(definition.name)),
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
    return True
