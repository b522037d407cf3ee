"""Indicators for leaders (chỉ số thống kê): the national definitions behind the
Decision 766 scorecard (DOMAIN.md §3–4), computed from dossier rows for a period, an
agency (with or without its sub-agencies) and a procedure.

**Which dossiers.** A period holds the dossiers received in it or processed in it, and
those carried over from before it (received earlier, not yet finished when it began): the
national report's "số hồ sơ nhận giải quyết" = carried over + newly received. A cooperating
pair (liên thông: a dossier and the one it started at another agency, ``parent_id``) counts
once where both sides are in scope — the province totals — by its first side, and once on
each side in each agency's own figures.

**On time** is judged against the appointment in force before any apology
(``original_due_at``: form 04 moves only ``due_at``), which has already moved by the
working days the clock stood still during supplements. A processed dossier is judged when
its result was ready (``finished_at``), early when that was before the appointment's day;
one still in progress at the end of the period is judged then (or when its clock stopped).
More than one supplement request makes a dossier late whatever its dates (DOMAIN.md §3).
A withdrawn dossier was never decided and is in neither count.

**Online** = submitted online **and** given an electronic result: a signed generated
document that is not a slip (slips ``slip-NN`` are receipts, not results).

**Processing time** is counted in the procedure's own unit without the stopped clock:
working days less the paused ones (:func:`engine.deadlines.processing_working_days`), or
elapsed time less the clock stops for the other units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import clock
from .calendar import load_calendar
from .deadlines import processing_working_days
from .errors import InvalidData, NotFound
from .models import Agency, ClockStop, Document, Dossier, Procedure, ProcedureVersion
from .payment_models import Payment
from .stats_models import Rating
from .vocabulary import Channel

#: More supplement requests than this make a dossier late (DOMAIN.md §3).
MAX_SUPPLEMENTS_ON_TIME = 1
CHANNELS = tuple(Channel)
#: Statuses of a dossier whose processing ended with a decision (not withdrawn).
DECIDED = {"processed", "returned", "refused", "stopped"}
#: Statuses of a dossier whose result was issued.
WITH_RESULT = {"processed", "returned"}
_UNIT_SECONDS = {"hours": 3600, "days": 86400, "months": 30 * 86400}


@dataclass(frozen=True)
class Period:
    """Whole local days ``start`` … ``end``; ``lo`` ≤ moment < ``hi`` in aware datetimes."""

    start: date
    end: date

    @property
    def lo(self) -> datetime:
        return datetime.combine(self.start, time.min, clock.VIETNAM)

    @property
    def hi(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, clock.VIETNAM)

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.lo <= moment < self.hi


def period(start: date | None = None, end: date | None = None) -> Period:
    """The period asked for: by default from the first of ``end``'s month (or this month)
    to ``end`` (or today). An end before the start is refused."""
    end = end or clock.local_now().date()
    start = start or end.replace(day=1)
    if end < start:
        raise InvalidData(f"The period ends ({end:%d/%m/%Y}) before it starts ({start:%d/%m/%Y}): "
                          "choose an end date on or after the start date.",
                          vi=f"Kỳ thống kê kết thúc ({end:%d/%m/%Y}) trước ngày bắt đầu "
                             f"({start:%d/%m/%Y}): hãy chọn ngày kết thúc từ ngày bắt đầu trở đi.",
                          details=[{"field": "end", "message": "before start"}])
    return Period(start, end)


@dataclass
class Fact:
    """What the indicators need of one dossier (read once, no workflow)."""

    id: int
    code: str
    parent_id: int | None
    agency_id: int
    procedure: str
    channel: str
    status: str
    received_at: datetime
    finished_at: datetime | None
    due: datetime | None
    clock_stopped_at: datetime | None
    supplements: int
    paused_working_days: int
    unit: str
    deadline: int
    has_fee: bool
    electronic_result: bool = False
    paid_online: bool = False
    digitised: bool = False
    dissatisfied: bool = False
    paused_seconds: float = 0.0
    # the national public-service portal has answered its record (engine.national)
    synchronised: bool = False


# -- reading -------------------------------------------------------------------------------

def agency_scope(session: Session, agency_code: str | None, with_sub_agencies: bool) -> set[int] | None:
    """The ids of the agency ``agency_code`` (and its sub-agencies, at every depth, when
    asked), or None for the whole province. An unknown code is refused."""
    if not agency_code:
        return None
    rows = session.execute(select(Agency.id, Agency.code, Agency.parent_id)).all()
    root = next((r.id for r in rows if r.code == agency_code), None)
    if root is None:
        raise NotFound(f"No agency with code {agency_code!r}: pick one from the list of agencies.",
                       vi=f"Không có cơ quan mã {agency_code!r}: hãy chọn trong danh sách cơ quan.",
                       details=[{"field": "agency", "message": "unknown"}])
    scope = {root}
    while with_sub_agencies:
        more = {r.id for r in rows if r.parent_id in scope} - scope
        if not more:
            break
        scope |= more
    return scope


def _dossier_rows(session: Session, span: Period, agencies: set[int] | None,
                  procedure_code: str | None):
    query = (select(Dossier, Procedure.code.label("procedure_code"), ProcedureVersion.meta)
             .join(Procedure, Procedure.id == Dossier.procedure_id)
             .join(ProcedureVersion, ProcedureVersion.id == Dossier.version_id)
             .where(Dossier.received_at < span.hi,
                    or_(Dossier.finished_at.is_(None), Dossier.finished_at >= span.lo)))
    if agencies is not None:
        query = query.where(Dossier.agency_id.in_(agencies))
    if procedure_code:
        query = query.where(Procedure.code == procedure_code)
    return session.execute(query).all()


def _fact(dossier: Dossier, procedure_code: str, meta: dict) -> Fact:
    deadline = meta.get("deadline") or {}
    fee = meta.get("fee") or {}
    return Fact(id=dossier.id, code=dossier.code, parent_id=dossier.parent_id,
                agency_id=dossier.agency_id, procedure=procedure_code, channel=dossier.channel,
                status=dossier.status, received_at=dossier.received_at,
                finished_at=dossier.finished_at,
                due=dossier.original_due_at or dossier.due_at,
                clock_stopped_at=dossier.clock_stopped_at,
                supplements=dossier.supplement_count or 0,
                paused_working_days=dossier.paused_working_days or 0,
                unit=deadline.get("unit") or "working_days", deadline=int(deadline.get("value") or 0),
                has_fee=bool(isinstance(fee, dict) and fee.get("amount")),
                synchronised=bool(dossier.national_code))


def _ids_with(session: Session, column, ids: list[int], *conditions) -> set[int]:
    if not ids:
        return set()
    return set(session.execute(select(column).where(column.in_(ids), *conditions)).scalars())


def _annotate(session: Session, facts: list[Fact]) -> None:
    """Results, payments, scans, ratings and clock stops of ``facts``, one query each."""
    ids = [f.id for f in facts]
    electronic = _ids_with(session, Document.dossier_id, ids, Document.kind == "generated",
                           Document.signatures > 0, Document.name.not_like("slip-%"))
    paid = _ids_with(session, Payment.dossier_id, ids, Payment.status == "paid")
    scanned = _ids_with(session, Document.dossier_id, ids, Document.kind == "upload")
    ratings = dict(session.execute(select(Rating.dossier_id, Rating.scores)
                                   .where(Rating.dossier_id.in_(ids))).all()) if ids else {}
    stops: dict[int, float] = {}
    if ids:
        for row in session.execute(select(ClockStop.dossier_id, ClockStop.started_at,
                                          ClockStop.ended_at).where(ClockStop.dossier_id.in_(ids))):
            end = row.ended_at or clock.now()
            stops[row.dossier_id] = stops.get(row.dossier_id, 0.0) + (end - row.started_at).total_seconds()
    for f in facts:
        f.electronic_result = f.id in electronic and f.status in WITH_RESULT
        f.paid_online = f.id in paid
        f.digitised = f.id in scanned
        f.dissatisfied = (ratings.get(f.id) or {}).get("overall") == "dissatisfied"
        f.paused_seconds = stops.get(f.id, 0.0)


def count_pairs_once(facts: list[Fact]) -> list[Fact]:
    """Drop the second side of a cooperating pair whose first side is also in ``facts``."""
    ids = {f.id for f in facts}
    return [f for f in facts if f.parent_id not in ids]


# -- judging one dossier -------------------------------------------------------------------

def too_many_supplements(dossier) -> bool:
    """Late nationally whatever its dates: more than one supplement request."""
    supplements = getattr(dossier, "supplements", None)
    if supplements is None:
        supplements = dossier.supplement_count or 0
    return supplements > MAX_SUPPLEMENTS_ON_TIME


def timing(fact: Fact, moment: datetime) -> str:
    """``early``, ``on_time`` or ``late`` for a dossier judged at ``moment``."""
    if too_many_supplements(fact):
        return "late"
    if fact.due is None:
        return "on_time"
    if moment > fact.due:
        return "late"
    if moment.astimezone(clock.VIETNAM).date() < fact.due.astimezone(clock.VIETNAM).date():
        return "early"
    return "on_time"


def is_on_time(dossier: Dossier, now: datetime) -> bool:
    """Finished, or still in progress, within the appointment before any apology, with at
    most one supplement request. A stopped clock is judged when it stopped."""
    fact = _fact(dossier, "", {})
    return timing(fact, dossier.finished_at or dossier.clock_stopped_at or now) != "late"


def processed_in(fact: Fact, span: Period) -> bool:
    return fact.status in DECIDED and span.holds(fact.finished_at)


def open_at_end(fact: Fact, span: Period) -> bool:
    """Still being processed when the period ended (finished later, or not yet)."""
    return fact.status != "withdrawn" and (fact.finished_at is None or fact.finished_at >= span.hi)


def judge_open(fact: Fact, span: Period, now: datetime) -> str:
    moment = min(span.hi, now)
    if fact.clock_stopped_at is not None and fact.finished_at is None:
        moment = min(moment, fact.clock_stopped_at)
    return timing(fact, moment)


def processing_time(fact: Fact, calendar) -> float:
    """Processing time of a finished dossier in its procedure's unit, pauses left out."""
    if fact.unit == "working_days":
        return processing_working_days(calendar, fact, until=fact.finished_at)
    seconds = (fact.finished_at - fact.received_at).total_seconds() - fact.paused_seconds
    return max(0.0, seconds) / _UNIT_SECONDS.get(fact.unit, 86400)


# -- the figures ---------------------------------------------------------------------------

def _share(n: int, total: int) -> float | None:
    return round(n / total, 4) if total else None


def received_figures(facts: list[Fact], span: Period) -> dict:
    carried = sum(1 for f in facts if f.received_at < span.lo)
    by_channel = {c: sum(1 for f in facts if f.channel == c) for c in CHANNELS}
    return {"received": len(facts), "carried_over": carried, "received_in_period": len(facts) - carried,
            "by_channel": by_channel,
            "share_by_channel": {c: _share(n, len(facts)) for c, n in by_channel.items()}}


def progress_figures(facts: list[Fact], span: Period, now: datetime) -> dict:
    done = [timing(f, f.finished_at) for f in facts if processed_in(f, span)]
    running = [judge_open(f, span, now) for f in facts if open_at_end(f, span)]
    early, on_time, late = (done.count(k) for k in ("early", "on_time", "late"))
    running_late = running.count("late")
    judged = len(done) + len(running)
    in_time = early + on_time + len(running) - running_late
    return {"processed": len(done), "processed_early": early, "processed_on_time": on_time,
            "processed_late": late, "in_progress": len(running),
            "in_progress_on_time": len(running) - running_late, "in_progress_late": running_late,
            "withdrawn": sum(1 for f in facts if f.status == "withdrawn" and span.holds(f.finished_at)),
            "on_time": in_time, "late": late + running_late,
            "late_by_supplements": sum(1 for f in facts if too_many_supplements(f)),
            "share_on_time": _share(in_time, judged)}


def time_figures(facts: list[Fact], span: Period, calendar) -> dict:
    """Average processing time per procedure in its unit, and over working-day procedures."""
    by_procedure: dict[str, list[float]] = {}
    units: dict[str, tuple[str, int]] = {}
    for f in facts:
        if processed_in(f, span):
            by_procedure.setdefault(f.procedure, []).append(processing_time(f, calendar))
            units[f.procedure] = (f.unit, f.deadline)
    averages = {code: {"average": round(sum(v) / len(v), 2), "unit": units[code][0],
                       "deadline": units[code][1], "processed": len(v)}
                for code, v in sorted(by_procedure.items())}
    working = [t for code, v in by_procedure.items() for t in v if units[code][0] == "working_days"]
    return {"average_processing_time": averages,
            "average_processing_working_days": round(sum(working) / len(working), 2) if working else None}


def online_figures(facts: list[Fact], span: Period) -> dict:
    results = [f for f in facts if processed_in(f, span) and f.status in WITH_RESULT]
    electronic = sum(1 for f in results if f.electronic_result)
    online = sum(1 for f in facts if f.channel == Channel.ONLINE and f.electronic_result)
    with_fee = [f for f in facts if f.has_fee]
    paid = sum(1 for f in with_fee if f.paid_online)
    return {"results": len(results), "electronic_results": electronic,
            "share_electronic_results": _share(electronic, len(results)),
            "online": sum(1 for f in facts if f.channel == Channel.ONLINE),
            "online_with_electronic_result": online, "share_online": _share(online, len(facts)),
            "with_fee": len(with_fee), "paid_online": paid,
            "share_paid_online": _share(paid, len(with_fee)),
            "digitised": sum(1 for f in facts if f.digitised),
            "share_digitised": _share(sum(1 for f in facts if f.digitised), len(facts)),
            "synchronised": sum(1 for f in facts if f.synchronised),
            "share_synchronised": _share(sum(1 for f in facts if f.synchronised), len(facts))}


def satisfaction_figures(facts: list[Fact], late: int) -> dict:
    """Satisfaction with dossier handling = (dossiers − dissatisfied − complained − late) ÷
    dossiers. Complaints are not recorded by the portal: ``complaints`` is None and the
    share leaves them out (said in ``satisfaction_note``)."""
    judged = [f for f in facts if f.status != "withdrawn"]
    dissatisfied = sum(1 for f in judged if f.dissatisfied)
    satisfied = len(judged) - dissatisfied - late
    return {"dissatisfied": dissatisfied, "complaints": None,
            "share_satisfied": _share(max(0, satisfied), len(judged)),
            "satisfaction_note": "complaints are not recorded by the portal"}


def indicators(p, *, start: date | None = None, end: date | None = None,
               agency_code: str | None = None, procedure_code: str | None = None,
               with_sub_agencies: bool = True) -> dict:
    """The indicators of a period (default: this month so far), for one agency (with its
    sub-agencies unless ``with_sub_agencies`` is False) and one procedure, or everything.
    Raises InvalidData for an end before the start, NotFound for an unknown agency or
    procedure. ``scorecard`` maps each Decision 766 group to its points (None when the
    portal cannot know any of its indicators); ``scorecard_detail`` has every indicator."""
    from .scorecard import score

    span = period(start, end)
    facts, calendar, offer = load_facts(p, span, agency_code=agency_code,
                                        procedure_code=procedure_code,
                                        with_sub_agencies=with_sub_agencies)
    figures = figures_of(facts, span, calendar)
    card = score(p, figures, offer)
    return {"period": {"start": span.start.isoformat(), "end": span.end.isoformat()},
            "agency": agency_code, "procedure": procedure_code,
            "with_sub_agencies": with_sub_agencies, **figures, "procedures": offer,
            "scorecard": {g["group"]: g["points"] for g in card},
            "scorecard_detail": card}


def load_facts(p, span: Period, *, agency_code: str | None = None,
               procedure_code: str | None = None, with_sub_agencies: bool = True,
               pairs_once: bool = True) -> tuple[list[Fact], object, dict]:
    """The facts of the dossiers in scope for ``span``, the working calendar and what the
    procedures in scope offer online. ``pairs_once`` False keeps both sides of a pair
    (each agency's own figures side by side)."""
    with p.db.read() as session:
        scope = agency_scope(session, agency_code, with_sub_agencies)
        _check_procedure(session, procedure_code)
        facts = [_fact(row.Dossier, row.procedure_code, row.meta)
                 for row in _dossier_rows(session, span, scope, procedure_code)]
        if pairs_once:
            facts = count_pairs_once(facts)
        _annotate(session, facts)
        return facts, load_calendar(session), procedure_offer(session, scope, procedure_code)


def figures_of(facts: list[Fact], span: Period, calendar) -> dict:
    """Every figure of ``facts`` for ``span`` (what :func:`indicators` returns, without the
    scorecard)."""
    progress = progress_figures(facts, span, clock.now())
    return {**received_figures(facts, span), **progress, **time_figures(facts, span, calendar),
            **online_figures(facts, span), **satisfaction_figures(facts, progress["late"]),
            "finished": progress["processed"] + progress["withdrawn"],
            "by_status": {s: sum(1 for f in facts if f.status == s)
                          for s in sorted({f.status for f in facts})}}


def _check_procedure(session: Session, procedure_code: str | None) -> None:
    if procedure_code and session.execute(
            select(Procedure.id).where(Procedure.code == procedure_code)).scalar() is None:
        raise NotFound(f"No procedure with code {procedure_code!r}.",
                       vi=f"Không có thủ tục mã {procedure_code!r}.",
                       details=[{"field": "procedure", "message": "unknown"}])


def procedure_offer(session: Session, scope: set[int] | None, procedure_code: str | None) -> dict:
    """How many of the procedures in scope are offered online (level 3 or 4, "một phần" or
    "toàn trình"), how many have a fee and how many of those can be paid online (level 4)."""
    query = (select(Procedure.code, ProcedureVersion.meta)
             .join(ProcedureVersion, ProcedureVersion.id == Procedure.active_version_id))
    if scope is not None:
        query = query.where(Procedure.agency_id.in_(scope))
    if procedure_code:
        query = query.where(Procedure.code == procedure_code)
    metas = [row.meta for row in session.execute(query)]
    online = sum(1 for m in metas if int(m.get("level") or 0) >= 3)
    with_fee = [m for m in metas if isinstance(m.get("fee"), dict) and m["fee"].get("amount")]
    payable = sum(1 for m in with_fee if int(m.get("level") or 0) >= 4)
    return {"total": len(metas), "online": online, "share_online": _share(online, len(metas)),
            "with_fee": len(with_fee), "payable_online": payable,
            "share_payable_online": _share(payable, len(with_fee))}
