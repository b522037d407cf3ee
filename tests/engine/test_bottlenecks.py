"""The bottleneck map from task rows: average, 90th percentile and share late per step."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import insert

from engine import bottlenecks, stats
from engine.models import HumanTask
from tests.engine.test_stats import Rows, at


def test_each_step_has_its_average_p90_and_share_late(platform):
    rows = Rows(platform)
    dossier = rows.add(at(2026, 12, 1, 9), at(2026, 12, 8, 17), at(2026, 12, 4, 10))
    # Appraisal: ten tasks of 1…10 hours, due after 8 hours: two late. Reception: 2 hours.
    tasks = [("Task_Appraise", "handler", h, 8) for h in range(1, 11)]
    tasks += [("Task_Receive", "reception", 2, 4), ("Task_Supplement", "applicant", 90, 1)]
    with platform.db.transaction() as session:
        for spec, role, hours, due in tasks:
            start = at(2026, 12, 2, 8)
            session.execute(insert(HumanTask).values(
                dossier_id=dossier, task_guid=str(uuid.uuid4()), spec_name=spec, title=spec,
                role_code=role, agency_id=None, form=None, properties={}, status="completed",
                created_at=start, due_at=start + timedelta(hours=due),
                completed_at=start + timedelta(hours=hours)))
    span = stats.period(date(2026, 12, 1), date(2026, 12, 31))
    steps = {s["step"]: s for s in bottlenecks.steps(platform, span)}
    assert set(steps) == {"Task_Appraise", "Task_Receive"}  # the applicant's time is not theirs
    appraise = steps["Task_Appraise"]
    assert (appraise["tasks"], appraise["average_hours"], appraise["p90_hours"]) == (10, 5.5, 9.0)
    assert (appraise["late"], appraise["share_late"]) == (2, 0.2)
    assert steps["Task_Receive"]["share_late"] == 0
    assert bottlenecks.steps(platform, stats.period(date(2026, 11, 1), date(2026, 11, 30))) == []
