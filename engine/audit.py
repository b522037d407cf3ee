"""The hash-chained audit log (nhật ký): every action appends an event whose hash covers
the previous event's hash, so any edit or deletion in the middle breaks the chain.

Appends lock the single ``audit_head`` row, which orders concurrent transactions; the
lock is held only from the append to the commit at the end of the step.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, action: str, dossier_id, detail) -> str:
    body = json.dumps([prev_hash, at.isoformat(), actor, action, dossier_id, detail],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(session: Session, *, actor: str, action: str, dossier_id: int | None = None,
           detail: dict | None = None) -> AuditEvent:
    """Add one event to the chain inside the caller's transaction."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, last_hash=GENESIS, last_id=0)
        session.add(head)
        session.flush()
    detail = json.loads(json.dumps(detail or {}, default=str))
    now = clock.now()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what every database keeps
    event = AuditEvent(at=at, actor=actor, action=action, dossier_id=dossier_id, detail=detail,
                       prev_hash=head.last_hash,
                       hash=_digest(head.last_hash, at, actor, action, dossier_id, detail))
    session.add(event)
    session.flush()
    head.last_hash = event.hash
    head.last_id = event.id
    return event


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
