"""engine.step.store: the rows a step writes are the difference between what the workflow
needed before and after it, queued and sent with the commit. Rows here are written for a
real dossier from hand-made ``Wanted`` sets, so each rule is seen on its own."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import clock
from engine.models import Dossier, HumanTask, Timer, WaitingMessage
from engine.step import rows as step_rows
from engine.step import store
from engine.step.rows import TimerRow, WaitRow, Wanted
from tests.engine.factories import TaskRows, submit


def guid() -> str:
    return str(uuid.uuid4())


def dossier_of(p):
    code = submit(p)
    with p.db.read() as session:
        return session.execute(select(Dossier.id).where(Dossier.code == code)).scalar(), code


def write(p, dossier_id, before, after, *, find_task=lambda g: None, settled=(), new_task=None):
    with p.db.transaction() as session:
        store.write_rows(session, dossier_id=dossier_id, before=before, after=after,
                         find_task=find_task, new_task=new_task or (lambda t: t),
                         settled=settled)


def rows(p, model, dossier_id, *columns):
    with p.db.read() as session:
        return sorted(tuple(r) for r in session.execute(
            select(*(getattr(model, c) for c in columns)).where(model.dossier_id == dossier_id)))


def test_tasks_no_longer_ready_are_cancelled_unless_the_step_settled_them(platform):
    dossier_id, code = dossier_of(platform)
    made = TaskRows(platform)
    ids = [made.add(code, role="handler") for _ in range(3)]
    with platform.db.read() as session:
        guids = dict(session.execute(select(HumanTask.id, HumanTask.task_guid)
                                     .where(HumanTask.id.in_(ids))).all())
    a, b, c = (guids[i] for i in ids)
    before = Wanted(tasks={a: None, b: None, c: None})
    write(platform, dossier_id, before, Wanted(tasks={c: None}), settled={a})
    with platform.db.read() as session:
        status = dict(session.execute(select(HumanTask.task_guid, HumanTask.status)
                                      .where(HumanTask.id.in_(ids))).all())
    assert status == {a: "open", b: "cancelled", c: "open"}


def test_new_timers_are_written_moved_ones_updated(platform):
    dossier_id, _ = dossier_of(platform)
    already = {r[0] for r in rows(platform, Timer, dossier_id, "task_guid")}
    t1, t2 = guid(), guid()
    due = clock.now().replace(microsecond=0) + timedelta(days=2)
    write(platform, dossier_id, Wanted(), Wanted(timers={t1: TimerRow("remind", due),
                                                         t2: TimerRow("late", due)}))
    later = due + timedelta(days=3)
    write(platform, dossier_id, Wanted(timers={t1: TimerRow("remind", due),
                                               t2: TimerRow("late", due)}),
          Wanted(timers={t1: TimerRow("remind", due), t2: TimerRow("late", later)}))
    mine = [r for r in rows(platform, Timer, dossier_id, "task_guid", "spec_name", "due_at",
                            "status") if r[0] not in already]
    assert sorted((name, when, status) for _, name, when, status in mine) == [
        ("late", later, "waiting"), ("remind", due, "waiting")]


def test_timers_that_stop_waiting_are_fired_or_cancelled_by_what_the_workflow_did(
        platform, monkeypatch):
    dossier_id, _ = dossier_of(platform)
    fired, cancelled = guid(), guid()
    due = clock.now().replace(microsecond=0) + timedelta(hours=1)
    waiting = Wanted(timers={fired: TimerRow("late", due), cancelled: TimerRow("remind", due)})
    write(platform, dossier_id, Wanted(), waiting)
    # the timer's task completed by its own event (rows.timer_taken has its own tests)
    taken = SimpleNamespace(has_state=lambda state: state == TaskState.COMPLETED)
    monkeypatch.setattr(step_rows, "timer_taken", lambda task: task is taken)
    write(platform, dossier_id, waiting, Wanted(),
          find_task=lambda g: taken if g == fired else None)
    status = dict((g, s) for g, s in rows(platform, Timer, dossier_id, "task_guid", "status")
                  if g in (fired, cancelled))
    assert status == {fired: "fired", cancelled: "cancelled"}


def test_message_waits_follow_the_workflow(platform):
    dossier_id, code = dossier_of(platform)
    already = set(rows(platform, WaitingMessage, dossier_id, "task_guid", "name", "correlation"))
    t = guid()
    first = Wanted(waits={(t, "answer"): WaitRow("wait_answer", code),
                          (t, "cancel"): WaitRow("wait_answer", code)})
    write(platform, dossier_id, Wanted(), first)
    second = Wanted(waits={(t, "answer"): WaitRow("wait_answer", "other-key")})
    write(platform, dossier_id, first, second)
    now = set(rows(platform, WaitingMessage, dossier_id, "task_guid", "name", "correlation"))
    assert now - already == {(t, "answer", "other-key")}
    write(platform, dossier_id, second, Wanted())
    assert set(rows(platform, WaitingMessage, dossier_id, "task_guid", "name",
                    "correlation")) == already


def test_nothing_is_written_when_the_step_rolls_back(platform):
    dossier_id, _ = dossier_of(platform)
    before = rows(platform, Timer, dossier_id, "task_guid")
    try:
        with platform.db.transaction() as session:
            store.write_rows(session, dossier_id=dossier_id, before=Wanted(),
                             after=Wanted(timers={guid(): TimerRow("late", clock.now())}),
                             find_task=lambda g: None, new_task=lambda t: t)
            raise KeyError("the step failed")
    except KeyError:
        pass
    assert rows(platform, Timer, dossier_id, "task_guid") == before


def test_a_locked_dossiers_changes_join_the_queued_writes(platform):
    """The columns a step changes on the dossier it locked leave with the other writes
    (one statement on PostgreSQL), not as an ORM update of their own; a dossier the
    transaction did not lock is left to the ORM."""
    from engine.unit import unit_of

    dossier_id, code = dossier_of(platform)
    other_id, _ = dossier_of(platform)
    with platform.db.transaction() as session:
        locked, other = session.get(Dossier, dossier_id), session.get(Dossier, other_id)
        unit_of(session).locked.add(dossier_id)
        before = locked.updated_at
        locked.status, locked.supplement_count = "accepted", 2
        other.status = "accepted"
        writes = store.locked_dossier_writes(session, unit_of(session))
        assert [sorted(w.values) for w in writes] == [
            ["id", "status", "supplement_count", "updated_at"]]
        assert not session.is_modified(locked) and session.is_modified(other)
        assert locked.status == "accepted"  # the object holds what is written
        unit_of(session).writes.extend(writes)
    with platform.db.read() as session:
        found = {d.id: d for d in session.execute(
            select(Dossier).where(Dossier.id.in_([dossier_id, other_id]))).scalars()}
    assert (found[dossier_id].status, found[dossier_id].supplement_count) == ("accepted", 2)
    assert found[dossier_id].updated_at > before
    assert found[other_id].status == "accepted"


def test_a_locked_dossier_set_to_what_it_held_or_given_a_new_relationship_is_no_write(platform):
    """A column set to the value it held is no change; a dossier whose relationship changed
    (here its agency) is written by the ORM, relationship and all."""
    from engine.models import Agency
    from engine.unit import unit_of

    dossier_id, _ = dossier_of(platform)
    with platform.db.transaction() as session:
        dossier = session.get(Dossier, dossier_id)
        unit_of(session).locked.add(dossier_id)
        dossier.status = dossier.status
        assert store.locked_dossier_writes(session, unit_of(session)) == []
        assert not session.is_modified(dossier)
        other = session.execute(select(Agency).where(Agency.id != dossier.agency_id)).scalars().first()
        dossier.agency, dossier.status = other, "accepted"
        assert store.locked_dossier_writes(session, unit_of(session)) == []
        assert session.is_modified(dossier)
    with platform.db.read() as session:
        found = session.get(Dossier, dossier_id)
        assert (found.agency_id, found.status) == (other.id, "accepted")


def test_many_tasks_that_stop_waiting_at_once_are_all_cancelled(platform):
    """A multi-instance task's instances cancelled together: one update of a list, sent with
    the step's other writes."""
    dossier_id, code = dossier_of(platform)
    made = TaskRows(platform)
    ids = [made.add(code, role="handler") for _ in range(store._ROW_BY_ROW + 4)]
    with platform.db.read() as session:
        guids = list(session.execute(select(HumanTask.task_guid)
                                     .where(HumanTask.id.in_(ids))).scalars())
    kept = guids[0]
    write(platform, dossier_id, Wanted(tasks=dict.fromkeys(guids)), Wanted(tasks={kept: None}))
    with platform.db.read() as session:
        status = dict(session.execute(select(HumanTask.task_guid, HumanTask.status)
                                      .where(HumanTask.id.in_(ids))).all())
    assert status == {guid: "open" if guid == kept else "cancelled" for guid in guids}
