"""Working-day calendar. Every expected date is worked out by hand in a comment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from engine.calendar import WorkingCalendar, load_calendar

ICT = timezone(timedelta(hours=7))  # Vietnam, no DST


def vn(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ICT)


def due(y: int, m: int, d: int) -> datetime:
    """17:00 Vietnam time = 10:00 UTC."""
    return datetime(y, m, d, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_package_holidays_we_rely_on(cal):
    # Tết 2027: Lunar New Year is Sat 6 Feb; off Thu 4 – Wed 10 Feb (eve Fri 5, days 1–4
    # Sat 6 – Tue 9, Sat/Sun moved to Thu 4 and Wed 10).
    assert [cal.is_working_day(date(2027, 2, d)) for d in range(3, 12)] == [
        True, False, False, False, False, False, False, False, True]
    # Vietnam Culture Day from 2026 (Tue 24/11/2026), not before (Mon 24/11/2025).
    assert not cal.is_working_day(date(2026, 11, 24))
    assert cal.is_working_day(date(2025, 11, 24))
    # The package's make-up Saturday for 2/5/2025.
    assert cal.is_working_day(date(2025, 4, 26))
    assert not cal.is_working_day(date(2025, 5, 2))


def test_received_just_before_tet_2027(cal):
    # Received Wed 3 Feb 2027 10:00, 5 working days. Thu 4 – Wed 10 Feb are Tết (and the
    # weekend 6–7): day 1 Thu 11, 2 Fri 12, (Sat 13, Sun 14), 3 Mon 15, 4 Tue 16, 5 Wed 17.
    assert cal.add_working_days(vn(2027, 2, 3), 5) == due(2027, 2, 17)


def test_friday_to_friday(cal):
    # Fri 6 Mar 2026 10:00: Mon 9, Tue 10, Wed 11, Thu 12, Fri 13 → Fri 13 Mar 17:00.
    assert cal.add_working_days(vn(2026, 3, 6), 5) == due(2026, 3, 13)


def test_local_date_not_utc_date(cal):
    # 2026-03-05 20:00 UTC is Fri 6 Mar 03:00 in Vietnam: a Friday receipt, as above.
    assert cal.add_working_days(datetime(2026, 3, 5, 20, 0, tzinfo=UTC), 5) == due(2026, 3, 13)


@pytest.mark.parametrize("received", [
    vn(2026, 3, 7, 10),   # Saturday
    vn(2026, 3, 8, 23),   # Sunday night
    vn(2026, 3, 6, 17),   # Friday, counter closed at 17:00
    vn(2026, 3, 6, 18, 30),
])
def test_received_when_closed_counts_from_next_working_day(cal, received):
    # Counts as received Mon 9 Mar: Tue 10, Wed 11, Thu 12, Fri 13, Mon 16 → Mon 16 Mar.
    assert cal.add_working_days(received, 5) == due(2026, 3, 16)


def test_zero_days_is_end_of_receipt_day(cal):
    assert cal.add_working_days(vn(2026, 3, 6, 9), 0) == due(2026, 3, 6)  # Fri itself
    assert cal.add_working_days(vn(2026, 3, 7, 9), 0) == due(2026, 3, 9)  # Sat → Mon


def test_reunification_and_labour_day_2025_with_swap(cal):
    # Fri 25 Apr 2025, 5 days. Sat 26 Apr is the make-up working day for Fri 2 May.
    # 1 Sat 26, (Sun 27), 2 Mon 28, 3 Tue 29, (Wed 30/4, Thu 1/5, Fri 2/5 swapped,
    # Sat 3, Sun 4), 4 Mon 5 May, 5 Tue 6 May.
    assert cal.add_working_days(vn(2025, 4, 25), 5) == due(2025, 5, 6)


def test_labour_day_on_saturday_gets_substitute_monday(cal):
    # Thu 29 Apr 2027, 3 days. Fri 30/4 holiday, 1/5 is a Saturday → substitute Mon 3 May.
    # 1 Tue 4, 2 Wed 5, 3 Thu 6 May.
    assert not cal.is_working_day(date(2027, 5, 3))
    assert cal.add_working_days(vn(2027, 4, 29, 9), 3) == due(2027, 5, 6)


def test_override_off_pushes_by_one():
    received = vn(2026, 3, 9)  # Monday
    # Without: Tue 10, Wed 11 → Wed 11. With Tue 10 off: Wed 11, Thu 12 → Thu 12.
    assert WorkingCalendar().add_working_days(received, 2) == due(2026, 3, 11)
    cal = WorkingCalendar({date(2026, 3, 10): "off"}, notes={date(2026, 3, 10): "Bão"})
    assert cal.add_working_days(received, 2) == due(2026, 3, 12)
    assert cal.holiday_name(date(2026, 3, 10)) == "Bão"


def test_override_work_saturday_pulls_in():
    received = vn(2026, 3, 12)  # Thursday
    # Without: Fri 13, (weekend), Mon 16 → Mon 16. With Sat 14 working: Fri 13, Sat 14.
    assert WorkingCalendar().add_working_days(received, 2) == due(2026, 3, 16)
    cal = WorkingCalendar({date(2026, 3, 14): "work"})
    assert cal.add_working_days(received, 2) == due(2026, 3, 14)


def test_override_wins_over_package():
    # The package's make-up Saturday 22/8/2026, cancelled; 24/11/2026 made a working day.
    cal = WorkingCalendar({date(2026, 8, 22): "off", date(2026, 11, 24): "work"})
    assert not cal.is_working_day(date(2026, 8, 22))
    assert cal.is_working_day(date(2026, 11, 24))


def test_bad_override_kind():
    with pytest.raises(ValueError, match="'off' or 'work'"):
        WorkingCalendar({date(2026, 3, 10): "holiday"})


def test_working_days_between(cal):
    # Fri 6 Mar → Tue 10 Mar 2026: Sat, Sun no; Mon 9, Tue 10 → 2.
    assert cal.working_days_between(vn(2026, 3, 6, 10), vn(2026, 3, 10, 15)) == 2
    # Wed 3 Feb → Mon 15 Feb 2027: 4–10 Tết, Thu 11, Fri 12, (13, 14), Mon 15 → 3.
    assert cal.working_days_between(vn(2027, 2, 3), vn(2027, 2, 15)) == 3
    assert cal.working_days_between(vn(2026, 3, 6, 9), vn(2026, 3, 6, 16)) == 0  # same day
    assert cal.working_days_between(vn(2026, 3, 10), vn(2026, 3, 6)) == 0  # backwards


def test_subtract_working_days_over_weekend(cal):
    # Mon 16 Mar 2026 17:00 minus 1 → Fri 13 Mar 17:00.
    assert cal.subtract_working_days(due(2026, 3, 16), 1) == due(2026, 3, 13)
    # Tue 10 Mar 14:30 minus 2 → Mon 9, Fri 6 → Fri 6 Mar 14:30 (07:30 UTC).
    assert cal.subtract_working_days(vn(2026, 3, 10, 14, 30), 2) == datetime(
        2026, 3, 6, 7, 30, tzinfo=UTC)
    assert cal.subtract_working_days(due(2026, 3, 16), 0) == due(2026, 3, 16)


def test_units(cal):
    # 10:00 + 4 h = 14:00 Vietnam = 07:00 UTC.
    assert cal.add(vn(2026, 3, 6), 4, "hours") == datetime(2026, 3, 6, 7, 0, tzinfo=UTC)
    # Fri 6 Mar + 3 calendar days = Mon 9 Mar 17:00.
    assert cal.add(vn(2026, 3, 6), 3, "days") == due(2026, 3, 9)
    # 31 Jan 2026 + 1 month → 28 Feb 2026 (not a leap year).
    assert cal.add(vn(2026, 1, 31), 1, "months") == due(2026, 2, 28)
    # 30 Nov 2026 + 3 months → 28 Feb 2027; + 15 months → 29 Feb 2028 (a leap year).
    assert cal.add(vn(2026, 11, 30), 3, "months") == due(2027, 2, 28)
    assert cal.add(vn(2026, 11, 30), 15, "months") == due(2028, 2, 29)
    assert cal.add(vn(2026, 3, 6), 5, "working_days") == due(2026, 3, 13)


def test_bad_unit_and_inputs(cal):
    with pytest.raises(ValueError, match="'weeks'"):
        cal.add(vn(2026, 3, 6), 1, "weeks")
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_days(datetime(2026, 3, 6, 10), 1)
    with pytest.raises(ValueError, match="between 0"):
        cal.add_working_days(vn(2026, 3, 6), -1)


def test_load_calendar_reads_overrides(tmp_path):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from engine.columns import Base
    from engine.models import CalendarOverride, PlatformSetting, Revision

    engine = create_engine(f"sqlite:///{tmp_path / 'cal.sqlite3'}")
    Base.metadata.create_all(engine, tables=[CalendarOverride.__table__,
                                             PlatformSetting.__table__, Revision.__table__])
    with Session(engine) as session:
        session.add_all([CalendarOverride(day=date(2026, 3, 10), kind="off", note="Bão"),
                         CalendarOverride(day=date(2026, 3, 14), kind="work", note="")])
        session.commit()
        cal = load_calendar(session)
    engine.dispose()
    assert not cal.is_working_day(date(2026, 3, 10))
    assert cal.is_working_day(date(2026, 3, 14))
    assert cal.holiday_name(date(2026, 3, 10)) == "Bão"
