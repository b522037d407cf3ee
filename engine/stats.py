"""Indicators for leaders: the dossier counts behind the Decision 766 scorecard.

"On time" follows Decision 766: dossiers finished, or still in progress, within their
appointment date, over the dossiers received or processed in the period. The appointment
has already moved by the working days the clock stood still during supplements, and a
dossier whose clock is stopped now is judged at the moment it stopped. Nationally a
dossier that got more than one supplement request counts as late whatever its dates
(DOMAIN.md §3). Processing time is counted in working days without the paused ones
(:func:`engine.deadlines.processing_working_days`). A dossier counts as online when
submitted online and given an electronic (signed) result.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from . import clock
from .calendar import load_calendar
from .deadlines import processing_working_days
from .models import Agency, Document, Dossier, Procedure
from .statuses import FINAL_STATUSES

#: More supplement requests than this make a dossier late (DOMAIN.md §3).
MAX_SUPPLEMENTS_ON_TIME = 1


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
    with p.db.read() as session:
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
        calendar = load_calendar(session)
    total = len(dossiers)
    finished = [d for d in dossiers if d.status in FINAL_STATUSES]
    on_time = sum(1 for d in dossiers if is_on_time(d, now))
    by_supplements = sum(1 for d in dossiers if too_many_supplements(d))
    # A withdrawn dossier was never decided: its time says nothing of the agency's speed.
    days = [processing_working_days(calendar, d) for d in finished if d.status != "withdrawn"]
    online = sum(1 for d in dossiers if d.channel == "online")
    online_with_result = sum(1 for d in dossiers if d.channel == "online" and d.id in signed)

    def share(n: int) -> float | None:
        return round(n / total, 4) if total else None

    return {"period": {"start": lo.date().isoformat(), "end": (hi - timedelta(days=1)).date().isoformat()},
            "agency": agency_code, "procedure": procedure_code,
            "received": total, "online": online, "finished": len(finished),
            "in_progress": total - len(finished), "on_time": on_time, "late": total - on_time,
            "late_by_supplements": by_supplements,
            "average_processing_working_days": round(sum(days) / len(days), 2) if days else None,
            "electronic_results": len(signed), "online_with_electronic_result": online_with_result,
            "share_online": share(online_with_result), "share_on_time": share(on_time),
            "by_status": {s: sum(1 for d in dossiers if d.status == s)
                          for s in sorted({d.status for d in dossiers})}}


def too_many_supplements(dossier: Dossier) -> bool:
    """Late nationally whatever its dates: more than one supplement request."""
    return (dossier.supplement_count or 0) > MAX_SUPPLEMENTS_ON_TIME


def is_on_time(dossier: Dossier, now) -> bool:
    """Finished, or still in progress, within the appointment date (Decision 766), with at
    most one supplement request. A stopped clock is judged when it stopped."""
    if too_many_supplements(dossier):
        return False
    if dossier.due_at is None:
        return True
    moment = dossier.finished_at or dossier.clock_stopped_at or now
    return moment <= dossier.due_at
