"""Appointment dates (ngày hẹn trả kết quả) and the clock that stops while the applicant
supplements a dossier (DOMAIN.md §3 "Deadlines").

**The first appointment** comes from ``procedure.yaml``'s ``deadline: {value, unit,
online?}``: ``online`` is the shorter period of a dossier filed online (3 working days,
2 online, for the budget-relationship unit code, DOMAIN.md §5a). Units and the receipt
rule (after 17:00 or on a day off counts from the next working day) are
:class:`engine.calendar.WorkingCalendar`'s.

**The stopped clock.** Processing time = end − start − (supplement completed − supplement
requested). The engine knows nothing of a procedure's steps, so the clock follows the
dossier's *status*: entering ``supplement_requested`` stops it (a :class:`ClockStop` row),
leaving that status for any other resumes it. Whole working days are what the law counts,
so the pause is measured in them:

    paused = the working days after the day the request counts on, up to and including the
             day the supplement counts on

where "counts on" is the calendar's receipt rule (:meth:`WorkingCalendar.receipt_day`).
The day of the request is the agency's (it worked on the dossier and asked); the day the
supplement arrives is the applicant's, exactly as the receipt day of a new dossier is not
counted. Requested Tuesday, supplemented Friday: Wednesday, Thursday, Friday are paused
(3). Requested and supplemented the same day, or requested Friday evening and supplemented
Monday morning: nothing is paused. The appointment then moves forward by exactly that many
working days, keeping its time of day, so the agency still has the procedure's number of
working days of its own. The appointment before any apology (``original_due_at``, what
statistics judge on time against) moves by the same days.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock
from .calendar import WorkingCalendar
from .models import ClockStop, Dossier
from .vocabulary import PAUSED_STATUS, Channel

ONLINE = Channel.ONLINE


def deadline_for(meta: Mapping, channel: str) -> tuple[int, str]:
    """``(value, unit)`` of the procedure's deadline for a dossier filed by ``channel``."""
    deadline = meta.get("deadline") or {}
    value = deadline.get("value", 0)
    if channel == ONLINE and deadline.get("online") is not None:
        value = deadline["online"]
    return int(value), deadline.get("unit") or "working_days"


def initial_due_at(calendar: WorkingCalendar, meta: Mapping, received_at: datetime,
                   channel: str) -> datetime:
    """The appointment date of a dossier received at ``received_at`` through ``channel``
    (``online``, ``counter``, ``post``), from the procedure metadata ``meta``."""
    value, unit = deadline_for(meta, channel)
    return calendar.add(received_at, value, unit)


def working_days_elapsed(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Working days after the day ``start`` counts on, up to and including the day ``end``
    counts on (both by the calendar's receipt rule); 0 when ``end`` counts on the same day
    or earlier. The measure of a pause and of a dossier's processing time."""
    first, last = calendar.receipt_day(start), calendar.receipt_day(end)
    count, day = 0, first
    while day < last:  # ``last`` is a working day: the walk lands on it
        day = calendar.next_working_day(day)
        count += 1
    return count


def shift_working_days(calendar: WorkingCalendar, moment: datetime, n: int) -> datetime:
    """``moment`` moved ``n`` working days later at the same local time of day (aware UTC):
    an appointment at 17:00 on Friday moved by 2 is 17:00 on Tuesday."""
    local = moment.astimezone(clock.VIETNAM)
    day: date = local.date()
    for _ in range(n):
        day = calendar.next_working_day(day)
    return datetime.combine(day, local.timetz()).astimezone(UTC)


def open_stop(session: Session, dossier: Dossier) -> ClockStop | None:
    """The dossier's running clock stop, if its clock is stopped."""
    return session.execute(select(ClockStop).where(ClockStop.dossier_id == dossier.id,
                                                   ClockStop.ended_at.is_(None))
                           .order_by(ClockStop.id.desc()).limit(1)).scalar()


def stop_clock(session: Session, dossier: Dossier, *, actor: str,
               reason: str = "supplement") -> ClockStop:
    """Stop the dossier's clock now and count one more supplement request."""
    now = clock.now()
    stop = ClockStop(dossier_id=dossier.id, reason=reason, started_at=now)
    session.add(stop)
    dossier.clock_stopped_at = now
    dossier.supplement_count = (dossier.supplement_count or 0) + 1
    audit.append(session, actor=actor, action="clock_stopped", dossier_id=dossier.id,
                 detail={"reason": reason, "supplements": dossier.supplement_count,
                         "due_at": dossier.due_at.isoformat() if dossier.due_at else None})
    return stop


def resume_clock(session: Session, calendar: WorkingCalendar, dossier: Dossier, *,
                 actor: str) -> int:
    """Restart a stopped clock: close the stop, add its working days to the dossier's
    total and move the appointment by them. Returns the working days paused (0 when the
    clock was running, or when no working day was lost)."""
    stop = open_stop(session, dossier)
    if stop is None:
        dossier.clock_stopped_at = None
        return 0
    now = clock.now()
    paused = working_days_elapsed(calendar, stop.started_at, now)
    stop.ended_at, stop.working_days = now, paused
    dossier.clock_stopped_at = None
    dossier.paused_working_days = (dossier.paused_working_days or 0) + paused
    before = dossier.due_at
    if before is not None and paused:
        dossier.due_at = shift_working_days(calendar, before, paused)
    if dossier.original_due_at is not None and paused:  # an apology never moves this one
        dossier.original_due_at = shift_working_days(calendar, dossier.original_due_at, paused)
    audit.append(session, actor=actor, action="clock_resumed", dossier_id=dossier.id,
                 detail={"working_days": paused,
                         "from": before.isoformat() if before else None,
                         "to": dossier.due_at.isoformat() if dossier.due_at else None})
    return paused


def on_status_change(session: Session, calendar: WorkingCalendar, dossier: Dossier,
                     before: str, after: str, *, actor: str) -> bool:
    """Stop or resume the clock for a change of status; True if the appointment moved."""
    if after == before:
        return False
    if after == PAUSED_STATUS:
        stop_clock(session, dossier, actor=actor)
        return False
    if before == PAUSED_STATUS or dossier.clock_stopped_at is not None:
        return resume_clock(session, calendar, dossier, actor=actor) > 0
    return False


def processing_working_days(calendar: WorkingCalendar, dossier: Dossier,
                            until: datetime | None = None) -> int:
    """Working days the agency spent on the dossier, without the paused ones: from receipt
    to ``until`` (default its finish, else now; a stopped clock counts to the stop)."""
    end = until or dossier.finished_at or dossier.clock_stopped_at or clock.now()
    return max(0, working_days_elapsed(calendar, dossier.received_at, end)
               - (dossier.paused_working_days or 0))
