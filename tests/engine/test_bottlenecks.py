"""The bottleneck map from task rows: average, 90th percentile and share late per step."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import insert

from engine import bottlenecks, stats
from engine.models import HumanTask
from tests.engine.test_stats import Rows, at


def slow_appraisal(platform) -> None:
    """Completed task rows of one December 2026 dossier, all given on Wed 2/12 08:00.
    Appraisal: ten tasks of 1…10 hours, due after 8 hours (two late). Reception: 2 hours.
    Approval: 4 hours, within its day. The applicant's supplement: 90 hours."""
    dossier = Rows(platform).add(at(2026, 12, 1, 9), at(2026, 12, 8, 17), at(2026, 12, 4, 10))
    tasks = [("Task_Appraise", "handler", h, 8) for h in range(1, 11)]
    tasks += [("Task_Receive", "reception", 2, 4), ("Task_Approve", "head", 4, 24),
              ("Task_Supplement", "applicant", 90, 1)]
    with platform.db.transaction() as session:
        for spec, role, hours, due in tasks:
            start = at(2026, 12, 2, 8)
            session.execute(insert(HumanTask).values(
                dossier_id=dossier, task_guid=str(uuid.uuid4()), spec_name=spec, title=spec,
                role_code=role, agency_id=None, form=None, properties={}, status="completed",
                created_at=start, due_at=start + timedelta(hours=due),
                completed_at=start + timedelta(hours=hours)))


def test_each_step_has_its_average_p90_and_share_late(platform):
    slow_appraisal(platform)
    span = stats.period(date(2026, 12, 1), date(2026, 12, 31))
    steps = {s["step"]: s for s in bottlenecks.steps(platform, span)}
    assert set(steps) == {"Task_Appraise", "Task_Receive", "Task_Approve"}  # not the applicant's
    appraise = steps["Task_Appraise"]
    assert (appraise["tasks"], appraise["average_hours"], appraise["p90_hours"]) == (10, 5.5, 9.0)
    assert (appraise["late"], appraise["share_late"]) == (2, 0.2)
    assert steps["Task_Receive"]["share_late"] == 0
    # Coloured beside the slowest p90 (9 h): appraisal hot, approval (4 h) warm, reception cool.
    assert {k: s["heat"] for k, s in steps.items()} == {
        "Task_Appraise": 3, "Task_Approve": 2, "Task_Receive": 1}
    assert bottlenecks.steps(platform, stats.period(date(2026, 11, 1), date(2026, 11, 30))) == []


def test_a_quick_step_often_late_is_hot_all_the_same():
    quick = {"p90_hours": 1.0, "share_late": 0.3}
    assert bottlenecks.heat(quick, slowest=30.0) == 3
    assert bottlenecks.heat({**quick, "share_late": 0.1}, slowest=30.0) == 2
    assert bottlenecks.heat({**quick, "share_late": 0.0}, slowest=30.0) == 1
    assert bottlenecks.heat({"p90_hours": 0.0, "share_late": 0.0}, slowest=0.0) == 1
