"""engine.step.rows: the rows a workflow needs, from the workflow alone (no database)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.calendar import WorkingCalendar
from engine.scripting import MotcuaScriptEngine, make_evaluator
from engine.spiff import MotcuaWorkflow
from engine.step import rows

DIAGRAMS = Path(__file__).resolve().parent.parent / "elements" / "diagrams"
CODE = "000.00.14.H56-261207-0001"


def workflow(name: str, data: dict | None = None, *, extra: tuple[str, ...] = ()
             ) -> MotcuaWorkflow:
    parser = SpiffBpmnParser()
    for file in (name, *extra):
        parser.add_bpmn_file(str(DIAGRAMS / f"{file}.bpmn"))
    engine = MotcuaScriptEngine(None, make_evaluator(WorkingCalendar()))
    wf = MotcuaWorkflow(parser.get_spec(name), parser.get_subprocess_specs(name),
                        script_engine=engine)
    for task in wf.get_tasks(state=TaskState.READY):
        task.set_data(**(data or {}))
    wf.do_engine_steps()
    return wf


def ready(wf, spec_name: str):
    return [t for t in wf.get_tasks(state=TaskState.READY, manual=True)
            if t.task_spec.bpmn_id == spec_name]


def test_a_waiting_user_task_needs_its_row_its_timer_and_its_message_wait():
    wf = workflow("boundary_on_task")
    need = rows.wanted(wf, CODE)
    (review,) = ready(wf, "review")
    assert list(need.tasks) == [str(review.id)]
    (timer,) = need.timers.values()
    assert timer.spec_name == "remind"
    assert clock.now() + timedelta(hours=1) < timer.due_at <= clock.now() + timedelta(days=3)
    ((guid, message), wait), = need.waits.items()
    assert (message, wait.spec_name, wait.correlation) == ("withdraw", "withdrawn", CODE)


def test_completing_the_task_leaves_nothing_to_wait_for():
    wf = workflow("boundary_on_task")
    before = rows.wanted(wf, CODE)
    (review,) = ready(wf, "review")
    review.run()
    wf.do_engine_steps()
    after = rows.wanted(wf, CODE)
    assert after.tasks == {} and after.timers == {} and after.waits == {}
    # the boundary timer did not fire: its event was cancelled with the task
    (guid,) = before.timers
    timer_task = next(t for t in wf.get_tasks() if str(t.id) == guid)
    assert not timer_task.has_state(TaskState.COMPLETED)


def test_multi_instance_tasks_are_told_apart_by_their_item():
    wf = workflow("multi_instance", {"application": {"vehicles": ["36A-12345", "36C-67890"]}})
    need = rows.wanted(wf, CODE)
    described = sorted(rows.describe(task)["title"] for task in need.tasks.values())
    assert described == ["Inspect vehicle — 36A-12345", "Inspect vehicle — 36C-67890"]
    labels = sorted(rows.describe(t)["properties"]["instance"] for t in need.tasks.values())
    assert labels == ["36A-12345", "36C-67890"]


def test_a_new_row_takes_its_columns_from_the_spec_and_the_dossier():
    wf = workflow("boundary_on_task")
    (review,) = ready(wf, "review")
    now = clock.now()
    values = rows.human_task_values(review, dossier_id=7, agency_id=3, applicant_id=11,
                                    evaluate=wf.script_engine.evaluate,
                                    earlier_assignee=lambda name: pytest.fail("not asked"),
                                    now=now)
    assert values == {"dossier_id": 7, "task_guid": str(review.id), "spec_name": "review",
                      "title": "Review", "role_code": "handler", "agency_id": 3,
                      "assignee_id": None, "form": "forms/task.json",
                      "properties": {"formJsonSchemaFilename": "forms/task.json"},
                      "status": "open", "created_at": now, "due_at": None}


def test_due_dates_and_same_assignee_come_from_the_task_properties():
    wf = workflow("boundary_on_task")
    (review,) = ready(wf, "review")
    review.task_spec.extensions = {"properties": {"dueIn": "hours(4)",
                                                  "sameAssigneeAs": "appraise"}}
    asked = []
    values = rows.human_task_values(review, dossier_id=7, agency_id=3, applicant_id=11,
                                    evaluate=wf.script_engine.evaluate,
                                    earlier_assignee=lambda name: asked.append(name) or 42,
                                    now=clock.now())
    assert asked == ["appraise"] and values["assignee_id"] == 42
    assert clock.now() < values["due_at"] <= clock.now() + timedelta(days=3)


def test_an_applicant_task_belongs_to_the_applicant_not_to_an_agency():
    wf = workflow("boundary_on_task")
    (review,) = ready(wf, "review")
    review.task_spec.lane = "applicant"
    values = rows.human_task_values(review, dossier_id=7, agency_id=3, applicant_id=11,
                                    evaluate=wf.script_engine.evaluate,
                                    earlier_assignee=lambda name: None, now=clock.now())
    assert (values["role_code"], values["agency_id"], values["assignee_id"]) == \
        ("applicant", None, 11)


@pytest.mark.parametrize(("value", "expected"), [
    ("2027-02-17T17:00:00+07:00", "2027-02-17T10:00:00+00:00"),
    ("2027-02-17T17:00:00", "2027-02-17T10:00:00+00:00"),  # naive: Vietnam time
    ({"next": "2027-02-17T17:00:00+07:00"}, "2027-02-17T10:00:00+00:00"),
])
def test_timer_values_become_aware_moments(value, expected):
    from datetime import UTC
    assert rows.moment(value).astimezone(UTC).isoformat() == expected
