"""Values an administrator sets at run time (:mod:`engine.settings`)."""

from __future__ import annotations

from datetime import time

import pytest

from engine import settings
from engine.errors import InvalidData


def test_times_are_normalised_and_an_empty_value_restores_the_default(platform):
    with platform.db.transaction() as session:
        assert settings.set_value(session, "close_of_day", " 16:30 ", actor="quantri") == "16:30"
        assert settings.day_times(session) == (time(16, 30), time(17, 0))
        settings.set_value(session, "close_of_day", "", actor="quantri")
        assert settings.values(session)["close_of_day"] == "17:00"


def test_a_bad_value_changes_nothing_and_names_every_wrong_field(platform):
    with pytest.raises(InvalidData) as raised:
        settings.update(platform, {"close_of_day": "16:00", "afternoon_cutoff": "25:00",
                                   "form_set": "no-such-set", "colour": "red"}, actor="quantri")
    assert [d["field"] for d in raised.value.details] == ["afternoon_cutoff", "form_set",
                                                          "colour"]
    assert all(d["message_vi"] for d in raised.value.details)
    assert raised.value.vi == "Có cài đặt không hợp lệ; chưa thay đổi gì."
    assert settings.view(platform)["values"]["close_of_day"] == "17:00"  # the good one too


def test_a_form_sets_start_date_is_checked(platform):
    code = next(iter(settings.view(platform)["form_sets"]))["code"]
    with pytest.raises(InvalidData) as raised:
        settings.update(platform, {f"form_set_from:{code}": "01/07/2026"}, actor="quantri")
    assert "YYYY-MM-DD" in raised.value.details[0]["message"]
    updated = settings.update(platform, {f"form_set_from:{code}": "2026-07-01"}, actor="quantri")
    assert updated[f"form_set_from:{code}"] == "2026-07-01"
