"""The rows a workflow needs, as pure functions of the workflow.

Task lists, the worker and message delivery query rows and never deserialize workflows:
``human_task`` for READY user and manual tasks (one row per multi-instance instance),
``timer`` for WAITING timer events (boundary, intermediate and event-based gateway
timers), ``waiting_message`` for WAITING message catch events, receive tasks, message
boundary events and the message branches of event-based gateways.

:func:`wanted` says which rows a workflow needs, keyed by task id, without touching the
database: a step compares what its workflow needed before the action with what it needs
after (:mod:`engine.step.store` writes the difference), and a migration uses the same
functions to refresh the rows of the tasks that carry on. Values that cost something to
compute (a task's due date, its assignee) are computed only for rows being created, by
:func:`human_task_values`.

Every step walks its workflow's whole task tree once here, finished branches included (a
READY task grows below a completed one), by :func:`engine.spiff.tasks_in`: the plain loop
our workflows' own ``get_tasks(state=…)`` takes, the same tasks in the same order as the
library's iterator for a fraction of the time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .. import clock
from ..spiff import tasks_in
from ..vocabulary import RoleCode

TITLE_LENGTH = 500
LABEL_LENGTH = 80


@dataclass(frozen=True)
class TimerRow:
    spec_name: str
    due_at: datetime


@dataclass(frozen=True)
class WaitRow:
    spec_name: str
    correlation: str


@dataclass
class Wanted:
    """The rows a workflow needs: READY human tasks (the Spiff tasks), WAITING timers and
    message waits (keyed by ``(task id, message name)``)."""

    tasks: dict[str, object] = field(default_factory=dict)
    timers: dict[str, TimerRow] = field(default_factory=dict)
    waits: dict[tuple[str, str], WaitRow] = field(default_factory=dict)


def moment(value) -> datetime | None:
    """A timer's ISO 8601 value (or a cycle timer's ``{'next': …}``) as an aware datetime;
    a naive one is Vietnam time."""
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


def spec_name(task) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name


def waiting_definitions(task) -> list:
    """The event definitions a WAITING task still waits for (an event-based gateway waits for
    each of its branches' events until one has been seen)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        seen = [e.event_definition for e in task.internal_data.get("seen_events", [])]
        return [d for d in definition.event_definitions if d not in seen]
    return [definition] if definition is not None else []


def _properties(definition) -> list:
    return [*getattr(definition, "correlation_properties", []),
            *getattr(definition, "process_correlations", [])]


def waiting_correlation(task, definition: MessageEventDefinition, dossier_code: str) -> str:
    """The correlation a waiting task expects: the value the workflow already holds for the
    message's correlation property (learnt from an earlier message, or set by
    ``spiffworkflow:processVariableCorrelation``), else its own dossier's code."""
    known = task.workflow.correlations or {}
    for prop in _properties(definition):
        for key in prop.correlation_keys:
            value = (known.get(key) or {}).get(prop.name)
            if value is not None:
                return str(value)
    return dossier_code


def wanted(workflow, dossier_code: str) -> Wanted:
    """The rows ``workflow`` needs now (see the module docstring)."""
    need = Wanted()
    # One walk of the task tree (each walk visits every task): READY and WAITING together.
    for task in tasks_in(workflow, TaskState.READY | TaskState.WAITING):
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                need.tasks[str(task.id)] = task
            continue
        name = spec_name(task)
        for definition in waiting_definitions(task):
            if isinstance(definition, TimerEventDefinition):
                due = moment(task._get_internal_data("event_value"))
                if due is not None:
                    need.timers[str(task.id)] = TimerRow(name, due)
            elif isinstance(definition, MessageEventDefinition):
                correlation = waiting_correlation(task, definition, dossier_code)
                need.waits[(str(task.id), definition.name)] = WaitRow(name, correlation[:255])
    return need


def timer_taken(task) -> bool:
    """Whether a completed task went on because of its timer: an event-based gateway also
    completes when a message wins the race, and then its timer did not fire."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, MultipleEventDefinition):
        return True
    chosen = {child.task_spec for child in task.children}
    return any(isinstance(d, TimerEventDefinition) and out in chosen
               for d, out in zip(definition.event_definitions, task.task_spec.outputs,
                                 strict=False))


def instance_label(task) -> str:
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
    return text if len(text) <= LABEL_LENGTH else text[:LABEL_LENGTH - 1] + "…"


def describe(task) -> dict:
    """The columns of a human-task row that its task's spec decides: title, spec name,
    role (the lane), form and properties (with the multi-instance label)."""
    spec = task.task_spec
    props = dict((spec.extensions or {}).get("properties") or {})
    title = spec.bpmn_name or spec.bpmn_id or spec.name
    label = instance_label(task)
    if label:
        props["instance"] = label
        title = f"{title} — {label}"
    return {"spec_name": spec_name(task), "title": title[:TITLE_LENGTH],
            "role_code": spec.lane or "", "form": form_path(spec), "properties": props}


def due_at(task, evaluate: Callable) -> datetime | None:
    """The task's due moment from its ``dueIn`` expression (evaluated with ``evaluate``)."""
    expression = ((task.task_spec.extensions or {}).get("properties") or {}).get("dueIn")
    return moment(evaluate(task, expression)) if expression else None


def human_task_values(task, *, dossier_id: int, agency_id: int | None, applicant_id: int,
                      evaluate: Callable, earlier_assignee: Callable[[str], int | None],
                      now: datetime) -> dict:
    """Every column of a new human-task row for the READY ``task``. ``evaluate(task, expr)``
    evaluates its due date; ``earlier_assignee(spec_name)`` answers ``sameAssigneeAs``."""
    values = describe(task)
    applicant_lane = values["role_code"] == RoleCode.APPLICANT
    assignee = applicant_id if applicant_lane else None
    same = values["properties"].get("sameAssigneeAs")
    if same:
        assignee = earlier_assignee(same) or assignee
    values.update(dossier_id=dossier_id, task_guid=str(task.id),
                  agency_id=None if applicant_lane else agency_id, assignee_id=assignee,
                  status="open", created_at=now, due_at=due_at(task, evaluate))
    return values
