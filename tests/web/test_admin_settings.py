"""The administrator's settings page: close of day, afternoon cut-off, the form set in
force and the dates sets apply from; a wrong value changes nothing and says why."""

# The tests take the portal fixtures imported from test_pages as parameters.
# ruff: noqa: F811

from __future__ import annotations

from engine import settings
from tests.web.test_admin import quantri  # noqa: F401  (fixture)
from tests.web.test_pages import app, auth, client, text  # noqa: F401  (fixtures)

PAGE = "/admin/settings"
FROM_03 = "form_set_from:circular-03-2025"


def test_the_administrator_sets_the_day_times_and_the_form_set(quantri, platform):
    html = text(quantri.client.get(PAGE))
    assert "Thông tư 03/2025/TT-VPCP" in html and "Thông báo dừng giải quyết hồ sơ" in html
    refused = quantri.post(PAGE, {"close_of_day": "25:00", "afternoon_cutoff": "16:00",
                                  "form_set": "", FROM_03: ""}, page=PAGE)
    assert refused.status_code == 422 and "GG:PP" in text(refused)
    with platform.db.read() as session:
        assert settings.values(session)["afternoon_cutoff"] == "17:00"  # nothing changed
    done = quantri.post(PAGE, {"close_of_day": "16:30", "afternoon_cutoff": "16:00",
                               "form_set": "circular-01-2018", FROM_03: "2025-08-01"},
                        page=PAGE, follow_redirects=True)
    assert done.status_code == 200 and "Đã lưu cài đặt." in text(done)
    with platform.db.read() as session:
        assert {k: v for k, v in settings.values(session).items()} == {
            "close_of_day": "16:30", "afternoon_cutoff": "16:00",
            "form_set": "circular-01-2018", FROM_03: "2025-08-01"}
