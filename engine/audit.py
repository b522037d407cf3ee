"""The hash-chained audit log (nhật ký): every action appends an event whose hash covers
the previous event's hash, so any edit or deletion in the middle breaks the chain.

Events are collected by the transaction's unit of work (:mod:`engine.unit`) and written
just before it commits: the single ``audit_head`` row is locked once, at the end, which
orders concurrent transactions by commit while holding that lock only for the last moment
of each; then one insert of every event and one update of the head, sent with the step's other
writes (on PostgreSQL all of them are one statement). A transaction that rolls back
leaves no event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from . import clock
from .models import AuditEvent, AuditHead
from .step import sql
from .step.sql import Template, Write, insert_template, insert_values, param
from .unit import unit_of

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, action: str, dossier_id: int | None,
            detail: dict | None) -> str:
    body = json.dumps([prev_hash, at.isoformat(), actor, action, dossier_id, detail],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(session: Session, *, actor: str, action: str, dossier_id: int | None = None,
           detail: dict | None = None) -> None:
    """Record one event as part of the caller's transaction: its unit of work writes it
    just before commit (:mod:`engine.unit`); a transaction that rolls back leaves none."""
    now = clock.now()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what every database keeps
    detail = json.loads(json.dumps(detail or {}, default=str))
    unit_of(session).audit.append((at, actor, action, dossier_id, detail))


def ensure_head(session: Session) -> None:
    """Create the chain's head row if it is missing (at set-up, before any concurrent
    append could race to create it)."""
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, last_hash=GENESIS, last_id=0))
        session.flush()


_HEAD = select(AuditHead.last_hash).where(AuditHead.id == 1).with_for_update()


def _locked_head(session: Session) -> str:
    """The chain's last hash, its row locked until commit (created on the first event)."""
    found = sql.run(session, _HEAD, {})  # no ORM step, no autoflush
    last = found[0][0] if found else None
    if last is None:
        session.execute(insert(AuditHead).values(id=1, last_hash=GENESIS, last_id=0))
        last = GENESIS
    return last


def chain(session: Session, pending: list[tuple]) -> list:
    """The writes of ``pending`` events: the chain's head is locked now (the last moment of
    the transaction), then every event is inserted, chained on it, and the head moved —
    as one statement on PostgreSQL (the insert a CTE of the head's update), for
    :func:`engine.step.sql.send` to send with the step's other writes."""
    prev = _locked_head(session)
    rows = []
    for at, actor, action, dossier_id, detail in pending:
        digest = _digest(prev, at, actor, action, dossier_id, detail)
        rows.append({"at": at, "actor": actor, "action": action, "dossier_id": dossier_id,
                     "detail": detail, "prev_hash": prev, "hash": digest})
        prev = digest
    values = insert_values(_COLUMNS, rows)
    if session.get_bind().dialect.name == "postgresql":
        return [Write(_chained(len(rows)), {**values, "last_hash": prev})]
    return [Write(insert_template(_EVENTS, _COLUMNS, len(rows)), values),
            Write(_MOVE_HEAD, {"last_hash": prev})]


_EVENTS, _HEADS = AuditEvent.__table__, AuditHead.__table__
_COLUMNS = ("action", "actor", "at", "detail", "dossier_id", "hash", "prev_hash")
_MOVE_HEAD = Template(
    lambda tag: update(_HEADS).where(_HEADS.c.id == 1)
    .values(last_hash=param("last_hash", _HEADS.c.last_hash, tag),
            last_id=select(func.max(_EVENTS.c.id)).scalar_subquery()))
_CHAINED: dict[int, Template] = {}


def _chained(n: int) -> Template:
    """PostgreSQL's one statement for ``n`` events: their insert, a CTE of the head's update
    (built once per number of events)."""
    found = _CHAINED.get(n)
    if found is None or n > 32:
        events = insert_template(_EVENTS, _COLUMNS, n)

        def build(tag: str):
            inserted = events.build(tag).returning(_EVENTS.c.id).cte("audit_inserted")
            return (update(_HEADS).where(_HEADS.c.id == 1)
                    .values(last_hash=param("last_hash", _HEADS.c.last_hash, tag),
                            last_id=select(func.max(inserted.c.id)).scalar_subquery())
                    .add_cte(inserted))
        found = Template(build)
        if n <= 32:  # the usual sizes; a bulk action's statement is not kept
            found = _CHAINED.setdefault(n, found)
    return found


def verify_chain(p) -> dict:
    """Recompute every hash in order. ``{ok, events, first_bad_id}``."""
    prev = GENESIS
    count = 0
    with p.db.transaction() as session:
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
        for event in rows:
            expected = _digest(prev, event.at, event.actor, event.action, event.dossier_id,
                               event.detail)
            if event.prev_hash != prev or event.hash != expected:
                return {"ok": False, "events": count, "first_bad_id": event.id}
            prev = event.hash
            count += 1
        head = session.get(AuditHead, 1)
        if head is not None and head.last_hash != prev:
            return {"ok": False, "events": count, "first_bad_id": head.last_id}
    return {"ok": True, "events": count, "first_bad_id": None}
