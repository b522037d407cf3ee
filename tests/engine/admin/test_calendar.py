"""The working calendar (engine/admin/calendar.py): the year with its public holidays, and the
administrator's overrides that move appointments computed afterwards."""

from datetime import date, datetime

import pytest

from engine import accounts, clock
from engine.admin.calendar import add_override, calendar_year, remove_override
from engine.errors import InvalidData
from tests.engine.admin.kit import events, fields
from tests.engine.factories import submit


def test_the_year_shows_the_package_holidays(platform):
    year = calendar_year(platform, 2026)
    days = {h["day"]: h["name"] for h in year["holidays"]}
    assert days[date(2026, 9, 2)] == "Quốc khánh" and date(2026, 4, 30) in days
    assert [w["day"] for w in year["workdays"]] == [date(2026, 8, 22)]  # the make-up Saturday
    assert calendar_year(platform, 2026, lang="en")["holidays"][0]["name"] == "New Year's Day"
    assert year["overrides"] == []


def test_an_override_moves_an_appointment_computed_afterwards(platform):
    # Friday 6 March 2026, 10:00: 5 working days → Friday 13 March 17:00.
    clock.travel_to(datetime(2026, 3, 6, 10, tzinfo=clock.VIETNAM))
    first = datetime.fromisoformat(admin_due(platform))
    assert first.astimezone(clock.VIETNAM).date() == date(2026, 3, 13)
    add_override(platform, {"day": "2026-03-10", "kind": "off", "note": "Bão số 3"},
                       actor="quantri")
    second = datetime.fromisoformat(admin_due(platform))
    assert second.astimezone(clock.VIETNAM).date() == date(2026, 3, 16)
    remove_override(platform, date(2026, 3, 10), actor="quantri")
    third = datetime.fromisoformat(admin_due(platform))
    assert third.astimezone(clock.VIETNAM).date() == date(2026, 3, 13)
    assert [e.detail["after"]["note"] for e in events(platform, "admin_calendar_add")] == ["Bão số 3"]


def admin_due(p) -> str:
    from engine import dossiers

    return dossiers.get_dossier(p, submit(p), user=accounts.find_user(p, "doanhnghiep"))["due_at"]


def test_an_override_that_changes_nothing_is_refused(platform):
    with pytest.raises(InvalidData) as error:
        add_override(platform, {"day": "2026-09-02", "kind": "off"}, actor="quantri")
    assert "vốn đã là ngày nghỉ" in fields(error)["day"]
    with pytest.raises(InvalidData) as error:
        add_override(platform, {"day": "2026-03-11", "kind": "work"}, actor="quantri")
    assert "vốn đã là ngày làm việc" in fields(error)["day"]
    with pytest.raises(InvalidData) as error:
        add_override(platform, {"day": "11/03/2026", "kind": "holiday"}, actor="quantri")
    assert set(fields(error)) == {"day", "kind"}
    add_override(platform, {"day": "2026-03-14", "kind": "work"}, actor="quantri")
    with pytest.raises(InvalidData) as error:
        add_override(platform, {"day": "2026-03-14", "kind": "work"}, actor="quantri")
    assert "đã được điều chỉnh" in fields(error)["day"]
