"""The SpiffWorkflow adapter: one transaction per action on a dossier.

:func:`run_step` is the only way a dossier's workflow changes: lock the dossier row,
load the saved workflow, apply one action (start, complete a user task, fire a timer),
run the engine to its next wait state, then write back the workflow, the human-task rows,
the timer rows, outbox rows, audit events and the dossier's status, all or nothing.

The saved state leaves out the specs: they are stored once per procedure version and
kept deserialized in a small in-process cache, which makes a save a fraction of the
library's full serialization.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock
from .calendar import load_calendar
from .errors import NotFound, ScriptError
from .models import Dossier, HumanTask, Instance, ProcedureVersion, Timer
from .operators import StepContext
from .scripting import MotcuaScriptEngine, make_evaluator

log = logging.getLogger(__name__)


class _StateConverter(BpmnWorkflowConverter):
    """Serializes a workflow's state without its specs; restores it onto cached spec objects."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        workflow = self.target_class(dct.pop("spec"), dct.pop("subprocess_specs"),
                                     deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _EngineClock(datetime):
    """SpiffWorkflow's timer events read ``datetime.now``; make them read the engine clock,
    so a timer is due exactly when its row says (and tests can move time)."""

    @classmethod
    def now(cls, tz=None):
        moment = clock.now()
        return moment.astimezone(tz) if tz else moment.astimezone(clock.VIETNAM).replace(tzinfo=None)


spiff_timer.datetime = _EngineClock

_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = _StateConverter
REGISTRY = BpmnWorkflowSerializer.configure(_config)
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)


def specs_to_dict(spec, subprocess_specs: dict) -> dict:
    """The JSON form of a version's specs, stored on the version row."""
    return {"spec": REGISTRY.convert(spec),
            "subprocess_specs": {k: REGISTRY.convert(v) for k, v in subprocess_specs.items()}}


class _SpecCache:
    """Deserialized specs per version id. Versions are immutable, so entries never go stale."""

    def __init__(self, size: int = 64):
        self.size = size
        self.items: OrderedDict[int, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, version: ProcedureVersion) -> tuple:
        with self.lock:
            if version.id in self.items:
                self.items.move_to_end(version.id)
                return self.items[version.id]
        spec = REGISTRY.restore(json.loads(json.dumps(version.spec["spec"])))
        subs = {k: REGISTRY.restore(json.loads(json.dumps(v)))
                for k, v in version.spec["subprocess_specs"].items()}
        with self.lock:
            self.items[version.id] = (spec, subs)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return spec, subs


SPECS = _SpecCache()


def dump_state(workflow: BpmnWorkflow) -> str:
    return SERIALIZER.serialize_json(workflow)


def load_state(state: str, version: ProcedureVersion) -> BpmnWorkflow:
    dct = json.loads(state, cls=SERIALIZER.json_decoder_cls)
    SERIALIZER.migrate(dct)
    dct["spec"], dct["subprocess_specs"] = SPECS.get(version)
    return SERIALIZER.from_dict(dct)


@dataclass
class Step:
    """One action's view of a dossier: the locked row, its workflow and the step context."""

    session: Session
    dossier: Dossier
    version: ProcedureVersion
    workflow: BpmnWorkflow
    context: StepContext

    def task(self, guid: str):
        return find_task(self.workflow, guid)


def find_task(workflow: BpmnWorkflow, guid: str):
    """The task with this id in the workflow or any of its sub-processes, or None.

    (The library's ``get_task_from_id`` raises as soon as one sub-process lacks the id.)
    """
    task_id = UUID(guid)
    for wf in (workflow, *workflow.subprocesses.values()):
        if task_id in wf.tasks:
            return wf.tasks[task_id]
    return None


def lock_dossier(session: Session, dossier_id: int) -> Dossier:
    """Load the dossier row and hold its lock until the transaction ends."""
    dossier = session.execute(select(Dossier).where(Dossier.id == dossier_id)
                              .with_for_update(of=Dossier)
                              .execution_options(populate_existing=True)).scalar()
    if dossier is None:
        raise NotFound("No such dossier.", vi="Không tìm thấy hồ sơ.")
    return dossier


def _script_engine(p, session, dossier, version, actor) -> tuple[MotcuaScriptEngine, StepContext]:
    calendar = load_calendar(session)
    context = StepContext(platform=p, session=session, dossier=dossier, version=version,
                          calendar=calendar, actor=actor)
    evaluator = make_evaluator(calendar, p.settings.script_timeout_seconds)
    return MotcuaScriptEngine(context, evaluator), context


def start(p, session: Session, dossier: Dossier, initial_data: dict, *, actor: str) -> Step:
    """Create the dossier's workflow, run it to its first wait state and save it."""
    version = dossier.version if dossier.version is not None else session.get(
        ProcedureVersion, dossier.version_id)
    engine, context = _script_engine(p, session, dossier, version, actor)
    spec, subs = SPECS.get(version)
    workflow = BpmnWorkflow(spec, subs, script_engine=engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**initial_data)
    step = Step(session, dossier, version, workflow, context)
    _advance(step)
    session.add(Instance(dossier_id=dossier.id, state=dump_state(workflow),
                         completed=workflow.completed, updated_at=clock.now()))
    _sync(step)
    return step


def run_step(p, dossier_id: int, action: Callable[[Step], Any], *, actor: str,
             session: Session | None = None) -> Any:
    """Apply ``action`` to the dossier's workflow in one transaction and persist the result.

    With ``session``, run inside the caller's transaction (which must then commit).
    """
    if session is None:
        with p.db.transaction() as own:
            return _run(p, own, dossier_id, action, actor)
    return _run(p, session, dossier_id, action, actor)


def _run(p, session, dossier_id, action, actor):
    dossier = lock_dossier(session, dossier_id)
    instance = session.get(Instance, dossier_id, populate_existing=True)
    version = session.get(ProcedureVersion, dossier.version_id)
    engine, context = _script_engine(p, session, dossier, version, actor)
    workflow = load_state(instance.state, version)
    workflow.script_engine = engine
    step = Step(session, dossier, version, workflow, context)
    result = action(step)
    _advance(step)
    instance.state = dump_state(workflow)
    instance.completed = workflow.completed
    instance.updated_at = clock.now()
    _sync(step)
    return result


def _advance(step: Step) -> None:
    """Run the engine to the next wait state; a failing diagram expression aborts the step."""
    try:
        step.workflow.refresh_timers()
        step.workflow.do_engine_steps()
    except SpiffWorkflowException as exc:
        where = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or ""
        raise ScriptError(f"The procedure's diagram failed at {where or 'a step'}: {exc}",
                          vi=f"Quy trình gặp lỗi tại {where or 'một bước'}: {exc}",
                          details=[{"element": where, "message": str(exc)}]) from exc


def _moment(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, dict):  # a cycle timer: {'next': iso, ...}
        value = value.get("next")
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.VIETNAM)


def _sync(step: Step) -> None:
    """Make the human-task and timer rows match the workflow's ready and waiting tasks."""
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

    waiting = {}
    for task in wf.get_tasks(state=TaskState.WAITING):
        event = getattr(task.task_spec, "event_definition", None)
        if isinstance(event, TimerEventDefinition):
            due = _moment(task._get_internal_data("event_value"))
            if due is not None:
                waiting[str(task.id)] = (task.task_spec.bpmn_id or task.task_spec.name, due)
    timers = session.execute(select(Timer).where(Timer.dossier_id == dossier.id,
                                                 Timer.status == "waiting")).scalars().all()
    for timer in timers:
        if timer.task_guid in waiting:
            timer.due_at = waiting.pop(timer.task_guid)[1]
            continue
        task = find_task(wf, timer.task_guid)
        if task is not None and task.has_state(TaskState.COMPLETED):
            timer.status, timer.fired_at = "fired", clock.now()  # fired along with another
        else:
            timer.status = "cancelled"
    for guid, (name, due) in waiting.items():
        session.add(Timer(dossier_id=dossier.id, task_guid=guid, spec_name=name, due_at=due))

    if wf.completed and dossier.finished_at is None:
        dossier.finished_at = clock.now()
    session.flush()


def _human_task(step: Step, guid: str, task) -> HumanTask:
    spec = task.task_spec
    ext = spec.extensions or {}
    props = ext.get("properties") or {}
    dossier = step.dossier
    due_at = None
    if props.get("dueIn"):
        due_at = _moment(step.workflow.script_engine.evaluate(task, props["dueIn"]))
    assignee_id = dossier.applicant_id if spec.lane == "applicant" else None
    if props.get("sameAssigneeAs"):
        earlier = step.session.execute(
            select(HumanTask.completed_by_id)
            .where(HumanTask.dossier_id == dossier.id, HumanTask.status == "completed",
                   HumanTask.spec_name == props["sameAssigneeAs"])
            .order_by(HumanTask.completed_at.desc()).limit(1)).scalar()
        assignee_id = earlier or assignee_id
    return HumanTask(dossier_id=dossier.id, task_guid=guid, spec_name=spec.bpmn_id or spec.name,
                     title=spec.bpmn_name or spec.bpmn_id or spec.name, role_code=spec.lane or "",
                     agency_id=None if spec.lane == "applicant" else dossier.agency_id,
                     assignee_id=assignee_id, form=form_path(spec),
                     properties=dict(props), status="open", created_at=clock.now(),
                     due_at=due_at)


def form_path(spec) -> str | None:
    """A user task's form: the ``formJsonSchemaFilename`` property (SpiffArena's convention)."""
    ext = spec.extensions or {}
    return (ext.get("properties") or {}).get("formJsonSchemaFilename") \
        or ext.get("formJsonSchemaFilename")


def fire_timer(step: Step, timer: Timer) -> bool:
    """Mark the timer's event as fired; the engine steps that follow take its path."""
    task = step.task(timer.task_guid)
    if task is None or task.state != TaskState.WAITING:
        return False
    task._set_internal_data(event_fired=True)
    audit.append(step.session, actor="system", action="timer", dossier_id=step.dossier.id,
                 detail={"timer": timer.spec_name, "due_at": timer.due_at.isoformat()})
    return True
