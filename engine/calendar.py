"""The working-day calendar (ngày làm việc) that every legal deadline is counted in.

Non-working days are Saturdays, Sundays and the public holidays of the Labour Code 2019
Art. 112 as the ``holidays`` package (country ``VN``) knows them: New Year, Tết (with the
days the government moves around it), Hùng Kings day, 30/4, 1/5, 2/9 (two days), the
substitute days when a holiday falls on a weekend, the make-up Saturdays it lists in
``weekend_workdays`` and, from 2026, Vietnam Culture Day 24/11 (``holidays`` 0.109 has it;
a test pins it, so no default override is needed). An administrator adds what the package
cannot know yet — an announced extra day off, a Saturday swapped into a working day — as
:class:`engine.models.CalendarOverride` rows, which win over the package.

Deadline rule (the one every procedure uses, written once here):

* A dossier is *received* on its local (Asia/Ho_Chi_Minh) date if that is a working day and
  it arrived before the afternoon cut-off (17:00 by default). Anything that arrives on a
  non-working day or at/after the cut-off counts as received on the next working day: an
  office cannot start work it could not have seen.
* The receipt day itself is not counted (as the Civil Code 2015 Art. 147 counts periods in
  days: from the day after the event); day 1 is the next working day. The appointment is
  the end (17:00) of the n-th working day. So received Friday 10:00 with 5 working days →
  due the following Friday 17:00; received Saturday → as if received Monday → due the next
  Monday 17:00; ``n = 0`` → 17:00 of the (effective) receipt day.

The close of day (17:00) and the afternoon cut-off are an administrator's data
(:mod:`engine.settings`), passed to the calendar by :func:`load_calendar`; the constants
below are only their defaults.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from holidays.countries import Vietnam
from sqlalchemy import CompoundSelect
from sqlalchemy.orm import Session

from engine.clock import VIETNAM
from engine.step.sql import run

#: When an appointment day ends and when the counter stops receiving for the day, Vietnam
#: time, unless an administrator set others (engine/settings.py).
CLOSE_OF_DAY = time(17, 0)
AFTERNOON_CUTOFF = time(17, 0)
OFF = "off"
WORK = "work"
UNITS = ("hours", "days", "working_days", "months")
_MAX_WORKING_DAYS = 10_000  # ~40 years: anything larger is a typo in a procedure
_ONE_DAY = timedelta(days=1)


class VietnamWithOverrides(Vietnam):
    """``holidays.countries.Vietnam`` with administrator overrides applied on top.

    ``off`` days become holidays (named by the override note); ``work`` days stop being
    holidays and, on a weekend, become working days. Overrides win over the package,
    including over its own make-up Saturdays.
    """

    def __init__(self, overrides: Mapping[date, str], notes: Mapping[date, str] | None = None,
                 **kwargs) -> None:
        self._overrides = dict(overrides)
        self._notes = dict(notes or {})
        super().__init__(**kwargs)

    def _populate(self, year: int) -> None:
        super()._populate(year)
        for day, kind in self._overrides.items():
            if day.year != year:
                continue
            if kind == OFF:
                dict.__setitem__(self, day, self._notes.get(day) or "Ngày nghỉ (thông báo)")
            else:
                dict.pop(self, day, None)

    def is_working_day(self, key) -> bool:
        """True if ``key`` is a working day, overrides first, then the package's rules."""
        day = self.__keytransform__(key)
        kind = self._overrides.get(day)
        if kind is not None:
            return kind == WORK
        return super().is_working_day(day)


def _aware(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (naive datetimes are ambiguous): "
                         f"{moment.isoformat()}")
    return moment


class WorkingCalendar:
    """Working days in Vietnam plus administrator overrides; every result is aware UTC.

    ``overrides`` maps a date to ``"off"`` (an announced extra day off) or ``"work"`` (a
    make-up working day, e.g. a Saturday); ``notes`` optionally names them.
    ``close_of_day`` ends every appointment day; a dossier arriving at or after
    ``afternoon_cutoff`` counts from the next working day. Safe to share between threads:
    years are populated lazily under a lock.
    """

    def __init__(self, overrides: Mapping[date, str] | None = None,
                 notes: Mapping[date, str] | None = None, *,
                 close_of_day: time = CLOSE_OF_DAY,
                 afternoon_cutoff: time = AFTERNOON_CUTOFF) -> None:
        self.close_of_day = close_of_day
        self.afternoon_cutoff = afternoon_cutoff
        overrides = dict(overrides or {})
        for day, kind in overrides.items():
            if type(day) is not date:
                raise TypeError(f"calendar override keys must be dates, not {day!r}")
            if kind not in (OFF, WORK):
                raise ValueError(f"calendar override for {day.isoformat()} must be "
                                 f"'{OFF}' or '{WORK}', not {kind!r}")
        self.overrides: dict[date, str] = overrides
        self._holidays = VietnamWithOverrides(overrides, notes)
        self._ready: set[int] = set()
        self._lock = threading.Lock()
        #: Answers of :meth:`is_working_day` by date (a calendar never changes once made;
        #: the package's own look-up costs microseconds, and a step counts days one by one).
        self._working: dict[date, bool] = {}

    def _end_of(self, day: date) -> datetime:
        """The close of day (17:00 by default) Vietnam time on ``day``, as aware UTC."""
        return datetime.combine(day, self.close_of_day, VIETNAM).astimezone(UTC)

    # -- days ---------------------------------------------------------------------------

    def _ensure_year(self, year: int) -> None:
        # The package fills a year on first use, and the make-up Saturday of a swap can
        # be listed under the following year (27/12/2014 for 2/1/2015): fill both, once.
        if year not in self._ready:
            with self._lock:
                for y in (year, year + 1):
                    if 1 <= y <= 9999:
                        date(y, 1, 1) in self._holidays  # noqa: B015 - populates the year
                self._ready.add(year)

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` (a date; a datetime's own date) is a working day."""
        if isinstance(d, datetime):
            d = d.date()
        known = self._working.get(d)
        if known is None:
            self._ensure_year(d.year)
            known = self._working[d] = self._holidays.is_working_day(d)
        return known

    def holiday_name(self, d: date) -> str | None:
        """The name of the holiday or announced day off on ``d``, if any."""
        self._ensure_year(d.year)
        return self._holidays.get(d)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        d -= _ONE_DAY
        while not self.is_working_day(d):
            d -= _ONE_DAY
        return d

    def receipt_day(self, moment: datetime) -> date:
        """The working day a dossier arriving at ``moment`` counts as received on.

        Its local date if that is a working day and it arrived before the afternoon
        cut-off; otherwise the next working day.
        """
        local = _aware(moment, "start").astimezone(VIETNAM)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.afternoon_cutoff:
            return day
        return self.next_working_day(day)

    # -- deadlines ----------------------------------------------------------------------

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The appointment for a dossier received at ``start`` with ``n`` working days.

        17:00 Vietnam time of the n-th working day after the receipt day (see
        :meth:`receipt_day`); ``n = 0`` is 17:00 of the receipt day itself.
        """
        n = _count(n)
        day = self.receipt_day(start)
        for _ in range(n):
            day = self.next_working_day(day)
        return self._end_of(day)

    def subtract_working_days(self, end: datetime, n: int) -> datetime:
        """``n`` working days before ``end``, at the same local time of day (aware UTC).

        Used for "warn one working day before the appointment": from Monday 17:00 one
        working day back is Friday 17:00.
        """
        n = _count(n)
        local = _aware(end, "end").astimezone(VIETNAM)
        day = local.date()
        for _ in range(n):
            day = self.previous_working_day(day)
        return datetime.combine(day, local.timetz()).astimezone(UTC)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after ``start``'s local date up to and including ``end``'s.

        0 if ``end <= start``. A supplement requested on Friday and completed on Tuesday
        stopped the clock for 2 working days (Monday, Tuesday): the appointment moves by 2.
        """
        if _aware(end, "end") <= _aware(start, "start"):
            return 0
        day = start.astimezone(VIETNAM).date()
        last = end.astimezone(VIETNAM).date()
        count = 0
        while day < last:
            day += _ONE_DAY
            count += self.is_working_day(day)
        return count

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` calendar hours (aware UTC), counted around the clock."""
        return (_aware(start, "start") + timedelta(hours=hours)).astimezone(UTC)

    def add_days(self, start: datetime, n: int) -> datetime:
        """17:00 of the n-th calendar day after ``start``'s local date (aware UTC).

        As for working days, arriving at or after 17:00 counts from the next day, so that
        ``n = 0`` is never before the arrival.
        """
        return self._end_of(self._calendar_start(start) + timedelta(days=n))

    def add_months(self, start: datetime, n: int) -> datetime:
        """17:00 of the same local day ``n`` months later, clamped to the month's end."""
        day = self._calendar_start(start)
        month_index = day.year * 12 + day.month - 1 + n
        year, month = divmod(month_index, 12)
        month += 1
        last = _stdlib_calendar.monthrange(year, month)[1]
        return self._end_of(date(year, month, min(day.day, last)))

    def add(self, start: datetime, value: int, unit: str) -> datetime:
        """``start`` plus ``value`` in a procedure's deadline unit.

        ``unit`` is one of ``hours``, ``days`` (calendar days), ``working_days``, ``months``.
        """
        if unit == "working_days":
            return self.add_working_days(start, value)
        if unit == "hours":
            return self.add_hours(start, value)
        if unit == "days":
            return self.add_days(start, value)
        if unit == "months":
            return self.add_months(start, value)
        raise ValueError(f"Unknown deadline unit {unit!r}: use one of {', '.join(UNITS)}")

    def _calendar_start(self, start: datetime) -> date:
        local = _aware(start, "start").astimezone(VIETNAM)
        after_hours = local.time() >= self.afternoon_cutoff
        return local.date() + _ONE_DAY if after_hours else local.date()


def _count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"a number of working days must be an integer, not {n!r}")
    if not 0 <= n <= _MAX_WORKING_DAYS:
        raise ValueError(f"a number of working days must be between 0 and "
                         f"{_MAX_WORKING_DAYS}, not {n}")
    return n


def load_calendar(session: Session, revision: int | None = None) -> WorkingCalendar:
    """The calendar with every :class:`engine.models.CalendarOverride` row applied and the
    administrator's close of day and afternoon cut-off (:mod:`engine.settings`).

    ``revision``: the calendar's revision as the caller's transaction read it
    (:mod:`engine.revisions`); the calendar read under that number, when this process
    has it, is the answer, with no statement. Otherwise read in one Core statement on the
    session's connection (a step asks for it in the middle of its work, and the ORM's
    execute path, with its autoflush of the step's pending changes, cost more than the
    query). Neither table is written by a step."""
    known = KEPT.get(revision)
    if known is not None:
        return known[0]
    return _read(session, every_setting=False)[0]


def calendar_and_settings(session: Session, revision: int | None = None
                          ) -> tuple[WorkingCalendar, dict[str, str]]:
    """:func:`load_calendar` and every platform setting (:func:`engine.settings.values`)
    in the same one statement, or none when the process has both under ``revision``: what
    opening a dossier needs (its appointment, its form set)."""
    from engine.settings import with_defaults

    known = KEPT.get(revision, every_setting=True)
    calendar, stored = known if known is not None else _read(session, every_setting=True)
    return calendar, with_defaults(stored)


def _read(session: Session, *, every_setting: bool) -> tuple[WorkingCalendar, dict[str, str]]:
    return from_rows(run(session, _inputs(every_setting), {}), every_setting=every_setting)


#: The key of the row that carries the revision the calendar was read under.
_REVISION_KEY = "(revision)"


def from_rows(rows, *, every_setting: bool = False) -> tuple[WorkingCalendar, dict[str, str]]:
    """The calendar and the settings read, from the rows of :func:`inputs_with`'s
    statement (or this module's own; ``every_setting``: the rows hold every setting, not
    only the day times). Both are kept under the revision the rows carry."""
    from engine.settings import day_times_of

    overrides = tuple(sorted((day, kind, note) for day, kind, note, key, _ in rows
                             if key is None))
    stored = {key: value for _, _, _, key, value in rows
              if key is not None and key != _REVISION_KEY}
    calendar = _calendar(overrides, day_times_of(stored))
    revision = next((value for _, _, _, key, value in rows if key == _REVISION_KEY), None)
    if revision is not None:
        KEPT.put(int(revision), calendar, dict(stored) if every_setting else None)
    return calendar, stored


def inputs_with(*selects) -> CompoundSelect:
    """What :func:`load_calendar` reads, with ``selects`` as further arms of the same
    statement: ``(NULL, NULL, NULL, key, value)`` rows of a caller that needs other values
    in the same round trip (their keys must not be settings' names)."""
    from sqlalchemy import union_all

    return union_all(*_inputs(False).selects, *selects)


@lru_cache(maxsize=2)
def _inputs(every_setting: bool):
    """The overrides, the two day-time settings (or ``every_setting``) and the revision they
    are read under, as one statement (a UNION ALL whose rows are either an override or a
    setting, the revision a setting of its own key)."""
    from sqlalchemy import Date, String, Text, cast, literal_column, null, or_, select, union_all

    from engine.models import CalendarOverride, PlatformSetting, Revision
    from engine.revisions import CALENDAR
    from engine.settings import DAY_TIMES

    settings = select(null().cast(Date), null().cast(String(10)), null().cast(String(255)),
                      PlatformSetting.key, PlatformSetting.value)
    if not every_setting:  # SQL fixed: no IN list
        settings = settings.where(or_(*(PlatformSetting.key == key for key in DAY_TIMES)))
    return union_all(
        select(CalendarOverride.day, CalendarOverride.kind, CalendarOverride.note,
               null().cast(String(80)).label("key"), null().cast(Text).label("value")),
        settings,
        select(null().cast(Date), null().cast(String(10)), null().cast(String(255)),
               literal_column(f"'{_REVISION_KEY}'", String(80)), cast(Revision.n, Text))
        .where(Revision.name == CALENDAR))


class _Kept:
    """The calendars (and settings) this process read, by the revision they were read
    under (:mod:`engine.revisions`): a revision names one content of both tables in one
    database, so an entry never goes stale; the last few are kept."""

    def __init__(self, size: int = 8):
        self.size = size
        self.items: dict[int, tuple[WorkingCalendar, dict[str, str] | None]] = {}
        self.lock = threading.Lock()

    def get(self, revision: int | None, *, every_setting: bool = False
            ) -> tuple[WorkingCalendar, dict[str, str] | None] | None:
        if revision is None:
            return None
        found = self.items.get(revision)
        if found is None or (every_setting and found[1] is None):
            return None
        return found

    def put(self, revision: int, calendar: WorkingCalendar, stored: dict[str, str] | None
            ) -> None:
        with self.lock:
            known = self.items.pop(revision, None)
            if stored is None and known is not None:
                stored = known[1]
            self.items[revision] = (calendar, stored)
            while len(self.items) > self.size:
                del self.items[next(iter(self.items))]

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


KEPT = _Kept()


@lru_cache(maxsize=16)
def _calendar(rows: tuple, times: tuple[time, time] = (CLOSE_OF_DAY, AFTERNOON_CUTOFF)
              ) -> WorkingCalendar:
    """One calendar per set of overrides and day times: building the holiday tables costs
    a millisecond and every step of every dossier asks for them."""
    return WorkingCalendar({day: kind for day, kind, _ in rows},
                           notes={day: note for day, _, note in rows if note},
                           close_of_day=times[0], afternoon_cutoff=times[1])
