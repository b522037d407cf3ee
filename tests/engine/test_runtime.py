"""engine.runtime: one action on a dossier is one transaction, all or nothing; a diagram's
failure names its element; an error path that leads back to the failing task stops."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import runtime
from engine.errors import OperatorError, ScriptError
from engine.models import AuditEvent, HumanTask, Instance
from tests.engine.elements.kit import check, deploy, dossier_id, open_tasks, submit

TASK = """<bpmn:userTask id="{id}" name="{id}"><bpmn:extensionElements><spiffworkflow:properties>
<spiffworkflow:property name="formJsonSchemaFilename" value="forms/task.json"/>
</spiffworkflow:properties></bpmn:extensionElements>{flows}</bpmn:userTask>"""


def diagram(name: str, body: str, lanes: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="D_{name}"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{name}" isExecutable="true">
    <bpmn:laneSet id="Lanes"><bpmn:lane id="L_reception" name="reception">{lanes}</bpmn:lane></bpmn:laneSet>
    {body}
  </bpmn:process>
</bpmn:definitions>"""


TWO_TASKS = diagram("two_tasks", TASK.format(id="first", flows=(
    "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>")) + TASK.format(
    id="second", flows="<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>") + """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
    <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="end"/>""",
    lanes="<bpmn:flowNodeRef>first</bpmn:flowNodeRef><bpmn:flowNodeRef>second</bpmn:flowNodeRef>")

FAILING_SCRIPT = diagram("failing_script", TASK.format(id="go", flows=(
    "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>")) + """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="divide"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>share = 100 // len(note or '')</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="go"/>
    <bpmn:sequenceFlow id="f2" sourceRef="go" targetRef="divide"/>
    <bpmn:sequenceFlow id="f3" sourceRef="divide" targetRef="end"/>""",
    lanes="<bpmn:flowNodeRef>go</bpmn:flowNodeRef>")

# The error path of `check` leads back to `check`: caught, retried, caught again…
ENDLESS_RETRY = diagram("endless_retry", TASK.format(id="go", flows=(
    "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>")) + """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="check"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="require"><spiffworkflow:parameters>
        <spiffworkflow:parameter id="condition" type="bool" value="False"/>
        <spiffworkflow:parameter id="code" type="str" value="'NOT_YET'"/>
      </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>r2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:boundaryEvent id="caught" attachedToRef="check"><bpmn:outgoing>r1</bpmn:outgoing>
      <bpmn:errorEventDefinition/></bpmn:boundaryEvent>
    <bpmn:scriptTask id="again"><bpmn:incoming>r1</bpmn:incoming><bpmn:outgoing>r2</bpmn:outgoing>
      <bpmn:script>note = 'again'</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="go"/>
    <bpmn:sequenceFlow id="f2" sourceRef="go" targetRef="check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end"/>
    <bpmn:sequenceFlow id="r1" sourceRef="caught" targetRef="again"/>
    <bpmn:sequenceFlow id="r2" sourceRef="again" targetRef="check"/>""",
    lanes="<bpmn:flowNodeRef>go</bpmn:flowNodeRef>")


def snapshot(p, code: str) -> tuple:
    """What a step may change: the saved workflow, the task rows, the audit trail."""
    with p.db.read() as session:
        ident = dossier_id(p, code)
        return (session.get(Instance, ident).state,
                sorted(session.execute(select(HumanTask.spec_name, HumanTask.status)
                                       .where(HumanTask.dossier_id == ident)).all()),
                session.execute(select(func.count()).select_from(AuditEvent)).scalar())


def complete_ready(step, spec_name: str, data: dict) -> None:
    """Run a ready task as an action; its row, which the action does not settle itself,
    is closed by the step."""
    [task] = [t for t in step.workflow.get_tasks() if t.task_spec.name == spec_name
              and t.state == 16]  # TaskState.READY
    task.set_data(**data)
    step.workflow.run_task_from_id(task.id)


def test_a_step_moves_the_workflow_and_its_rows_together(platform):
    code = submit(platform, deploy(platform, "two_tasks", text=TWO_TASKS))
    assert open_tasks(platform, code) == ["first"]
    runtime.run_step(platform, dossier_id(platform, code),
                     lambda step: complete_ready(step, "first", {"note": "ok"}), actor="test")
    assert open_tasks(platform, code) == ["second"]
    check(platform, code)


def test_an_action_that_fails_changes_nothing(platform):
    code = submit(platform, deploy(platform, "two_tasks", text=TWO_TASKS))
    before = snapshot(platform, code)

    def half_done(step):
        complete_ready(step, "first", {"note": "ok"})
        raise ScriptError("stop here", vi="dừng ở đây")

    with pytest.raises(ScriptError):
        runtime.run_step(platform, dossier_id(platform, code), half_done, actor="test")
    assert snapshot(platform, code) == before


def test_a_step_inside_the_callers_transaction_is_undone_with_it(platform):
    code = submit(platform, deploy(platform, "two_tasks", text=TWO_TASKS))
    before = snapshot(platform, code)
    with pytest.raises(RuntimeError), platform.db.transaction() as session:
        runtime.run_step(platform, dossier_id(platform, code),
                         lambda step: complete_ready(step, "first", {"note": "ok"}),
                         actor="test", session=session)
        raise RuntimeError("the caller fails after the step")
    assert snapshot(platform, code) == before


def test_a_failing_script_names_its_element_and_changes_nothing(platform):
    code = submit(platform, deploy(platform, "failing_script", text=FAILING_SCRIPT))
    before = snapshot(platform, code)
    with pytest.raises(ScriptError) as err:
        runtime.run_step(platform, dossier_id(platform, code),
                         lambda step: complete_ready(step, "go", {"note": ""}), actor="test")
    assert "divide" in err.value.message and "divide" in err.value.vi
    assert err.value.details[0]["element"] == "divide"
    assert snapshot(platform, code) == before


def test_an_error_path_back_to_the_failing_task_stops(platform):
    code = submit(platform, deploy(platform, "endless_retry", text=ENDLESS_RETRY))
    before = snapshot(platform, code)
    with pytest.raises(OperatorError) as err:
        runtime.run_step(platform, dossier_id(platform, code),
                         lambda step: complete_ready(step, "go", {}), actor="test")
    assert err.value.code == "NOT_YET"
    assert snapshot(platform, code) == before


def test_find_task_takes_any_id_and_finds_nothing_for_a_bad_one(platform):
    code = submit(platform, deploy(platform, "two_tasks", text=TWO_TASKS))

    def look(step):
        [ready] = [t for t in step.workflow.get_tasks() if t.task_spec.name == "first"]
        return (runtime.find_task(step.workflow, str(ready.id)) is ready,
                runtime.find_task(step.workflow, "not-a-uuid"),
                runtime.find_task(step.workflow, "00000000-0000-0000-0000-000000000000"))

    assert runtime.run_step(platform, dossier_id(platform, code), look,
                            actor="test") == (True, None, None)


def _approve_after_appraisal(p, statements: list[str], before_approval=lambda: None
                             ) -> HumanTask:
    """The licence up to the head's approval; the statements the approval sends; the
    signing task it opens."""
    from sqlalchemy import event

    from engine import tasks
    from tests.engine.factories import submit as submit_licence
    from tests.scenario import open_task, user

    code = submit_licence(p)
    for spec, who, data in (
            ("Task_Receive", "motcua", {"reception_decision": "accept"}),
            ("Task_Appraise", "chuyenvien", {"recommendation": "approve",
                                             "appraisal_notes": "Đủ điều kiện.",
                                             "licence_number": "GP-56-0009"})):
        tasks.complete(p, user(p, who), open_task(p, code, spec).id, data)
    approve = open_task(p, code, "Task_Approve").id
    before_approval()

    def sent(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(p.db.engine, "before_cursor_execute", sent)
    try:
        tasks.complete(p, user(p, "lanhdao"), approve, {"head_decision": "approve"})
    finally:
        event.remove(p.db.engine, "before_cursor_execute", sent)
    return open_task(p, code, "Task_SignHandler")


def test_the_signing_step_goes_to_who_appraised_as_the_workflow_remembers_it(platform):
    """``sameAssigneeAs``: the workflow keeps who completed each user task, so the step
    that opens the signing task assigns it without asking the task rows."""
    from tests.scenario import user

    statements: list[str] = []
    sign = _approve_after_appraisal(platform, statements)
    assert sign.assignee_id == user(platform, "chuyenvien").id
    assert not [s for s in statements if s.startswith("SELECT human_task.completed_by_id")]


def test_a_workflow_saved_before_it_remembered_assignees_asks_the_task_rows(platform,
                                                                            monkeypatch):
    from tests.scenario import user

    statements: list[str] = []
    sign = _approve_after_appraisal(platform, statements, lambda: monkeypatch.setattr(
        runtime, "COMPLETED_BY", "a key no saved workflow holds"))
    assert sign.assignee_id == user(platform, "chuyenvien").id
    assert [s for s in statements if s.startswith("SELECT human_task.completed_by_id")]
