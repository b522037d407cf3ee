"""Rows that mirror a workflow's wait states, rewritten at the end of every step.

Task lists, the worker and message delivery query these rows and never deserialize
workflows: ``human_task`` for READY user and manual tasks (one row per multi-instance
instance), ``timer`` for WAITING timer events (boundary, intermediate and event-based
gateway timers), ``waiting_message`` for WAITING message catch events, receive tasks,
message boundary events and the message branches of event-based gateways.
"""

from __future__ import annotations

import json
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select

from . import clock
from .models import HumanTask, Timer, WaitingMessage


def moment(value) -> datetime | None:
    """A timer's ISO 8601 value (or a cycle timer's ``{'next': …}``) as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, dict):  # a cycle timer: {'next': iso, ...}
        value = value.get("next")
    when = datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=clock.VIETNAM)


def form_path(spec) -> str | None:
    """A user task's form: the ``formJsonSchemaFilename`` property (SpiffArena's convention)."""
    ext = spec.extensions or {}
    return (ext.get("properties") or {}).get("formJsonSchemaFilename") \
        or ext.get("formJsonSchemaFilename")


def waiting_definitions(task) -> list:
    """The event definitions a WAITING task still waits for (an event-based gateway waits for
    each of its branches' events until one has been seen)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        seen = [e.event_definition for e in task.internal_data.get("seen_events", [])]
        return [d for d in definition.event_definitions if d not in seen]
    return [definition] if definition is not None else []


def sync(step) -> None:
    """Make the human-task, timer and waiting-message rows match the workflow."""
    from .messages import waiting_correlation

    session, dossier, wf = step.session, step.dossier, step.workflow
    ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    rows = session.execute(select(HumanTask).where(HumanTask.dossier_id == dossier.id,
                                                   HumanTask.status == "open")).scalars().all()
    known = set()
    for row in rows:
        if row.task_guid in ready:
            known.add(row.task_guid)
        else:
            row.status = "cancelled"
    for guid, task in ready.items():
        if guid not in known:
            session.add(_human_task(step, guid, task))

    timers_waiting, messages_waiting = {}, {}
    for task in wf.get_tasks(state=TaskState.WAITING):
        name = task.task_spec.bpmn_id or task.task_spec.name
        for definition in waiting_definitions(task):
            if isinstance(definition, TimerEventDefinition):
                due = moment(task._get_internal_data("event_value"))
                if due is not None:
                    timers_waiting[str(task.id)] = (name, due)
            elif isinstance(definition, MessageEventDefinition):
                correlation = waiting_correlation(task, definition, dossier.code)
                messages_waiting[(str(task.id), definition.name)] = (name, correlation)
    _sync_timers(step, timers_waiting)
    _sync_messages(step, messages_waiting)

    if wf.completed and dossier.finished_at is None:
        dossier.finished_at = clock.now()
    session.flush()


def _sync_timers(step, waiting: dict) -> None:
    session, dossier = step.session, step.dossier
    timers = session.execute(select(Timer).where(Timer.dossier_id == dossier.id,
                                                 Timer.status == "waiting")).scalars().all()
    for timer in timers:
        if timer.task_guid in waiting:
            timer.due_at = waiting.pop(timer.task_guid)[1]
            continue
        task = step.task(timer.task_guid)
        if task is not None and task.has_state(TaskState.COMPLETED) and _timer_taken(task):
            timer.status, timer.fired_at = "fired", clock.now()  # fired along with another
        else:
            timer.status = "cancelled"
    for guid, (name, due) in waiting.items():
        session.add(Timer(dossier_id=dossier.id, task_guid=guid, spec_name=name, due_at=due))


def _timer_taken(task) -> bool:
    """Whether a completed task went on because of its timer: an event-based gateway also
    completes when a message wins the race, and then its timer did not fire."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, MultipleEventDefinition):
        return True
    chosen = {child.task_spec for child in task.children}
    return any(isinstance(d, TimerEventDefinition) and out in chosen
               for d, out in zip(definition.event_definitions, task.task_spec.outputs,
                                 strict=False))


def _sync_messages(step, waiting: dict) -> None:
    """``waiting_message`` is an index of what is waiting now: rows come and go."""
    session, dossier = step.session, step.dossier
    rows = session.execute(select(WaitingMessage).where(
        WaitingMessage.dossier_id == dossier.id)).scalars().all()
    stale = []
    for row in rows:
        wanted = waiting.pop((row.task_guid, row.name), None)
        if wanted is None:
            stale.append(row.id)
        elif row.correlation != wanted[1]:
            row.correlation = wanted[1]
    if stale:
        session.execute(delete(WaitingMessage).where(WaitingMessage.id.in_(stale)))
    for (guid, message), (name, correlation) in waiting.items():
        session.add(WaitingMessage(dossier_id=dossier.id, task_guid=guid, spec_name=name,
                                   name=message, correlation=correlation,
                                   created_at=clock.now()))


def _instance_label(task) -> str:
    """What tells one multi-instance task from its siblings: the item it works on (the
    input data item's value), or its number when the instances are counted."""
    data = task.internal_data
    if "item" not in data and "key_or_index" not in data:
        return ""
    parent = task.parent.task_spec if task.parent is not None else None
    item_spec = getattr(parent, "input_item", None)
    value = task.data.get(item_spec.bpmn_id) if item_spec is not None else None
    if value is None:
        value = data.get("item", data.get("key_or_index"))
        if getattr(parent, "cardinality", None) is not None and isinstance(value, int):
            return f"#{value + 1}"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                            default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _human_task(step, guid: str, task) -> HumanTask:
    spec = task.task_spec
    ext = spec.extensions or {}
    props = dict(ext.get("properties") or {})
    dossier = step.dossier
    due_at = None
    if props.get("dueIn"):
        due_at = moment(step.workflow.script_engine.evaluate(task, props["dueIn"]))
    assignee_id = dossier.applicant_id if spec.lane == "applicant" else None
    if props.get("sameAssigneeAs"):
        earlier = step.session.execute(
            select(HumanTask.completed_by_id)
            .where(HumanTask.dossier_id == dossier.id, HumanTask.status == "completed",
                   HumanTask.spec_name == props["sameAssigneeAs"])
            .order_by(HumanTask.completed_at.desc()).limit(1)).scalar()
        assignee_id = earlier or assignee_id
    title = spec.bpmn_name or spec.bpmn_id or spec.name
    instance = _instance_label(task)
    if instance:
        props["instance"] = instance
        title = f"{title} — {instance}"
    return HumanTask(dossier_id=dossier.id, task_guid=guid, spec_name=spec.bpmn_id or spec.name,
                     title=title[:500], role_code=spec.lane or "",
                     agency_id=None if spec.lane == "applicant" else dossier.agency_id,
                     assignee_id=assignee_id, form=form_path(spec),
                     properties=props, status="open", created_at=clock.now(),
                     due_at=due_at)
