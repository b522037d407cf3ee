"""Revisions (engine/revisions.py): the database moves the calendar's revision whenever the
calendar or a setting changes, by whatever means, and a step keeps the working calendar
between steps only as long as the revision stays where it was — so a day off an
administrator adds counts in the very next step's deadline."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, event, insert, select, text, update

from engine import clock, settings
from engine.admin import calendar as admin_calendar
from engine.calendar import KEPT, WorkingCalendar
from engine.db import Database
from engine.migrate import upgrade
from engine.models import (
    CalendarOverride,
    Dossier,
    HumanTask,
    PlatformSetting,
    Revision,
    Timer,
)
from engine.revisions import CALENDAR
from tests.conftest import reset_database
from tests.engine.factories import submit
from tests.engine.test_slips import THURSDAY, complete


def revision(p) -> int:
    with p.db.read() as session:
        return session.execute(select(Revision.n).where(Revision.name == CALENDAR)).scalar_one()


def test_every_change_of_the_calendar_or_a_setting_moves_the_revision(platform):
    seen = [revision(platform)]

    def moved() -> bool:
        seen.append(revision(platform))
        return seen[-1] != seen[-2]

    with platform.db.transaction() as session:
        session.add(CalendarOverride(day=date(2031, 5, 5), kind="off", note="Bão"))
    assert moved()
    with platform.db.transaction() as session:
        session.execute(update(CalendarOverride).where(CalendarOverride.day == date(2031, 5, 5))
                        .values(note="Bão số 3"))
    assert moved()
    with platform.db.transaction() as session:
        session.execute(delete(CalendarOverride).where(CalendarOverride.day == date(2031, 5, 5)))
    assert moved()
    with platform.db.transaction() as session:
        settings.set_value(session, "afternoon_cutoff", "16:00", actor="admin")
    assert moved()
    with platform.db.engine.begin() as connection:  # by hand, as in a psql session
        connection.execute(text("UPDATE platform_setting SET value = '15:30' "
                                "WHERE key = 'afternoon_cutoff'"))
    assert moved()
    with platform.db.transaction() as session:  # other tables leave it where it is
        session.execute(update(Dossier).values(national_code="G22-x"))
        session.execute(update(HumanTask).values(role_code=HumanTask.role_code))
    assert not moved()
    with platform.db.transaction() as session:
        session.add(CalendarOverride(day=date(2031, 5, 6), kind="off", note=""))
        session.flush()
        session.rollback()  # an undone change leaves it where it was
    assert not moved()
    assert len(set(seen)) == 6


def _warn_at(p, code) -> datetime:
    with p.db.read() as session:
        return session.execute(select(Timer.due_at).join(Dossier).where(
            Dossier.code == code, Timer.spec_name == "Timer_WarnDue")).scalar_one()


def test_a_day_off_announced_between_two_steps_counts_in_the_next_step(platform):
    """The process keeps the calendar between steps, and a change of it counts at once:
    two dossiers due the same day, accepted one after the other with a day off announced
    in between; the second one's "due tomorrow" reminder comes a working day earlier."""
    clock.travel_to(THURSDAY)
    first, second = submit(platform), submit(platform)
    complete(platform, first, "Task_Receive", "motcua", {"reception_decision": "accept"})
    warn_first = _warn_at(platform, first).astimezone(clock.VIETNAM)
    admin_calendar.add_override(platform, {"day": warn_first.date().isoformat(), "kind": "off",
                                           "note": "Nghỉ bù"}, actor="admin")
    complete(platform, second, "Task_Receive", "motcua", {"reception_decision": "accept"})
    warn_second = _warn_at(platform, second).astimezone(clock.VIETNAM)
    calendar = WorkingCalendar({warn_first.date(): "off"})
    assert warn_second.date() == calendar.previous_working_day(warn_first.date())


def test_a_step_reads_the_calendar_only_when_its_revision_moved(platform):
    """Status changes count working days; once the process holds the calendar under the
    current revision, a status change sends no statement for it."""
    codes = [submit(platform) for _ in range(3)]
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    def accept(code) -> list[str]:
        statements.clear()
        event.listen(platform.db.engine, "before_cursor_execute", seen)
        try:
            complete(platform, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
        finally:
            event.remove(platform.db.engine, "before_cursor_execute", seen)
        return [s for s in statements if "calendar_override" in s]

    KEPT.clear()
    assert len(accept(codes[0])) == 1  # nothing kept: read once
    assert accept(codes[1]) == []  # kept under the same revision
    with platform.db.transaction() as session:
        session.add(CalendarOverride(day=date(2031, 5, 5), kind="off", note="Bão"))
    assert len(accept(codes[2])) == 1  # moved: read again


def test_a_migrated_database_moves_the_revision_too(database_url):
    """Migration 0018 installs what create_all does: the row and the triggers."""
    db = Database(database_url)
    reset_database(db)
    try:
        upgrade(db)
        number = select(Revision.n).where(Revision.name == CALENDAR)
        with db.engine.begin() as connection:
            before = connection.execute(number).scalar_one()
            connection.execute(insert(CalendarOverride).values(day=date(2031, 5, 5), kind="off",
                                                               note=""))
            after = connection.execute(number).scalar_one()
            connection.execute(insert(PlatformSetting).values(key="afternoon_cutoff",
                                                              value="16:00"))
            last = connection.execute(number).scalar_one()
        assert len({before, after, last}) == 3
    finally:
        reset_database(db)
        db.dispose()
