"""The helpers a diagram's expressions and scripts see (:mod:`engine.scripting`): deadlines
on the working calendar, the engine's clock, and what stays out of reach."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine import clock
from engine.calendar import OFF, WorkingCalendar
from engine.errors import ScriptError
from engine.scripting import check_expression, make_evaluator, portable_functions

FRIDAY_MORNING = "2026-01-09T10:00:00+07:00"
MONDAY_CLOSE = datetime(2026, 1, 12, 17, 0, tzinfo=clock.VIETNAM)
TUESDAY_CLOSE = datetime(2026, 1, 13, 17, 0, tzinfo=clock.VIETNAM)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def evaluate():
    evaluator = make_evaluator(WorkingCalendar())
    return lambda source: evaluator.evaluate(source, {})


def test_a_working_day_deadline_skips_the_weekend_and_ends_at_the_close_of_day(evaluate):
    assert moment(evaluate(f"working_days(1, '{FRIDAY_MORNING}')")) == MONDAY_CLOSE
    before = moment(evaluate(f"working_days_before('{MONDAY_CLOSE.isoformat()}', 1)"))
    assert before.astimezone(clock.VIETNAM).date() == date(2026, 1, 9)


def test_a_moment_written_without_a_time_zone_is_vietnam_time(evaluate):
    assert evaluate("working_days(1, '2026-01-09T10:00:00')") == evaluate(
        f"working_days(1, '{FRIDAY_MORNING}')")


def test_an_announced_day_off_moves_the_deadline_here_and_in_a_script_worker():
    overrides = {date(2026, 1, 12): OFF}
    here = make_evaluator(WorkingCalendar(overrides)).evaluate(
        f"working_days(1, '{FRIDAY_MORNING}')", {})
    assert moment(here) == TUESDAY_CLOSE
    rebuilt = portable_functions(overrides, False, None, timedelta(0))
    assert moment(rebuilt["working_days"](1, FRIDAY_MORNING)) == TUESDAY_CLOSE


def test_now_in_a_diagram_reads_the_engines_clock(evaluate):
    clock.travel_to(datetime(2026, 3, 2, 9, 30, tzinfo=clock.VIETNAM))
    try:
        local = evaluate("datetime.now()")
        assert (local.tzinfo, local.date(), local.hour) == (None, date(2026, 3, 2), 9)
        assert abs(moment(evaluate("now()")) - datetime(2026, 3, 2, 9, 30, tzinfo=clock.VIETNAM)
                   ) < timedelta(minutes=1)
    finally:
        clock.reset()


def test_appointment_outside_a_running_dossier_is_a_bilingual_script_error(evaluate):
    with pytest.raises(ScriptError) as raised:
        evaluate("appointment()")
    assert "only available while a dossier runs" in raised.value.message
    assert "chỉ dùng được khi hồ sơ đang được xử lý" in raised.value.vi


def test_diagram_code_cannot_open_files(evaluate):
    with pytest.raises(ScriptError, match="'open' is not available"):
        evaluate("open('/etc/passwd')")


def test_the_deploy_check_names_a_broken_expression_and_passes_a_good_one():
    check = check_expression(make_evaluator(WorkingCalendar()))
    assert check("working_days(5)") == []
    assert check("working_days(5") != []
