"""The calendar's overrides: announced days off and make-up working days."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from holidays.countries import Vietnam
from sqlalchemy import select

from .. import audit
from ..calendar import OFF, WORK, WorkingCalendar
from ..errors import InvalidData, NotFound
from ..models import CalendarOverride
from .checks import clean_text, invalid, problem


def calendar_year(p, year: int, *, lang: str = "vi") -> dict:
    """The year as the engine counts it: the package's holidays (``holidays``, VN; names in
    ``lang``, ``vi`` or ``en``), its make-up working Saturdays, and the administrator's
    overrides.

    ``{"year", "holidays": [{day, name, overridden}], "workdays": [{day, overridden}],
    "overrides": [{day, kind, note}]}``.
    """
    if not 1 <= year <= 9999:
        raise InvalidData(f"{year} is not a year.", vi=f"{year} không phải năm hợp lệ.")
    package = WorkingCalendar()
    names = Vietnam(years=year, language="vi" if lang == "vi" else "en_US")
    with p.db.transaction() as session:
        rows = session.execute(select(CalendarOverride).where(
            CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))
            .order_by(CalendarOverride.day)).scalars().all()
        overrides = [{"day": r.day, "kind": r.kind, "note": r.note} for r in rows]
    overridden = {o["day"] for o in overrides}
    holidays, workdays = [], []
    day = date(year, 1, 1)
    while day.year == year:
        working = package.is_working_day(day)
        if not working and day.weekday() < 5:
            holidays.append({"day": day, "name": names.get(day) or package.holiday_name(day),
                             "overridden": day in overridden})
        elif working and day.weekday() >= 5:
            workdays.append({"day": day, "overridden": day in overridden})
        day += timedelta(days=1)
    return {"year": year, "holidays": holidays, "workdays": workdays, "overrides": overrides}


def add_override(p, values: Mapping, *, actor: str) -> dict:
    """Add an announced day off (``off``) or make-up working day (``work``).

    The engine reads overrides on every step (:func:`engine.calendar.load_calendar`), so
    deadlines computed afterwards follow at once. An override that changes nothing (a day
    off on a holiday, a working day on a working day) is refused: it would hide a typo.
    """
    problems: list[dict] = []
    raw_day = str(values.get("day") or "").strip()
    day = None
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        problems.append(problem("day", f"{raw_day!r} is not a date (YYYY-MM-DD).",
                                f"{raw_day!r} không phải ngày hợp lệ (năm-tháng-ngày)."))
    kind = str(values.get("kind") or "").strip()
    if kind not in (OFF, WORK):
        problems.append(problem("kind", "choose a day off or a working day.",
                                "Chọn ngày nghỉ hoặc ngày làm việc."))
    note = clean_text(values.get("note"), 255, "note", problems, label_vi="ghi chú")
    if day is not None and kind in (OFF, WORK):
        working = WorkingCalendar().is_working_day(day)
        if kind == OFF and not working:
            problems.append(problem("day", f"{day:%d/%m/%Y} is already a day off.",
                                    f"Ngày {day:%d/%m/%Y} vốn đã là ngày nghỉ."))
        elif kind == WORK and working:
            problems.append(problem("day", f"{day:%d/%m/%Y} is already a working day.",
                                    f"Ngày {day:%d/%m/%Y} vốn đã là ngày làm việc."))
    with p.db.transaction() as session:
        if day is not None and session.get(CalendarOverride, day) is not None:
            problems.append(problem("day", f"{day:%d/%m/%Y} already has an override: remove it "
                                           "first.",
                                    f"Ngày {day:%d/%m/%Y} đã được điều chỉnh: hãy xóa điều "
                                    "chỉnh cũ trước."))
        if problems:
            raise invalid(problems)
        session.add(CalendarOverride(day=day, kind=kind, note=note))
        after = {"day": day.isoformat(), "kind": kind, "note": note}
        audit.append(session, actor=actor, action="admin_calendar_add",
                     detail={"day": day.isoformat(), "before": None, "after": after})
        return after


def remove_override(p, day: date, *, actor: str) -> None:
    with p.db.transaction() as session:
        row = session.get(CalendarOverride, day)
        if row is None:
            raise NotFound(f"No override on {day.isoformat()}.",
                           vi=f"Không có điều chỉnh nào vào ngày {day:%d/%m/%Y}.")
        before = {"day": day.isoformat(), "kind": row.kind, "note": row.note}
        session.delete(row)
        audit.append(session, actor=actor, action="admin_calendar_remove",
                     detail={"day": day.isoformat(), "before": before, "after": None})
