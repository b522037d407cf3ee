"""Rating a dossier: once it ended, one rating changeable for a while, feeding satisfaction."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine import accounts, clock, ratings, stats
from engine.errors import Conflict, InvalidData
from engine.models import Dossier
from tests.engine.test_stats import Rows, at

CITIZEN_ID = "038190001234"  # congdan's, the applicant of Rows' dossiers


def _codes(platform) -> tuple[str, str]:
    rows = Rows(platform)
    done = rows.add(at(2026, 12, 1, 9), at(2026, 12, 8, 17), at(2026, 12, 4, 10))
    running = rows.add(at(2026, 12, 2, 9), at(2026, 12, 9, 17), status="in_progress")
    with platform.db.read() as session:
        return session.get(Dossier, done).code, session.get(Dossier, running).code


def test_rate_once_change_it_then_it_is_final(platform):
    done, running = _codes(platform)
    citizen = accounts.find_user(platform, "congdan")
    clock.travel_to(at(2026, 12, 5, 9))
    with pytest.raises(Conflict):  # not ended yet
        ratings.rate(platform, running, {"overall": "satisfied"}, user=citizen)
    assert ratings.get_rating(platform, running, user=citizen)["scores"] == {}
    with pytest.raises(InvalidData):
        ratings.rate(platform, done, {"overall": "meh"}, user=citizen)
    first = ratings.rate(platform, done, {"overall": "satisfied", "attitude": "very_satisfied"},
                         user=citizen)
    assert first["can_rate"] and first["scores"]["attitude"] == "very_satisfied"
    report = stats.indicators(platform, start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert report["dissatisfied"] == 0
    clock.travel(timedelta(days=6))  # on the counter tablet, with the code and ID number
    ratings.rate(platform, done, {"overall": "dissatisfied"}, id_number=CITIZEN_ID, place="counter")
    report = stats.indicators(platform, start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert report["dissatisfied"] == 1
    clock.travel(timedelta(days=2))  # 8 days after the first rating: final
    with pytest.raises(Conflict) as late:
        ratings.rate(platform, done, {"overall": "very_satisfied"}, user=citizen)
    assert "quá 7 ngày" in late.value.vi
    after = ratings.get_rating(platform, done, user=citizen)
    assert after["scores"] == {"overall": "dissatisfied"} and not after["can_rate"]
