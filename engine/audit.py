"""The hash-chained audit log (nhật ký): every action appends an event whose hash covers
the previous event's hash, so any edit or deletion in the middle breaks the chain.

Events are queued on the session during a step and written just before it commits: the
single ``audit_head`` row is locked once, at the end, which orders concurrent transactions
by commit while holding that lock only for the last moment of each. A step that rolls back
leaves no event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from . import clock
from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, action: str, dossier_id, detail) -> str:
    body = json.dumps([prev_hash, at.isoformat(), actor, action, dossier_id, detail],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


_PENDING = "motcua_audit_pending"


def append(session: Session, *, actor: str, action: str, dossier_id: int | None = None,
           detail: dict | None = None) -> None:
    """Record one event as part of the caller's transaction (written at its commit)."""
    now = clock.now()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what every database keeps
    detail = json.loads(json.dumps(detail or {}, default=str))
    session.info.setdefault(_PENDING, []).append((at, actor, action, dossier_id, detail))


def ensure_head(session: Session) -> AuditHead:
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, last_hash=GENESIS, last_id=0)
        session.add(head)
        session.flush()
    return head


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    head = ensure_head(session)
    prev = head.last_hash
    events = []
    for at, actor, action, dossier_id, detail in pending:
        digest = _digest(prev, at, actor, action, dossier_id, detail)
        events.append(AuditEvent(at=at, actor=actor, action=action, dossier_id=dossier_id,
                                 detail=detail, prev_hash=prev, hash=digest))
        prev = digest
    session.add_all(events)
    session.flush()
    head.last_hash, head.last_id = prev, events[-1].id


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


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
