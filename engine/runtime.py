"""The SpiffWorkflow adapter: one transaction per action on a dossier.

:func:`run_step` is the only way a dossier's workflow changes: lock the dossier row,
load the saved workflow, apply one action (start, complete a user task, fire a timer,
deliver a message), run the engine to its next wait state, then write back the workflow,
the human-task, timer and waiting-message rows (:mod:`engine.sync`), the messages it sent
(:mod:`engine.messages`), outbox rows, audit events and the dossier's status, all or nothing.

The workflow classes, the state serializer and the spec cache live in :mod:`engine.spiff`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import audit, clock, messages
from .calendar import load_calendar
from .errors import EngineError, NotFound, OperatorError, ScriptError
from .models import Dossier, Instance, ProcedureVersion, Timer
from .operators import StepContext
from .scripting import MotcuaScriptEngine, make_evaluator
from .spiff import (  # noqa: F401  (re-exported: the adapter's public names)
    REGISTRY,
    SERIALIZER,
    SPECS,
    MotcuaWorkflow,
    dump_state,
    load_state,
    new_workflow,
    specs_to_dict,
)
from .sync import form_path, sync  # noqa: F401
from .sync import moment as _moment  # noqa: F401
from .unit import unit_of

log = logging.getLogger(__name__)

# A step ends after this many operator errors caught by boundary events: a diagram whose
# error path leads back to the failing task would otherwise retry it for ever.
MAX_CAUGHT_ERRORS = 50


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
    try:
        task_id = UUID(str(guid))
    except ValueError:
        return None
    for wf in (workflow, *workflow.subprocesses.values()):
        if task_id in wf.tasks:
            return wf.tasks[task_id]
    return None


def lock_dossier(session: Session, dossier_id: int) -> Dossier:
    """Load the dossier row and hold its lock until the transaction ends. Locking it again
    in the same transaction costs nothing: the row is already current."""
    locked = unit_of(session).locked
    if dossier_id in locked:
        dossier = session.get(Dossier, dossier_id)
    else:
        dossier = session.execute(select(Dossier).where(Dossier.id == dossier_id)
                                  .with_for_update(of=Dossier)
                                  .execution_options(populate_existing=True)).scalar()
    if dossier is None:
        raise NotFound("No such dossier.", vi="Không tìm thấy hồ sơ.")
    locked.add(dossier_id)
    return dossier


def _script_engine(p, session, dossier, version, actor) -> tuple[MotcuaScriptEngine, StepContext]:
    calendar = load_calendar(session)
    context = StepContext(platform=p, session=session, dossier=dossier, version=version,
                          calendar=calendar, actor=actor)
    evaluator = make_evaluator(calendar, p.settings.script_timeout_seconds, step=context)
    return MotcuaScriptEngine(context, evaluator), context


def start(p, session: Session, dossier: Dossier, initial_data: dict, *, actor: str) -> Step:
    """Create the dossier's workflow, run it to its first wait state and save it."""
    version = dossier.version if dossier.version is not None else session.get(
        ProcedureVersion, dossier.version_id)
    engine, context = _script_engine(p, session, dossier, version, actor)
    workflow = new_workflow(version, engine, dossier.process_id)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**initial_data)
    step = Step(session, dossier, version, workflow, context)
    _advance(step)
    messages.emit(step)
    session.add(Instance(dossier_id=dossier.id, state=dump_state(workflow),
                         completed=workflow.completed, updated_at=clock.now()))
    sync(step)
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
    workflow = load_state(instance.state, version, dossier.process_id)
    workflow.script_engine = engine
    step = Step(session, dossier, version, workflow, context)
    result = action(step)
    _advance(step)
    messages.emit(step)
    instance.state = dump_state(workflow)
    instance.completed = workflow.completed
    instance.updated_at = clock.now()
    sync(step)
    return result


def _advance(step: Step) -> None:
    """Run the engine to the next wait state. An operator's business error is thrown into the
    diagram as a BPMN error (and the engine runs on along the boundary event's path); any
    other failure of the diagram aborts the step."""
    workflow = step.workflow

    def tag_sender(task) -> None:  # which task threw the messages that leave the workflow
        for thrown in workflow.bpmn_events:
            if not hasattr(thrown, "sender"):
                thrown.sender = task.task_spec.bpmn_id or task.task_spec.name

    caught = 0
    while True:
        try:
            workflow.refresh_timers()
            workflow.do_engine_steps(did_complete_task=tag_sender)
            return
        except OperatorError as exc:
            task = find_task(workflow, getattr(exc, "task_id", "") or "")
            if task is None or caught >= MAX_CAUGHT_ERRORS:
                raise
            messages.throw_operator_error(step, task, exc)
            caught += 1
        except SpiffWorkflowException as exc:
            where = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or ""
            raise _diagram_failed(where, str(exc)) from exc
        except (EngineError, SQLAlchemyError):
            raise
        except Exception as exc:  # the library's own errors on unexpected data (TypeError…)
            failed = workflow.get_tasks(state=TaskState.ERROR)
            where = failed[-1].task_spec.bpmn_id or "" if failed else ""
            raise _diagram_failed(where, f"{type(exc).__name__}: {exc}") from exc


def _diagram_failed(where: str, message: str) -> ScriptError:
    return ScriptError(f"The procedure's diagram failed at {where or 'a step'}: {message}",
                       vi=f"Quy trình gặp lỗi tại {where or 'một bước'}: {message}",
                       details=[{"element": where, "message": message}])


def fire_timer(step: Step, timer: Timer) -> bool:
    """Mark the timer's event as fired; the engine steps that follow take its path."""
    task = step.task(timer.task_guid)
    if task is None or task.state != TaskState.WAITING:
        return False
    task._set_internal_data(event_fired=True)
    audit.append(step.session, actor="system", action="timer", dossier_id=step.dossier.id,
                 detail={"timer": timer.spec_name, "due_at": timer.due_at.isoformat()})
    return True
