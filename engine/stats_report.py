"""What the leaders' page shows beyond the indicators (:mod:`engine.stats`): the trend by
month, the figures side by side by agency and by procedure, and the late dossiers — all
from one read of the dossiers in scope, by the same definitions."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from . import clock
from .models import Agency, Procedure
from .stats import (
    Fact,
    Period,
    figures_of,
    judge_open,
    load_facts,
    open_at_end,
    processed_in,
    timing,
)


def month_periods(end: date, months: int) -> list[Period]:
    """The ``months`` calendar months up to the one holding ``end`` (the last one ends at
    ``end``), oldest first."""
    out: list[Period] = []
    first = end.replace(day=1)
    last = end
    for _ in range(max(1, months)):
        out.append(Period(first, last))
        last = first - timedelta(days=1)
        first = last.replace(day=1)
    return out[::-1]


def _in(fact: Fact, span: Period) -> bool:
    return fact.received_at < span.hi and (fact.finished_at is None or fact.finished_at >= span.lo)


def _row(facts: list[Fact], span: Period, calendar) -> dict:
    f = figures_of(facts, span, calendar)
    return {"received": f["received"], "processed": f["processed"], "late": f["late"],
            "share_on_time": f["share_on_time"], "share_online": f["share_online"],
            "by_channel": f["by_channel"], "electronic_results": f["electronic_results"]}


def report(p, span: Period, *, agency_code: str | None = None, procedure_code: str | None = None,
           with_sub_agencies: bool = True, months: int = 6) -> dict:
    """Trend (the ``months`` months up to the period's end), by agency (each agency's own
    dossiers: both sides of a pair), by procedure and the late dossiers of ``span``."""
    trend_periods = month_periods(span.end, months)
    whole = Period(min(trend_periods[0].start, span.start), span.end)
    facts, calendar, _ = load_facts(p, whole, agency_code=agency_code,
                                    procedure_code=procedure_code,
                                    with_sub_agencies=with_sub_agencies, pairs_once=False)
    ids = {f.id for f in facts}
    once = [f for f in facts if f.parent_id not in ids]
    in_span = [f for f in once if _in(f, span)]
    names = _names(p)
    trend = [{"month": m.start.strftime("%m/%Y"), "start": m.start.isoformat(),
              **_row([f for f in once if _in(f, m)], m, calendar)} for m in trend_periods]
    return {"trend": trend,
            "by_agency": _grouped([f for f in facts if _in(f, span)], span, calendar,
                                  lambda f: f.agency_id, names["agency"]),
            "by_procedure": _grouped(in_span, span, calendar, lambda f: f.procedure,
                                     names["procedure"]),
            "late": late_dossiers(in_span, span, names)}


def _grouped(facts: list[Fact], span: Period, calendar, key, names: dict) -> list[dict]:
    groups: dict = {}
    for f in facts:
        groups.setdefault(key(f), []).append(f)
    rows = [{"key": names.get(k, {}).get("code", k), "name_vi": names.get(k, {}).get("vi", str(k)),
             "name_en": names.get(k, {}).get("en", str(k)), **_row(v, span, calendar)}
            for k, v in groups.items()]
    return sorted(rows, key=lambda r: (-r["received"], r["key"]))


def late_dossiers(facts: list[Fact], span: Period, names: dict, limit: int = 200) -> list[dict]:
    """The dossiers of ``span`` judged late (processed late, or still open and late)."""
    now = clock.now()
    out = []
    for f in facts:
        if processed_in(f, span) and timing(f, f.finished_at) == "late":
            state = "processed_late"
        elif open_at_end(f, span) and judge_open(f, span, now) == "late":
            state = "in_progress_late"
        else:
            continue
        agency = names["agency"].get(f.agency_id, {})
        procedure = names["procedure"].get(f.procedure, {})
        out.append({"code": f.code, "state": state, "status": f.status,
                    "procedure_vi": procedure.get("vi", f.procedure),
                    "procedure_en": procedure.get("en", f.procedure),
                    "agency": agency.get("code", ""), "agency_vi": agency.get("vi", ""),
                    "received_at": f.received_at.isoformat(),
                    "due_at": f.due.isoformat() if f.due else None,
                    "finished_at": f.finished_at.isoformat() if f.finished_at else None,
                    "supplements": f.supplements})
    return sorted(out, key=lambda r: r["due_at"] or "")[:limit]


def _names(p) -> dict:
    with p.db.read() as session:
        agencies = {a.id: {"code": a.code, "vi": a.name_vi, "en": a.name_en or a.name_vi}
                    for a in session.execute(select(Agency)).scalars()}
        procedures = {r.code: {"code": r.code, "vi": r.name_vi, "en": r.name_en or r.name_vi}
                      for r in session.execute(select(Procedure)).scalars()}
    return {"agency": agencies, "procedure": procedures}
