"""Writing a step: the difference between the rows a workflow needed before the action and
those it needs after (:mod:`engine.step.rows`), as a few Core statements, and the saved
state. No ORM objects, no autoflush: a step that changes nothing but its state writes one
``UPDATE``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import insert, tuple_, update
from sqlalchemy.orm import Session

from .. import clock
from ..models import HumanTask, Instance, Timer, WaitingMessage
from . import rows


def write_rows(session: Session, *, dossier_id: int, before: rows.Wanted, after: rows.Wanted,
               find_task: Callable, new_task: Callable[[object], dict],
               settled: Iterable[str] = ()) -> None:
    """Make the human-task, timer and waiting-message rows of the dossier go from ``before``
    to ``after``. ``new_task(task)`` gives a new human-task row's columns; ``settled`` names
    task rows the step already wrote itself (the task it completed)."""
    _human_tasks(session, before, after, new_task, set(settled))
    _timers(session, dossier_id, before, after, find_task)
    _waits(session, dossier_id, before, after)


def _human_tasks(session, before, after, new_task, settled) -> None:
    gone = [guid for guid in before.tasks if guid not in after.tasks and guid not in settled]
    if gone:
        session.execute(update(HumanTask).where(HumanTask.task_guid.in_(gone),
                                                HumanTask.status == "open")
                        .values(status="cancelled"))
    created = [new_task(task) for guid, task in after.tasks.items() if guid not in before.tasks]
    if created:
        session.execute(insert(HumanTask), created)


def _timers(session, dossier_id, before, after, find_task) -> None:
    fired, cancelled = [], []
    for guid in before.timers:
        if guid in after.timers:
            continue
        task = find_task(guid)
        taken = task is not None and task.has_state(TaskState.COMPLETED) and rows.timer_taken(task)
        (fired if taken else cancelled).append(guid)
    now = clock.now()
    if fired:  # fired along with another event, or by the worker (which marks its own first)
        session.execute(update(Timer).where(Timer.task_guid.in_(fired), Timer.status == "waiting")
                        .values(status="fired", fired_at=now))
    if cancelled:
        session.execute(update(Timer).where(Timer.task_guid.in_(cancelled),
                                            Timer.status == "waiting")
                        .values(status="cancelled"))
    for guid, row in after.timers.items():
        old = before.timers.get(guid)
        if old is not None and old.due_at != row.due_at:  # the appointment moved
            session.execute(update(Timer).where(Timer.task_guid == guid)
                            .values(due_at=row.due_at))
    created = [{"dossier_id": dossier_id, "task_guid": guid, "spec_name": row.spec_name,
                "due_at": row.due_at, "status": "waiting", "last_error": ""}
               for guid, row in after.timers.items() if guid not in before.timers]
    if created:
        session.execute(insert(Timer), created)


def _waits(session, dossier_id, before, after) -> None:
    """``waiting_message`` is an index of what waits now: rows come and go."""
    gone = [key for key in before.waits if key not in after.waits]
    if gone:
        session.execute(WaitingMessage.__table__.delete().where(
            WaitingMessage.dossier_id == dossier_id,
            tuple_(WaitingMessage.task_guid, WaitingMessage.name).in_(gone)))
    for key, row in after.waits.items():
        old = before.waits.get(key)
        if old is not None and old.correlation != row.correlation:
            session.execute(update(WaitingMessage)
                            .where(WaitingMessage.task_guid == key[0],
                                   WaitingMessage.name == key[1])
                            .values(correlation=row.correlation))
    now = clock.now()
    created = [{"dossier_id": dossier_id, "task_guid": guid, "spec_name": row.spec_name,
                "name": name, "correlation": row.correlation, "created_at": now}
               for (guid, name), row in after.waits.items() if (guid, name) not in before.waits]
    if created:
        session.execute(insert(WaitingMessage), created)


def insert_state(session: Session, dossier_id: int, state: bytes, completed: bool) -> None:
    session.execute(insert(Instance).values(dossier_id=dossier_id, state=state,
                                            completed=completed, updated_at=clock.now()))


def save_state(session: Session, dossier_id: int, state: bytes, completed: bool) -> None:
    session.execute(update(Instance).where(Instance.dossier_id == dossier_id)
                    .values(state=state, completed=completed, updated_at=clock.now()))
