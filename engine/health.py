"""Is the system able to work, and how much is waiting: the checks behind ``/readyz`` and
the numbers behind ``/metrics``.

Workers write a heartbeat (:func:`beat`) after each round; readiness wants the database
to answer, its schema at the newest migration and a heartbeat fresher than
``worker_stale_seconds`` (0: no worker expected). Queue depths and failures are counted
in the database, so every web process reports the same ones whichever worker did the work.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import clock, migrate
from .models import Job, Message, Outbox, Timer, WorkerHeartbeat

#: Steps (one action applied to a dossier's workflow, its rows written) run in this process,
#: counted before their transaction commits.
STEPS = Counter("motcua_steps", "Workflow steps completed by this process")

#: A worker writes its heartbeat at most this often.
BEAT_EVERY = 10.0
_last_beat: dict[int, float] = {}
_beat_lock = threading.Lock()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(p, name: str | None = None, *, force: bool = False) -> None:
    """Record that this worker finished a round (at most every :data:`BEAT_EVERY` s)."""
    now = time.monotonic()
    with _beat_lock:
        if not force and now - _last_beat.get(id(p.db), -BEAT_EVERY) < BEAT_EVERY:
            return
        _last_beat[id(p.db)] = now
    at = clock.now()
    with p.db.transaction() as session:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(WorkerHeartbeat).values(name=name or worker_name(), beat_at=at)
                        .on_conflict_do_update(index_elements=["name"], set_={"beat_at": at}))


def readiness(p) -> dict:
    """``{"ready": bool, "checks": {name: {"ok": bool, "detail": str}}}``: the database,
    the migrations and the workers' heartbeat."""
    checks: dict[str, dict] = {}
    try:
        with p.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        checks["database"] = {"ok": False, "detail": type(exc).__name__}
        return {"ready": False, "checks": checks}
    checks["database"] = {"ok": True, "detail": p.db.engine.dialect.name}
    current, head = migrate.revisions(p.db)
    checks["migrations"] = {"ok": current == head,
                            "detail": f"database at {current or 'none'}, code at {head}"}
    stale = p.settings.worker_stale_seconds
    if stale > 0:
        with p.db.read() as session:
            last = session.execute(select(func.max(WorkerHeartbeat.beat_at))).scalar()
        fresh = last is not None and clock.now() - last <= timedelta(seconds=stale)
        checks["worker"] = {"ok": fresh, "detail": f"last heartbeat {last.isoformat()}"
                            if last else "no worker has reported"}
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}


def queue_depths(p) -> dict[tuple[str, str], int]:
    """``{(queue, status): rows}`` of the background queues: timers, messages, jobs and
    e-mails, by status (``waiting``/``pending`` is work to do; ``error``/``failed`` is work
    that failed and waits for a person)."""
    depths: dict[tuple[str, str], int] = {}
    with p.db.read() as session:
        for queue, model in (("timer", Timer), ("message", Message), ("job", Job),
                             ("outbox", Outbox)):
            rows = session.execute(select(model.status, func.count())
                                   .where(model.status.in_(OPEN_STATUSES))
                                   .group_by(model.status)).all()
            for status, count in rows:
                depths[(queue, status)] = count
    return depths


#: Rows still to do (``waiting``, ``pending``) or failed and waiting for a person.
OPEN_STATUSES = ("waiting", "pending", "error", "failed")
#: Statuses that mean "failed, a person must look" in each queue.
FAILED_STATUSES = frozenset({"error", "failed"})
