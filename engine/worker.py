"""The background worker: fires due timers, delivers messages, runs jobs, sends queued
e-mails, and at intervals signs the audit chain's head (:mod:`engine.anchors`).

Correctness never depends on there being one worker: due timers are claimed with
``FOR UPDATE … SKIP LOCKED`` on the dossier row (the same lock every user action takes
first, so the lock order is always dossier → rows), and each timer fires in the same
transaction that saves the workflow. APScheduler is only the ticker that calls
:func:`tick`; it never holds a business timer (its job store can't be shared between
processes, and a date job missed during downtime is silently dropped).

Messages are delivered the same way: a pending message joined to a ``waiting_message`` row
with its name and correlation is claimed together with the receiving dossier row
(``SKIP LOCKED``) and delivered in that dossier's step transaction; a crash before the
commit leaves it pending, to be delivered once by the next round. A pending message no one
waits for whose name starts a cooperating process (a message start event) is claimed alone
(``SKIP LOCKED`` on the message row) and starts its dossier in one transaction
(:func:`engine.dossiers.start_dossier`): a worker killed mid-way leaves the message pending
and no dossier, never a dossier without its message delivered.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import and_, exists, select

from . import (
    anchors,
    audit,
    clock,
    cooperation,
    dossiers,
    health,
    incidents,
    jobs,
    messages,
    outbox,
    outside,
    runtime,
)
from .errors import EngineError
from .models import Dossier, Message, Timer, WaitingMessage
from .national import KIND as NATIONAL_KIND
from .vocabulary import FINAL_STATUSES

log = logging.getLogger(__name__)


def fire_due_timers(p, *, limit: int = 100) -> int:
    """Fire up to ``limit`` timers whose due time has passed; one transaction each."""
    return _claim_each(limit, lambda skipped, claimed: _fire_one(p, skipped, claimed),
                       lambda timer_id, error, element: incidents.failed_try(
                           p, "timer", timer_id, error, element), "timer")


def _claim_each(limit: int, one, mark_failed, what: str) -> int:
    """Run ``one(skipped, claimed)`` — claim one row, act on it in one transaction — up to
    ``limit`` times; how many it did. ``one`` appends the id it claimed to ``claimed`` and
    answers None (nothing left), True (done) or False (a stale row: leave it for now). A
    failing row is set aside for this round and its failed try recorded
    (``mark_failed(id, error, element)``, :func:`engine.incidents.failed_try`: due again
    after a back-off, failed finally after a few tries): a business error logged in a line,
    a bug with its traceback. Outside calls in a row's
    step are made with nothing locked (:func:`engine.outside.attempts`)."""
    done = 0
    skipped: set[int] = set()
    for _ in range(limit):
        claimed: list[int] = []
        try:
            outcome = outside.attempts(lambda claimed=claimed: one(skipped, claimed))
        except EngineError as exc:
            row_id = claimed[-1] if claimed else None
            log.error("%s %s failed: %s", what, row_id, exc)
            if row_id is not None:
                skipped.add(row_id)
                mark_failed(row_id, str(exc), incidents.element_of(exc))
            continue
        except Exception as exc:  # a bug: logged in full; the row is set aside, then retried
            row_id = claimed[-1] if claimed else None
            log.exception("%s %s failed with an unexpected error", what, row_id)
            if row_id is None:
                raise
            skipped.add(row_id)
            mark_failed(row_id, f"unexpected error: {type(exc).__name__}: {exc}",
                        incidents.element_of(exc))
            continue
        if outcome is None:
            break
        if outcome:
            done += 1
        else:
            skipped.add(claimed[-1])
    return done


def _fire_one(p, skipped: set[int], claimed: list[int]) -> bool | None:
    """Claim one due timer (``SKIP LOCKED`` on its dossier) and fire it, in one transaction;
    None when no timer is due. The claimed timer's id is appended to ``claimed``."""
    with p.db.transaction() as session:
        query = (select(Timer.id, Timer.dossier_id)
                 .join(Dossier, Dossier.id == Timer.dossier_id)
                 .where(Timer.status == "waiting", Timer.due_at <= clock.now(),
                        _due(Timer), Dossier.suspended_at.is_(None))
                 .order_by(Timer.due_at, Timer.id).limit(1))
        if skipped:
            query = query.where(Timer.id.not_in(skipped))
        if p.db.is_postgres:
            query = query.with_for_update(skip_locked=True, of=Dossier)
        row = session.execute(query).first()
        if row is None:
            return None
        timer_id, dossier_id = row
        claimed.append(timer_id)
        timer = session.get(Timer, timer_id)

        def act(step):
            done = runtime.fire_timer(step, timer)
            timer.status = "fired" if done else "cancelled"
            timer.fired_at = clock.now()

        runtime.run_step(p, dossier_id, act, actor="system", session=session)
        return True


def _due(model):
    """A timer or message not waiting out the back-off of a failed try."""
    return model.next_attempt_at.is_(None) | (model.next_attempt_at <= clock.now())


def deliver_messages(p, *, limit: int = 100) -> int:
    """Deliver up to ``limit`` pending messages to the dossiers waiting for them; one
    transaction each. A message whose receiver is not waiting yet stays pending."""
    return _claim_each(limit, lambda skipped, claimed: _deliver_one(p, skipped, claimed),
                       lambda message_id, error, element: incidents.failed_try(
                           p, "message", message_id, error, element), "message")


def _deliver_one(p, skipped: set[int], claimed: list[int]) -> bool | None:
    """Claim one pending message together with the dossier waiting for it (``SKIP LOCKED``)
    and deliver it in that dossier's step; else start a dossier with one that a cooperating
    process starts on. True when delivered or started, False when the waiting row was stale,
    None when there is nothing to do. The claimed message's id is appended to ``claimed``."""
    with p.db.transaction() as session:
        query = (select(Message.id, WaitingMessage.dossier_id, WaitingMessage.task_guid)
                 .join(WaitingMessage, and_(WaitingMessage.name == Message.name,
                                            WaitingMessage.correlation == Message.correlation))
                 .join(Dossier, Dossier.id == WaitingMessage.dossier_id)
                 .where(Message.status == "pending", _due(Message),
                        Dossier.suspended_at.is_(None))
                 .order_by(Message.id, WaitingMessage.id).limit(1))
        if skipped:
            query = query.where(Message.id.not_in(skipped))
        if p.db.is_postgres:
            query = query.with_for_update(skip_locked=True, of=(Message, Dossier))
        row = session.execute(query).first()
        if row is None:
            return _start_one(p, session, skipped, claimed)
        message_id, dossier_id, task_guid = row
        claimed.append(message_id)
        message = session.get(Message, message_id)

        def act(step):
            return messages.deliver(step, message, task_guid)

        return bool(runtime.run_step(p, dossier_id, act, actor="system", session=session))


def _start_one(p, session, skipped: set[int], claimed: list[int]) -> bool | None:
    """Claim one pending message that no waiting row accepts and whose name starts a
    cooperating process (its id appended to ``claimed``) and start that dossier in this
    transaction; None when there is none."""
    names = set(session.execute(select(Message.name).where(Message.status == "pending")
                                .distinct()).scalars())
    if not names:
        return None
    receivers = cooperation.start_receivers(session)
    names &= set(receivers)
    if not names:
        return None
    waiting = exists().where(WaitingMessage.name == Message.name,
                             WaitingMessage.correlation == Message.correlation)
    query = (select(Message.id).where(Message.status == "pending", Message.name.in_(names),
                                      ~waiting, _due(Message))
             .order_by(Message.id).limit(1))
    if skipped:
        query = query.where(Message.id.not_in(skipped))
    if p.db.is_postgres:
        query = query.with_for_update(skip_locked=True, of=Message)
    message_id = session.execute(query).scalar()
    if message_id is None:
        return None
    claimed.append(message_id)
    message = session.get(Message, message_id, populate_existing=True)
    dossiers.start_dossier(p, session, message, receivers[message.name])
    return True


def expire_messages(p, *, limit: int = 500) -> int:
    """Close pending messages that can no longer be delivered, so they neither pile up nor
    cost every tick: those addressed (by correlation) to a dossier that has ended, and those
    older than ``settings.message_ttl_days`` (nobody came to wait for them). Each becomes
    ``expired`` with the reason in ``last_error``; one addressed to a dossier is audited on
    it. Returns how many expired."""
    now = clock.now()
    cutoff = now - timedelta(days=p.settings.message_ttl_days)
    expired = 0
    with p.db.transaction() as session:
        ended = (select(Message, Dossier).join(Dossier, Dossier.code == Message.correlation)
                 .where(Message.status == "pending", Dossier.status.in_(FINAL_STATUSES))
                 .order_by(Message.id).limit(limit))
        old = (select(Message).where(Message.status == "pending", Message.created_at < cutoff)
               .order_by(Message.id).limit(limit))
        if p.db.is_postgres:
            ended = ended.with_for_update(skip_locked=True, of=Message)
            old = old.with_for_update(skip_locked=True, of=Message)
        for message, dossier in session.execute(ended).all():
            message.status = "expired"
            message.last_error = f"dossier {dossier.code} has ended ({dossier.status})"
            audit.append(session, actor="system", action="message_expired",
                         dossier_id=dossier.id,
                         detail={"message": message.name, "message_id": message.id,
                                 "reason": "dossier ended"})
            expired += 1
        for message in session.execute(old).scalars():
            if message.status != "pending":
                continue
            message.status = "expired"
            message.last_error = (f"nobody waited for it within {p.settings.message_ttl_days} "
                                  "days")
            expired += 1
    if expired:
        log.info("%d undeliverable message(s) expired", expired)
    return expired


def tick(p) -> dict:
    """One round of background work."""
    return {"timers": fire_due_timers(p), "messages": deliver_messages(p),
            "jobs": jobs.run_due(p),  # slips and other work left after a commit (engine.jobs)
            "emails": outbox.send_due(p, kinds=outbox.NOTICE_KINDS),
            "national": outbox.send_due(p, kinds=(NATIONAL_KIND,)),  # the national portal
            "expired": expire_messages(p)}


def _safe_tick(p) -> None:
    try:
        tick(p)
        health.beat(p)  # readiness: a worker that finishes rounds is alive
    except Exception:  # the ticker must survive a bad round; the next one retries
        log.exception("worker tick failed")


def _safe_anchor(p) -> None:
    try:
        anchors.anchor(p)
    except Exception:  # the next interval retries; audit-verify still checks the chain
        log.exception("anchoring the audit chain failed")


def _scheduler(cls, p, interval: float):
    scheduler = cls(job_defaults={"coalesce": True, "max_instances": 1,
                                  "misfire_grace_time": None})
    scheduler.add_job(_safe_tick, "interval", args=[p], seconds=interval, id="tick",
                      next_run_time=clock.now())
    if p.settings.audit_anchor_interval_seconds > 0:  # the chain's signed head (anchors)
        scheduler.add_job(_safe_anchor, "interval", args=[p], id="audit-anchor",
                          seconds=p.settings.audit_anchor_interval_seconds)
    return scheduler


def run(p, *, interval: float = 1.0, stop: threading.Event | None = None) -> None:
    """Tick every ``interval`` seconds until interrupted (``motcua worker``)."""
    if stop is None:
        scheduler = _scheduler(BlockingScheduler, p, interval)
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        return
    handle = start_in_background(p, interval=interval)
    stop.wait()
    handle.stop()


class BackgroundWorker:
    def __init__(self, scheduler):
        self.scheduler = scheduler

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)


def start_in_background(p, *, interval: float = 1.0) -> BackgroundWorker:
    """The worker in a thread of this process (``motcua demo``)."""
    scheduler = _scheduler(BackgroundScheduler, p, interval)
    scheduler.start()
    return BackgroundWorker(scheduler)
