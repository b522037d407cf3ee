"""The leaders' report over time (engine/stats_report.py): calendar months up to a day."""

from datetime import date

from engine.stats_report import month_periods


def test_month_periods_run_oldest_first_and_the_last_ends_on_the_day():
    periods = month_periods(date(2026, 3, 15), 3)
    assert [(p.start, p.end) for p in periods] == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 15))]


def test_month_periods_cross_a_year_and_ask_for_at_least_one():
    periods = month_periods(date(2027, 1, 5), 2)
    assert [(p.start, p.end) for p in periods] == [
        (date(2026, 12, 1), date(2026, 12, 31)), (date(2027, 1, 1), date(2027, 1, 5))]
    assert len(month_periods(date(2027, 1, 5), 0)) == 1
