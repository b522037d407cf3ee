"""The leaders' report over time (engine/stats_report.py): calendar months up to a day; the
trend, the figures by agency and by procedure and the late dossiers of the varied December
of tests/engine/test_stats.py, worked out by hand."""

from datetime import date

from engine import stats
from engine.demo import DISTRICT_FINANCE, FINANCE, TRANSPORT
from engine.stats_report import month_periods, report
from tests.engine.test_stats import december  # noqa: F401  (fixture)


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


def test_trend_agencies_procedures_and_late_dossiers(december):  # noqa: F811
    r = report(december, stats.period(date(2026, 12, 1), date(2026, 12, 31)), months=2)
    # November: the dossier of 2/11 finished late on 20/11, and G (received 25/11, due 2/12)
    # still open and within its appointment when the month ended.
    november, dec = r["trend"]
    assert (november["month"], november["received"], november["processed"], november["late"],
            november["share_on_time"]) == ("11/2026", 2, 1, 1, 0.5)
    # December: the province's figures, the pair once.
    assert (dec["month"], dec["received"], dec["processed"], dec["late"]) == ("12/2026", 13, 10, 4)
    assert (dec["share_on_time"], dec["share_online"]) == (round(8 / 12, 4), round(6 / 13, 4))
    # Each agency counts its own side of the pair: 12 + 1 + 1 = 14, one more than the province.
    agencies = {row["key"]: row["received"] for row in r["by_agency"]}
    assert agencies == {TRANSPORT: 12, FINANCE: 1, DISTRICT_FINANCE: 1}
    procedures = {row["key"]: (row["received"], row["late"]) for row in r["by_procedure"]}
    assert procedures == {"transport-business-licence": (10, 4), "budget-unit-code": (1, 0),
                          "vehicle-badge": (2, 0)}
    # Late, by the appointment before any apology: C (10/12), D (14/12), I (17/12, still open
    # when the month ended), F (two supplements, 22/12).
    assert [(d["state"], d["due_at"][:10], d["supplements"]) for d in r["late"]] == [
        ("processed_late", "2026-12-10", 0), ("processed_late", "2026-12-14", 0),
        ("in_progress_late", "2026-12-17", 0), ("processed_late", "2026-12-22", 2)]
