"""Where is this dossier: the elements passed, the flows taken, the open step with its role
and holder, and the waiting timers, for the people who may see the dossier."""

from datetime import datetime

import pytest
from sqlalchemy import select

from engine import clock, inspect, tasks
from engine.errors import NotFound, PermissionDenied
from engine.models import Dossier, Timer
from engine.spiff import SPECS
from tests.engine.factories import submit
from tests.engine.test_migration import SCENARIO
from tests.scenario import open_task, user


@pytest.fixture(autouse=True)
def _fresh_specs():
    SPECS.items.clear()  # cached by version id, which each test's database reuses
    yield
    SPECS.items.clear()


@pytest.fixture
def appraised(platform) -> str:
    """A dossier accepted at reception and appraised: waiting for the head's approval."""
    clock.travel_to(datetime.fromisoformat(SCENARIO["start_at"]))
    code = submit(platform)
    tasks.complete(platform, user(platform, "motcua"), open_task(platform, code, "Task_Receive").id,
                   {"reception_decision": "accept"})
    officer = user(platform, "chuyenvien")
    row = open_task(platform, code, "Task_Appraise")
    tasks.claim(platform, officer, row.id)
    tasks.complete(platform, officer, row.id, SCENARIO["steps"][1]["data"])
    return code


def test_trace_after_accept_and_appraise(platform, appraised):
    head = user(platform, "lanhdao")
    tasks.claim(platform, head, open_task(platform, appraised, "Task_Approve").id)
    seen = inspect.trace(platform, appraised, user(platform, "phantich"))

    assert (seen["code"], seen["procedure"], seen["version"], seen["status"]) == (
        appraised, "transport-business-licence", 1, "accepted")
    assert seen["bpmn"].startswith("<?xml") and 'id="Task_Appraise"' in seen["bpmn"]
    done = seen["completed"]
    assert done.index("Task_Receive") < done.index("Gateway_Reception") \
        < done.index("Start_Solve") < done.index("Task_Appraise")
    assert done.count("Task_Appraise") == 1 and "Task_Approve" not in done
    assert {"Flow_Receive_Gateway", "Flow_Reception_Accept", "Flow_Solve_Start",
            "Flow_Appraise_Approve"} <= set(seen["taken_flows"])
    assert "Flow_Reception_Refuse" not in seen["taken_flows"]

    [active] = seen["active"]
    assert (active["element"], active["role"], active["assignee"], active["assignee_name"]) == (
        "Task_Approve", "head", "lanhdao", head.full_name)
    assert active["title"] == "Phê duyệt"
    assert datetime.fromisoformat(active["due_at"]) == open_task(
        platform, appraised, "Task_Approve").due_at

    with platform.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == appraised)).scalar()
        rows = {t.spec_name: t.due_at for t in session.execute(select(Timer).where(
            Timer.dossier_id == dossier_id, Timer.status == "waiting")).scalars()}
    assert {t["element"]: datetime.fromisoformat(t["due_at"]) for t in seen["timers"]} == rows
    assert set(rows) == {"Timer_WarnDue", "Timer_Late"}


def test_who_may_see_the_trace(platform, appraised):
    for name in ("chuyenvien", "lanhdao", "motcua", "phantich", "quantri", "doanhnghiep"):
        assert inspect.trace(platform, appraised, user(platform, name))["code"] == appraised
    with pytest.raises(PermissionDenied):
        inspect.trace(platform, appraised, user(platform, "congdan"))  # not the applicant
    with pytest.raises(PermissionDenied):
        inspect.trace(platform, appraised, None)
    with pytest.raises(NotFound):
        inspect.trace(platform, "000.00.14.H56-000000-0000", user(platform, "phantich"))


def test_trace_of_a_returned_loop_and_a_finished_dossier(platform, appraised):
    head = user(platform, "lanhdao")
    tasks.complete(platform, head, open_task(platform, appraised, "Task_Approve").id,
                   {"head_decision": "return", "head_comment": "Bổ sung thẩm định"})
    seen = inspect.trace(platform, appraised, head)
    assert seen["completed"].count("Task_Appraise") == 1
    assert [a["element"] for a in seen["active"]] == ["Task_Appraise"]
    assert "Flow_Head_Return" in seen["taken_flows"]

    officer = user(platform, "chuyenvien")
    tasks.complete(platform, officer, open_task(platform, appraised, "Task_Appraise").id,
                   {**SCENARIO["steps"][1]["data"], "recommendation": "refuse"})
    tasks.complete(platform, head, open_task(platform, appraised, "Task_Approve").id,
                   {"head_decision": "refuse", "head_comment": "Không đủ điều kiện"})
    seen = inspect.trace(platform, appraised, officer)
    assert seen["completed"].count("Task_Appraise") == 2
    assert seen["completed"][-1] == "End_RefusedByHead"
    assert (seen["active"], seen["timers"], seen["status"], seen["finished"]) == (
        [], [], "refused", True)
