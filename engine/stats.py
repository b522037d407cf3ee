"""Indicators for leaders: the dossier counts behind the Decision 766 scorecard.

"On time" follows Decision 766: dossiers finished, or still in progress, within their
appointment date, over the dossiers received or processed in the period. A dossier
counts as online when submitted online and given an electronic (signed) result.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from . import clock
from .models import Agency, AuditEvent, Document, Dossier, Procedure
from .operators import FINAL_STATUSES


def _bounds(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    today = clock.local_now().date()
    end = end or today
    start = start or end.replace(day=1)
    lo = datetime.combine(start, time.min, clock.VIETNAM)
    hi = datetime.combine(end + timedelta(days=1), time.min, clock.VIETNAM)
    return lo, hi


def indicators(p, *, start: date | None = None, end: date | None = None,
               agency_code: str | None = None, procedure_code: str | None = None) -> dict:
    lo, hi = _bounds(start, end)
    now = clock.now()
    with p.db.transaction() as session:
        query = select(Dossier).where(Dossier.received_at >= lo, Dossier.received_at < hi)
        if agency_code:
            query = query.join(Agency, Agency.id == Dossier.agency_id).where(Agency.code == agency_code)
        if procedure_code:
            query = query.join(Procedure, Procedure.id == Dossier.procedure_id).where(
                Procedure.code == procedure_code)
        dossiers = session.execute(query).scalars().all()
        ids = [d.id for d in dossiers]
        signed = set(session.execute(select(Document.dossier_id).where(
            Document.dossier_id.in_(ids), Document.kind == "generated",
            Document.signatures > 0)).scalars()) if ids else set()
        supplements = dict(session.execute(
            select(AuditEvent.dossier_id, func.count()).where(
                AuditEvent.dossier_id.in_(ids), AuditEvent.action == "status",
                AuditEvent.detail["to"].as_string() == "supplement_requested")
            .group_by(AuditEvent.dossier_id)).all()) if ids else {}
    total = len(dossiers)
    finished = [d for d in dossiers if d.status in FINAL_STATUSES]
    on_time = sum(1 for d in dossiers if d.due_at is None
                  or ((d.finished_at or now) <= d.due_at and supplements.get(d.id, 0) <= 1))
    online = sum(1 for d in dossiers if d.channel == "online")
    online_with_result = sum(1 for d in dossiers if d.channel == "online" and d.id in signed)

    def share(n: int) -> float | None:
        return round(n / total, 4) if total else None

    return {"period": {"start": lo.date().isoformat(), "end": (hi - timedelta(days=1)).date().isoformat()},
            "agency": agency_code, "procedure": procedure_code,
            "received": total, "online": online, "finished": len(finished),
            "in_progress": total - len(finished), "on_time": on_time, "late": total - on_time,
            "electronic_results": len(signed), "online_with_electronic_result": online_with_result,
            "share_online": share(online_with_result), "share_on_time": share(on_time),
            "by_status": {s: sum(1 for d in dossiers if d.status == s)
                          for s in sorted({d.status for d in dossiers})}}
