"""The SpiffWorkflow adapter: one transaction per action on a dossier.

A step reads top to bottom (:func:`run_step`):

1. **load** (:mod:`engine.step.load`): the dossier row locked, then its saved workflow and
   its version's content hash; the version's metadata and specs from in-process caches;
2. note the rows the workflow needs *now* (:func:`engine.step.rows.wanted`: pure, no SQL),
   since they are the rows the last step wrote;
3. apply **one action** (start, complete a user task, fire a timer, deliver a message,
   move to another version, end the dossier) and run the engine to its next wait state;
4. **store** (:mod:`engine.step.store`): the messages it threw, the saved state, and the
   difference between the rows it needed before and those it needs now, as Core
   statements. The dossier's own columns (status, dates) are its ORM row, flushed at
   commit; audit events, jobs and after-commit work belong to the transaction's unit of
   work (:mod:`engine.unit`), all or nothing.

Nothing slow belongs inside: signatures are made before the lock (:mod:`engine.tasks`),
slips are rendered by jobs after commit (:mod:`engine.jobs`), outside services are asked
with no lock held and their answer applied in the step run again (:mod:`engine.outside`).

The workflow classes, the state serializer and the spec cache live in :mod:`engine.spiff`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import audit, clock, health, messages, national, outside, script_pool
from .calendar import KEPT, WorkingCalendar, load_calendar
from .errors import Conflict, EngineError, OperatorError, ScriptError
from .models import Dossier, HumanTask, Timer
from .operators import StepContext
from .scripting import MotcuaScriptEngine, make_evaluator
from .spiff import dump_state_checked, load_state, new_workflow
from .step import load, rows, sql, store
from .step.load import lock_dossier  # noqa: F401  (the lock every dossier action takes)
from .step.warm import WARM
from .unit import unit_of

# A step ends after this many operator errors caught by boundary events: a diagram whose
# error path leads back to the failing task would otherwise retry it for ever.
MAX_CAUGHT_ERRORS = 50


@dataclass
class Step:
    """One action's view of a dossier: the locked row, its workflow and the step context."""

    session: Session
    dossier: Dossier
    version: Any  # engine.step.load.Version (or the target ProcedureVersion of a migration)
    workflow: BpmnWorkflow
    context: StepContext
    #: The rows the workflow needed when loaded (what the previous step wrote).
    before: rows.Wanted = field(default_factory=rows.Wanted)
    #: Task rows the action wrote itself (the human task it completed).
    settled: set[str] = field(default_factory=set)
    #: Who completed which task (by spec name) in this step, for ``sameAssigneeAs``.
    completed_by: dict[str, int] = field(default_factory=dict)

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


class _Calendar:
    """The working-day calendar, read the first time a step asks for it (most steps never
    count working days) unless the process holds it under the revision the step's locked
    read found (:mod:`engine.revisions`)."""

    def __init__(self, session: Session, calendar: WorkingCalendar | None = None):
        self._session = session
        self._calendar = calendar

    def __getattr__(self, name):
        if self._calendar is None:
            self._calendar = load_calendar(self._session, unit_of(self._session)
                                           .calendar_revision)
        return getattr(self._calendar, name)

    def unread(self) -> bool:
        """Whether the step would have to read the calendar (it has not, and the process
        does not hold it under the step's revision)."""
        if self._calendar is None:
            kept = KEPT.get(unit_of(self._session).calendar_revision)
            self._calendar = kept[0] if kept is not None else None
        return self._calendar is None

    def supply(self, calendar: WorkingCalendar) -> None:
        """The calendar, read by a caller together with what it needed."""
        self._calendar = calendar


def _script_engine(p, session, dossier, version, actor, calendar: WorkingCalendar | None = None
                   ) -> tuple[MotcuaScriptEngine, StepContext]:
    calendar = _Calendar(session, calendar)
    context = StepContext(platform=p, session=session, dossier=dossier, version=version,
                          calendar=calendar, actor=actor)
    evaluator = make_evaluator(calendar, p.settings.script_timeout_seconds, step=context,
                               pool=script_pool.shared(p.settings))
    return MotcuaScriptEngine(context, evaluator), context


def start(p, session: Session, dossier: Dossier, initial_data: dict, *, actor: str,
          version=None, calendar: WorkingCalendar | None = None) -> Step:
    """Create the dossier's workflow (the row exists, with its id), run it to its first
    wait state and save it (``calendar``: the working calendar, when the caller has read
    it in this transaction)."""
    version = version or load.version_of(session, dossier)
    engine, context = _script_engine(p, session, dossier, version, actor, calendar)
    workflow = new_workflow(version, engine, dossier.process_id)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**initial_data)
    unit_locked(session, dossier.id)
    step = Step(session, dossier, version, workflow, context)
    national.record_status(context, first=True)  # received: the national portal's first record
    _advance(step)
    messages.emit(step)
    saved, faithful = dump_state_checked(workflow)
    store.insert_state(session, dossier.id, saved, workflow.completed)
    after = _write_rows(step)
    if faithful and step.version is version:
        WARM.keep(session, dossier, version, saved, workflow, after)
    return step


def unit_locked(session: Session, dossier_id: int) -> None:
    """Count ``dossier_id`` as locked by this transaction (it created the row, so nobody else
    sees it, or it has just locked it itself)."""
    unit_of(session).locked.add(dossier_id)


def run_step(p, dossier_id: int, action: Callable[[Step], Any], *, actor: str,
             session: Session | None = None) -> Any:
    """Apply ``action`` to the dossier's workflow in one transaction and persist the result.

    With ``session``, run inside the caller's transaction (which must then commit).
    """
    if session is None:
        def attempt():
            with p.db.transaction() as own:
                return _run(p, own, dossier_id, action, actor)
        return outside.attempts(attempt)
    return _run(p, session, dossier_id, action, actor)


def _run(p, session, dossier_id, action, actor):
    dossier = lock_dossier(session, dossier_id)
    state, version = load.saved_state(session, dossier)
    return run_loaded(p, session, dossier, state, version, action, actor=actor)


def run_loaded(p, session: Session, dossier: Dossier, state: bytes, version,
               action: Callable[[Step], Any], *, actor: str) -> Any:
    """:func:`run_step` for a caller that has locked the dossier and read its saved state
    itself (after taking the lock), e.g. with the task it completes."""
    if dossier.suspended_at is not None:  # an administrator's suspension (engine.incidents)
        raise Conflict(f"Dossier {dossier.code} is suspended by an administrator; its "
                       "processing waits until it is resumed.",
                       vi=f"Hồ sơ {dossier.code} đang được quản trị viên tạm dừng xử lý; "
                          "hãy chờ đến khi hồ sơ được tiếp tục.")
    engine, context = _script_engine(p, session, dossier, version, actor)
    warm = WARM.take(dossier, version, state)
    if warm is not None:  # this process saved that very state: no restore (engine.step.warm)
        workflow, before = warm
    else:
        workflow = load_state(state, version, dossier.process_id)
        before = rows.wanted(workflow, dossier.code)
    workflow.script_engine = engine
    step = Step(session, dossier, version, workflow, context, before=before)
    result = action(step)
    _advance(step)
    messages.emit(step)
    saved, faithful = dump_state_checked(step.workflow)
    store.save_state(session, dossier.id, saved, step.workflow.completed)
    after = _write_rows(step)
    if faithful and step.workflow is workflow and step.version is version:
        WARM.keep(session, dossier, version, saved, workflow, after)
    return result


def _write_rows(step: Step) -> rows.Wanted:
    health.STEPS.inc()  # every step, a dossier's first one included, writes its rows once
    session, dossier, workflow = step.session, step.dossier, step.workflow
    new_task = partial(rows.human_task_values, dossier_id=dossier.id,
                       agency_id=dossier.agency_id, applicant_id=dossier.applicant_id,
                       evaluate=workflow.script_engine.evaluate,
                       earlier_assignee=partial(_earlier_assignee, step),
                       now=clock.now())
    after = rows.wanted(workflow, dossier.code)
    store.write_rows(session, dossier_id=dossier.id, before=step.before, after=after,
                     find_task=step.task, new_task=new_task, settled=step.settled)
    if workflow.completed and dossier.finished_at is None:
        dossier.finished_at = clock.now()
    return after


def _earlier_assignee(step: Step, spec_name: str) -> int | None:
    """Who completed the dossier's last ``spec_name`` task (``sameAssigneeAs``): in this
    step (its row is still queued), as the workflow remembers it (:data:`COMPLETED_BY`),
    or, for a task completed before workflows remembered it, from the task rows."""
    if spec_name in step.completed_by:
        return step.completed_by[spec_name]
    remembered = [task for task in rows.tasks_in(step.workflow, TaskState.COMPLETED)
                  if COMPLETED_BY in task.internal_data and rows.spec_name(task) == spec_name]
    if remembered:
        return max(remembered, key=lambda task: task.last_state_change
                   ).internal_data[COMPLETED_BY]
    # On the connection: the rows it reads are committed ones, and the ORM's autoflush
    # would send the locked dossier's changes early, in an update of their own.
    found = sql.run(step.session, _EARLIER_ASSIGNEE,
                    {"dossier_id": step.dossier.id, "spec_name": spec_name})
    return found[0][0] if found else None


#: The key of a completed user task's internal data that holds the id of the officer who
#: completed it (``sameAssigneeAs`` reads it without a query).
COMPLETED_BY = "motcua_completed_by"


_EARLIER_ASSIGNEE = (select(HumanTask.completed_by_id)
                     .where(HumanTask.dossier_id == bindparam("dossier_id"),
                            HumanTask.status == "completed",
                            HumanTask.spec_name == bindparam("spec_name"))
                     .order_by(HumanTask.completed_at.desc()).limit(1))


def _advance(step: Step) -> None:
    """Run the engine to the next wait state. An operator's business error is thrown into the
    diagram as a BPMN error (and the engine runs on along the boundary event's path); a
    diagram that fails aborts the step with a :class:`ScriptError`. An operator's bug (an
    exception that is no :class:`EngineError`) is not the diagram's fault: it propagates
    as it is, to be logged with its traceback."""
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
        except Exception as exc:
            if getattr(exc, "motcua_operator", None):
                raise
            # the library's own errors on data the diagram shaped (TypeError…)
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
