"""Jobs: slow work a step asks for, done after the step has committed.

A step must not hold its dossier's lock while something slow runs (rendering and sealing a
slip costs ~0.4 s). So the step only writes a ``job`` row (:func:`enqueue`, in the step's
own transaction: no job without its step, no step without its job) and the work runs after
commit: right away in the same process (an after-commit callback of the transaction's unit
of work, :mod:`engine.unit`; setting ``run_jobs_after_commit``), and otherwise by the
worker (:func:`run_due`, each tick), which takes whatever a process did not finish: a
process killed between the commit and the rendering loses nothing.

A handler (one per ``kind``) works in two parts:

1. the **slow part**, holding no lock and no write transaction: read what it needs in a
   read transaction, render, sign. It returns a *finisher*;
2. the **finisher** runs in one short write transaction that first locks the dossier and
   the job row and checks that the job is still pending; it stores what was produced (the
   document, its audit event, the e-mail in the outbox) and the job is marked ``done`` in
   that same transaction.

So a job is produced **exactly once**, even when two runners race (the in-process run and
a worker whose lease ran out, or two workers): both may render, one commits, the other
finds the job done and drops its result.

**Claiming.** A worker claims one due pending job at a time (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite serialises writers) by moving its ``next_attempt_at`` a lease ahead
(``job_lease_seconds``), so other workers leave it alone while it runs. A runner killed
mid-job leaves the job pending, due again when the lease runs out. A job written while
in-process running is on starts with that lease: the writing process runs it first.

**Failure.** ``attempts`` + 1, ``last_error`` kept, the next try after an exponential
back-off; after :data:`MAX_ATTEMPTS` the job is ``failed``, and stays visible: the dossier
page lists it to the agency's staff (:func:`engine.dossier_view.dossier_view`, ``preparing``),
the administrators get an e-mail and the operations console offers retry, skip and cancel
(:mod:`engine.incidents`). Jobs of a suspended dossier wait.

**Handlers** by kind, added with :func:`register` at set-up (:mod:`engine.platform`
registers the engine's own; a plug-in or a test adds others), never as a side effect of
importing a module.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, select, text
from sqlalchemy.orm import Session

from . import clock, outbox
from .models import Dossier, Job
from .step.load import lock_dossier
from .unit import unit_of

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_SECONDS = 15   # after the first failure; doubled after each next one
MAX_BACKOFF_SECONDS = 3600


@dataclass(frozen=True)
class Work:
    """A job as its handler gets it: read once, attached to no session."""

    id: int
    key: str
    kind: str
    dossier_id: int | None
    payload: dict
    attempts: int


#: The finisher a handler's slow part returns: it writes the result in the given session.
Finisher = Callable[[Session], None]
#: ``handler(p, work)``: the slow part of a kind of job.
Handler = Callable[[Any, Work], Finisher]

HANDLERS: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    """Run jobs of ``kind`` with ``handler`` (at set-up; replaces a built-in one)."""
    HANDLERS[kind] = handler


def handler_for(kind: str) -> Handler:
    handler = HANDLERS.get(kind)
    if handler is None:
        raise LookupError(f"no handler for jobs of kind {kind!r}")
    return handler


def enqueue(p, session: Session, *, kind: str, key: str, dossier_id: int | None,
            payload: dict) -> str:
    """Write a job in the caller's transaction, once per ``key`` (asking again, now or
    later, changes nothing), and run it in this process once that transaction commits
    (unless ``run_jobs_after_commit`` is off: then the worker does). ``payload`` must be
    JSON (other values are written as text). Returns the key."""
    now = clock.now()
    in_process = p.settings.run_jobs_after_commit
    lease = timedelta(seconds=p.settings.job_lease_seconds if in_process else 0)
    values = {"key": key, "kind": kind, "dossier_id": dossier_id,
              "payload": json.loads(json.dumps(payload, default=str)), "status": "pending",
              "attempts": 0, "last_error": "", "created_at": now,
              "next_attempt_at": now + lease}
    job_id = session.execute(_ENQUEUE_ONCE, values).scalar()
    if job_id is not None and in_process:
        if p.settings.jobs_in_background:
            unit_of(session).after_commit.append(lambda: _background().submit(run, p, job_id))
        else:
            unit_of(session).after_commit.append(lambda: run(p, job_id))
    return key


_COLUMNS = ("key", "kind", "dossier_id", "payload", "status", "attempts", "last_error",
            "created_at", "next_attempt_at")
# In the syntax PostgreSQL and SQLite share, written once: SQLAlchemy never caches the
# compiled form of its dialects' ``ON CONFLICT`` inserts, and compiled one per job.
_NAMES = ", ".join(f'"{name}"' for name in _COLUMNS)  # quoted: "key" is a keyword
_ENQUEUE_ONCE = text(
    f"INSERT INTO {Job.__tablename__} ({_NAMES}) "
    f"VALUES ({', '.join(':' + name for name in _COLUMNS)}) "
    'ON CONFLICT ("key") DO NOTHING RETURNING id'
).bindparams(*(bindparam(name, type_=Job.__table__.c[name].type) for name in _COLUMNS)
             ).columns(id=Integer)

_runner: list[ThreadPoolExecutor] = []
_runner_lock = threading.Lock()


def _background() -> ThreadPoolExecutor:
    """This process's job thread (made on first use, so a forked server process makes its
    own). One thread: jobs are slow, CPU-bound work that must not starve the requests."""
    with _runner_lock:
        if not _runner:
            _runner.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="motcua-jobs"))
        return _runner[0]


def run_due(p, *, limit: int = 20) -> int:
    """Claim and run up to ``limit`` due jobs, one at a time (the worker's tick). Returns
    how many this call produced."""
    produced = 0
    for _ in range(limit):
        job_id = _claim(p)
        if job_id is None:
            break
        produced += run(p, job_id)
    return produced


def _claim(p) -> int | None:
    """The id of one due pending job, leased to this runner; None when there is none."""
    now = clock.now()
    with p.db.transaction() as session:
        suspended = select(Dossier.id).where(Dossier.suspended_at.is_not(None))
        query = (select(Job).where(Job.status == "pending", Job.next_attempt_at <= now,
                                   Job.dossier_id.is_(None) | Job.dossier_id.not_in(suspended))
                 .order_by(Job.next_attempt_at, Job.id).limit(1))
        if p.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        job = session.execute(query).scalar()
        if job is None:
            return None
        job.next_attempt_at = now + timedelta(seconds=p.settings.job_lease_seconds)
        return job.id


def run(p, job_id: int) -> bool:
    """Run job ``job_id`` now if it is pending: the slow part, then the finisher in a short
    write transaction that re-checks it is still pending. True if this call produced it; a
    failure is recorded (:func:`_failed`), never raised."""
    with p.db.read() as session:
        job = session.get(Job, job_id)
        if job is None or job.status != "pending":
            return False
        work = Work(job.id, job.key, job.kind, job.dossier_id, dict(job.payload or {}),
                    job.attempts)
    try:
        if p.settings.job_test_pause_seconds:
            time.sleep(p.settings.job_test_pause_seconds)
        finish = handler_for(work.kind)(p, work)
        with p.db.transaction() as session:
            job = _lock_pending(session, work)
            if job is None:  # produced by another runner meanwhile: drop this result
                log.info("job %s was already done; this result is dropped", work.key)
                return False
            finish(session)
            job.status, job.finished_at = "done", clock.now()
        return True
    except Exception as exc:  # any failure of the work: retried later, then shown as failed
        log.warning("job %s failed: %s", work.key, exc, exc_info=True)
        _failed(p, work, f"{type(exc).__name__}: {exc}")
        return False


def _lock_pending(session: Session, work: Work) -> Job | None:
    """Lock the job's dossier (documents of a dossier are written under its lock), then the
    job row; the job if it is still pending."""
    if work.dossier_id is not None:
        lock_dossier(session, work.dossier_id)
    job = session.execute(select(Job).where(Job.id == work.id).with_for_update()
                          .execution_options(populate_existing=True)).scalar()
    return job if job is not None and job.status == "pending" else None


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failures."""
    return timedelta(seconds=min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0),
                                 MAX_BACKOFF_SECONDS))


def _failed(p, work: Work, error: str) -> None:
    with p.db.transaction() as session:
        job = session.execute(select(Job).where(Job.id == work.id)
                              .with_for_update()).scalar()
        if job is None or job.status != "pending":
            return
        job.attempts += 1
        job.last_error = error[:2000]
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = "failed", clock.now()
            log.error("job %s failed %d times and is given up: %s", work.key, job.attempts,
                      error)
            outbox.alert_admins(p, session, kind="job", row_id=job.id,
                                   dossier_id=job.dossier_id, element=job.kind, error=error)
        else:
            job.next_attempt_at = clock.now() + backoff(job.attempts)


__all__ = ["MAX_ATTEMPTS", "Work", "enqueue", "register", "run", "run_due", "backoff"]
