"""Writing a step: the difference between the rows a workflow needed before the action and
those it needs after (:mod:`engine.step.rows`), and the saved state, as Core statements.

The statements are not sent one by one. They wait in the transaction's unit of work
(:mod:`engine.unit`) and leave together just before commit with the audit events
(:func:`send_pending`): on PostgreSQL as **one** statement whose parts are data-modifying
CTEs (they touch distinct rows, so their order does not matter), on SQLite one after the
other (in process, where a statement costs no round trip). Whatever reads these tables
later in the same transaction sends them first (:func:`flush`): the next step's load does.
No ORM objects, no autoflush.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from .. import audit, clock
from ..models import Dossier, HumanTask, Instance, Timer, WaitingMessage
from ..unit import KEY, Unit, unit_of
from . import rows
from .sql import Template, Write, insert_rows, param, send

TASKS, TIMERS, WAITS = HumanTask.__table__, Timer.__table__, WaitingMessage.__table__
STATES = Instance.__table__


def _update(table, key: str, columns: tuple[str, ...]) -> Template:
    """The update of ``columns`` of the row whose ``key`` column is given."""
    return Template(lambda tag: update(table).where(table.c[key] == param(key, table.c[key], tag))
                    .values({name: param(name, table.c[name], tag) for name in columns}))


# Built once: the writes every step makes (engine.step.sql).
_SAVE_STATE = _update(STATES, "dossier_id", ("state", "completed", "updated_at"))
_COMPLETE_TASK = _update(TASKS, "id", ("status", "completed_by_id", "completed_at",
                                       "assignee_id", "data"))
_CANCEL_TASK = Template(
    lambda tag: update(TASKS).where(TASKS.c.task_guid == param("task_guid", TASKS.c.task_guid, tag),
                                    TASKS.c.status == "open").values(status="cancelled"))
_CANCEL_TASKS = Template(
    lambda tag: update(TASKS).where(TASKS.c.task_guid.in_(param("gone", tag=tag, expanding=True)),
                                    TASKS.c.status == "open").values(status="cancelled"))
#: More rows than this that stop waiting at once (a multi-instance task's instances) are
#: one update of a list, not a write per row: the one statement a step's writes become
#: would otherwise be built for each such number.
_ROW_BY_ROW = 8


def _end_timer(*columns: str) -> Template:
    """The update of a waiting timer that ended: fired (status and time) or cancelled."""
    return Template(lambda tag: update(TIMERS).where(
        TIMERS.c.task_guid == param("task_guid", TIMERS.c.task_guid, tag),
        TIMERS.c.status == "waiting").values(
            {name: param(name, TIMERS.c[name], tag) for name in columns}))


_FIRE_TIMER = _end_timer("status", "fired_at")
_CANCEL_TIMER = _end_timer("status")
_MOVE_TIMER = _update(TIMERS, "task_guid", ("due_at",))
_STOP_WAITING = Template(
    lambda tag: WAITS.delete().where(WAITS.c.dossier_id == param("dossier_id", WAITS.c.dossier_id,
                                                                 tag),
                                     WAITS.c.task_guid == param("task_guid", WAITS.c.task_guid, tag),
                                     WAITS.c.name == param("name", WAITS.c.name, tag)))
_CORRELATE = Template(
    lambda tag: update(WAITS).where(WAITS.c.task_guid == param("task_guid", WAITS.c.task_guid, tag),
                                    WAITS.c.name == param("name", WAITS.c.name, tag))
    .values(correlation=param("correlation", WAITS.c.correlation, tag)))


def write_rows(session: Session, *, dossier_id: int, before: rows.Wanted, after: rows.Wanted,
               find_task: Callable, new_task: Callable[[object], dict],
               settled: Iterable[str] = ()) -> None:
    """Queue what makes the dossier's human-task, timer and waiting-message rows go from
    ``before`` to ``after``. ``new_task(task)`` gives a new human-task row's columns;
    ``settled`` names task rows the step wrote itself (the task it completed)."""
    # Built first, queued after: computing a new row may itself send the queue (flush).
    statements = [*_human_tasks(before, after, new_task, set(settled)),
                  *_timers(dossier_id, before, after, find_task),
                  *_waits(dossier_id, before, after)]
    unit_of(session).writes.extend(statements)


def _human_tasks(before, after, new_task, settled) -> list:
    out = []
    gone = [guid for guid in before.tasks if guid not in after.tasks and guid not in settled]
    if len(gone) > _ROW_BY_ROW:
        out.append(Write(_CANCEL_TASKS, {"gone": gone}))
    else:
        out += [Write(_CANCEL_TASK, {"task_guid": guid}) for guid in gone]
    created = [new_task(task) for guid, task in after.tasks.items() if guid not in before.tasks]
    if created:
        out.append(insert_rows(TASKS, created))
    return out


def _timers(dossier_id, before, after, find_task) -> list:
    out = []
    for guid in before.timers:
        if guid in after.timers:
            continue
        task = find_task(guid)
        if task is not None and task.has_state(TaskState.COMPLETED) and rows.timer_taken(task):
            # fired along with another event, or by the worker (which marks its own first)
            out.append(Write(_FIRE_TIMER, {"task_guid": guid, "status": "fired",
                                           "fired_at": clock.now()}))
        else:
            out.append(Write(_CANCEL_TIMER, {"task_guid": guid, "status": "cancelled"}))
    for guid, row in after.timers.items():
        old = before.timers.get(guid)
        if old is not None and old.due_at != row.due_at:  # the appointment moved
            out.append(Write(_MOVE_TIMER, {"task_guid": guid, "due_at": row.due_at}))
    created = [{"dossier_id": dossier_id, "task_guid": guid, "spec_name": row.spec_name,
                "due_at": row.due_at, "status": "waiting", "last_error": ""}
               for guid, row in after.timers.items() if guid not in before.timers]
    if created:
        out.append(insert_rows(TIMERS, created))
    return out


def _waits(dossier_id, before, after) -> list:
    """``waiting_message`` is an index of what waits now: rows come and go."""
    out = [Write(_STOP_WAITING, {"dossier_id": dossier_id, "task_guid": guid, "name": name})
           for guid, name in before.waits if (guid, name) not in after.waits]
    for key, row in after.waits.items():
        old = before.waits.get(key)
        if old is not None and old.correlation != row.correlation:
            out.append(Write(_CORRELATE, {"task_guid": key[0], "name": key[1],
                                          "correlation": row.correlation}))
    now = clock.now()
    created = [{"dossier_id": dossier_id, "task_guid": guid, "spec_name": row.spec_name,
                "name": name, "correlation": row.correlation, "created_at": now}
               for (guid, name), row in after.waits.items() if (guid, name) not in before.waits]
    if created:
        out.append(insert_rows(WAITS, created))
    return out


def insert_state(session: Session, dossier_id: int, state: bytes, completed: bool) -> None:
    unit_of(session).writes.append(insert_rows(STATES, [{
        "dossier_id": dossier_id, "state": state, "completed": completed,
        "updated_at": clock.now()}]))


def save_state(session: Session, dossier_id: int, state: bytes, completed: bool) -> None:
    unit_of(session).writes.append(Write(_SAVE_STATE, {
        "dossier_id": dossier_id, "state": state, "completed": completed,
        "updated_at": clock.now()}))


def complete_task(session: Session, task_id: int, *, user_id: int, assignee_id: int | None,
                  data: dict) -> None:
    """Queue the completion of human task ``task_id`` by ``user_id``."""
    unit_of(session).writes.append(Write(_COMPLETE_TASK, {
        "id": task_id, "status": "completed", "completed_by_id": user_id,
        "completed_at": clock.now(), "assignee_id": assignee_id or user_id, "data": data}))


_CLAIM_TASK = _update(TASKS, "id", ("assignee_id",))


def claim_task(session: Session, task_id: int, user_id: int) -> None:
    """Queue the claim of human task ``task_id`` by ``user_id``."""
    unit_of(session).writes.append(Write(_CLAIM_TASK, {"id": task_id, "assignee_id": user_id}))


def flush(session: Session) -> None:
    """Send the queued writes now (before reading the tables they write)."""
    unit = session.info.get(KEY)
    if unit is not None and unit.writes:
        session.flush()
        send(session, unit.take_writes())


_DOSSIER_UPDATES: dict[tuple[str, ...], Template] = {}
_DOSSIER_COLUMNS = frozenset(attr.key for attr in Dossier.__mapper__.column_attrs)


def _dossier_update(columns: tuple[str, ...]) -> Template:
    found = _DOSSIER_UPDATES.get(columns)
    if found is None:
        found = _DOSSIER_UPDATES[columns] = _update(Dossier.__table__, "id", columns)
    return found


def locked_dossier_writes(session: Session, unit: Unit) -> list[Write]:
    """The changed columns of the dossiers this transaction locked (a step's status,
    appointment, clock), as writes to send with the others instead of an ORM update of
    their own; the objects then hold them as their committed values and are clean. A
    dossier with a changed relationship is left to the ORM.

    Written, an object's values are committed as after the ORM's own update of its row
    (``InstanceState._commit_all``, what the flush calls): its new ``updated_at`` goes
    straight into its dictionary first, committed with the rest, since setting it as an
    attribute would record a change only to forget it."""
    out = []
    if not unit.locked:
        return out
    for obj in session.dirty:
        if type(obj) is not Dossier or obj.id not in unit.locked:
            continue
        state = instance_state(obj)
        before = state.committed_state  # each attribute set in this transaction: its old value
        if not before.keys() <= _DOSSIER_COLUMNS:  # a relationship too: the ORM writes it
            continue
        now = state.dict
        changed = {key: now[key] for key, old in before.items() if key in now and now[key] != old}
        if changed:
            now["updated_at"] = changed["updated_at"] = clock.now()
            out.append(Write(_dossier_update(tuple(sorted(changed))), {"id": obj.id, **changed}))
        # written (or touched, not changed): the object leaves the session's modified set,
        # so the flush before commit has nothing to look at
        state._commit_all(now, session.identity_map)
    return out


def send_pending(session: Session, unit: Unit) -> None:
    """At commit: the ORM's changes, then the queued writes (with the locked dossiers'
    changes: :func:`locked_dossier_writes`) and the chained audit events."""
    writes = locked_dossier_writes(session, unit)
    session.flush()
    writes += unit.take_writes()
    events = unit.take_audit()
    if events:
        writes += audit.chain(session, events)
    send(session, writes)
