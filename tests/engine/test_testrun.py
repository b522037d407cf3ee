"""A test run of one dossier on a draft: decisions replayed from the start each time."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine import testrun
from engine.errors import InvalidData

from .test_bundles import files
from .test_whatif import REFUSE, SUPPLEMENT

START = datetime.fromisoformat("2026-12-07T09:00:00+07:00")


def test_the_sample_comes_from_the_bundles_scenario():
    sample = testrun.sample_application(files(), {"application_form": "forms/application.json"})
    assert sample["company_name"] and sample["transport_kinds"]


def test_decisions_taken_by_hand_walk_the_draft_and_draw_the_path(platform):
    bundle = files()
    application = testrun.sample_application(bundle, {})
    first = testrun.run(platform, bundle, application=application, started_at=START,
                        decisions=[])
    assert [s["element"] for s in first["ready"]] == ["Task_Receive"]
    assert first["ready"][0]["form"] == "forms/receive.json"
    decisions = [{"task": "Task_Receive", "data": SUPPLEMENT},
                 {"task": "Task_Supplement", "data": {"supplement_note": "Đã bổ sung."}},
                 {"task": "Task_Receive", "data": REFUSE}]
    done = testrun.run(platform, bundle, application=application, started_at=START,
                       decisions=decisions)
    assert done["completed"] and done["applied"] == 3 and done["ready"] == []
    assert done["path"].count("Task_Receive") == 2 and "Task_Supplement" in done["path"]
    assert "Flow_Reception_Supplement" in done["flows"]
    assert "notify" in done["effects"]  # recorded, not sent
    stale = testrun.run(platform, bundle, application=application, started_at=START,
                        decisions=[{"task": "Task_Approve", "data": {}}])
    assert stale["applied"] == 0


def test_a_decision_its_form_refuses_is_an_error(platform):
    with pytest.raises(InvalidData):
        testrun.run(platform, files(), application={}, started_at=START,
                    decisions=[{"task": "Task_Receive", "data": {"reception_decision": "refuse"}}])
