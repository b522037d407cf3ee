"""The bottleneck map on a procedure's diagram in the studio: each step of the current
version coloured (a marker per element) with its average, p90 and share late as notes,
the same numbers as a table; for analysts; a bad period is refused with the reason."""

from __future__ import annotations

import json
from html import unescape

import pytest

from engine import clock
from tests.engine.factories import PROCEDURE
from tests.engine.test_bottlenecks import slow_appraisal
from tests.engine.test_stats import at
from tests.web.test_studio import app, auth, client, text  # noqa: F401  (fixtures)

MAP = f"/studio/procedures/{PROCEDURE}/bottlenecks"
DECEMBER = {"start": "2026-12-01", "end": "2026-12-31"}


@pytest.fixture
def appraisal_is_slow(platform):
    """December 2026's task rows of :func:`tests.engine.test_bottlenecks.slow_appraisal`,
    read in January."""
    slow_appraisal(platform)
    clock.travel_to(at(2027, 1, 6, 9))
    return platform


def drawing(response) -> dict:
    html = response.get_data(as_text=True)
    return json.loads(unescape(html.split('id="diagram-data">')[1].split("</script>")[0]))


def test_each_step_is_coloured_with_its_times_on_the_diagram(appraisal_is_slow, auth, client):  # noqa: F811
    auth.login("phantich")
    page = client.get(MAP, query_string=DECEMBER)
    assert page.status_code == 200
    data = drawing(page)
    assert data["xml_url"].endswith(f"/studio/procedures/{PROCEDURE}/versions/1/diagram.bpmn")
    assert data["markers"] == {"Task_Appraise": "studio-heat-3", "Task_Approve": "studio-heat-2",
                               "Task_Receive": "studio-heat-1"}
    notes = {n["element"]: n["lines"] for n in data["notes"]}
    assert notes["Task_Appraise"] == ["TB 5.5 giờ · P90 9.0 giờ", "10 việc, quá hạn 20 %"]
    html = text(page)
    row = html.split('data-step="Task_Appraise"')[1].split("</tr>")[0]
    assert "<td>10</td><td>5.5</td><td>9.0</td><td>20.0 %</td>" in row
    assert 'data-step="Task_Supplement"' not in html  # the applicant's time is not the step's
    # The procedure's page leads here; November had nothing finished.
    assert MAP in text(client.get(f"/studio/procedures/{PROCEDURE}"))
    november = client.get(MAP, query_string={"start": "2026-11-01", "end": "2026-11-30"})
    assert drawing(november)["markers"] == {} and "Chưa có bước nào hoàn thành" in text(november)


def test_only_analysts_and_good_periods(appraisal_is_slow, auth, client):  # noqa: F811
    auth.login("phantich")
    backwards = client.get(MAP, query_string={"start": "2026-12-31", "end": "2026-12-01"})
    assert backwards.status_code == 422 and "trước ngày bắt đầu" in text(backwards)
    assert drawing(backwards)["markers"] == {}
    not_a_day = client.get(MAP, query_string={"start": "31/12/2026"})
    assert not_a_day.status_code == 422 and "năm-tháng-ngày" in text(not_a_day)
    assert client.get("/studio/procedures/no-such-procedure/bottlenecks").status_code == 404
    auth.login("lanhdaotinh")
    assert client.get(MAP).status_code == 403


def test_the_map_covers_six_months_to_today_unless_asked(appraisal_is_slow, auth, client):  # noqa: F811
    """Read on 6 January 2027 with no period: August 2026 to that day, December's steps in."""
    auth.login("phantich")
    page = client.get(MAP)
    html = text(page)
    assert 'name="start" value="2026-08-01"' in html and 'value="2027-01-06"' in html
    assert drawing(page)["markers"]["Task_Appraise"] == "studio-heat-3"
