"""Moving running dossiers to a new version of their procedure: harmless changes move and the
dossier completes on the new diagram; a change to the step a dossier waits on keeps it on
its version, where it still completes; every move is audited and survives save/restore."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from engine import audit, clock, migration, tasks, versions, worker
from engine.errors import NotFound
from engine.models import AuditEvent, Dossier, HumanTask, Timer
from engine.procedures import deploy_bundle
from engine.spiff import SPECS
from tests.engine.factories import PROCEDURE, submit
from tests.engine.test_bundles import files, replace
from tests.scenario import check, check_round_trip, open_task, run_scenario, user

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "bpmn" / PROCEDURE / "scenarios")
                   .glob("*.yaml"))
SCENARIO = yaml.safe_load((SCENARIOS[0].parent / "approve-and-sign.yaml").read_text("utf-8"))
AFTER_RECEPTION = SCENARIO["steps"][1:]  # appraise, approve, sign twice: returned
DUE_IN = "working_days_before(dossier['due_at'], 1)\" />"


@pytest.fixture(autouse=True)
def _thursday():
    clock.travel_to(datetime.fromisoformat(SCENARIO["start_at"]))


@pytest.fixture(autouse=True)
def _fresh_specs():
    """SPECS caches specs by version id; each test's database reuses ids 1, 2…"""
    SPECS.items.clear()
    yield
    SPECS.items.clear()


def accepted(p) -> str:
    """A dossier accepted at reception, now waiting at Task_Appraise."""
    code = submit(p)
    tasks.complete(p, user(p, "motcua"), open_task(p, code, "Task_Receive").id,
                   {"reception_decision": "accept"})
    return code


def walk(p, code: str, steps: list[dict], rename: dict | None = None) -> None:
    """Do scenario steps on ``code`` (tasks, time travel, worker ticks), checking what each
    one expects; ``rename`` maps the scenario's task ids to another version's."""
    rename = rename or {}
    for step in steps:
        if "task" in step:
            actor = user(p, step["as"])
            row = open_task(p, code, rename.get(step["task"], step["task"]))
            if step.get("claim") and row.assignee_id is None:
                tasks.claim(p, actor, row.id)
            tasks.complete(p, actor, row.id, step.get("data", {}),
                           passphrase=step.get("passphrase"))
        if "travel" in step:
            clock.travel(timedelta(**step["travel"]))
        if step.get("tick") or "travel" in step:
            worker.tick(p)
        check_round_trip(p, code)
        expect = dict(step.get("expect", {}))
        if "open" in expect:
            expect["open"] = [rename.get(name, name) for name in expect["open"]]
        check(p, code, expect)


def version_of(p, code: str) -> int:
    with p.db.transaction() as session:
        return session.execute(select(Dossier).where(Dossier.code == code)).scalar_one() \
            .version.number


def rows(p, code: str, model):
    with p.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()
        return session.execute(select(model).where(model.dossier_id == dossier_id)
                               .order_by(model.id)).scalars().all()


def harmless() -> dict:
    """v2: the appraisal step renamed, due two working days before the appointment."""
    bundle = replace("process.bpmn", 'name="Thẩm định hồ sơ"', 'name="Thẩm định, đề xuất"')
    bundle["process.bpmn"] = bundle["process.bpmn"].replace(
        DUE_IN, DUE_IN.replace(", 1)", ", 2)"), 1)
    return bundle


def test_a_dossier_waiting_at_appraisal_moves_and_completes_on_v2(platform):
    code = accepted(platform)
    officer = user(platform, "chuyenvien")
    tasks.claim(platform, officer, open_task(platform, code, "Task_Appraise").id)
    refused = submit(platform)
    tasks.complete(platform, user(platform, "motcua"), open_task(platform, refused, "Task_Receive").id,
                   {"reception_decision": "refuse", "reason": "Thiếu giấy tờ"})
    timers_before = {(t.task_guid, t.spec_name, t.due_at) for t in rows(platform, code, Timer)
                     if t.status == "waiting"}
    assert deploy_bundle(platform, harmless(), actor="phantich")["version"] == 2

    assert migration.preview(platform, PROCEDURE) == [
        {"code": code, "from_version": 1, "to_version": 2, "can_move": True, "reason": "",
         "reason_vi": "", "status": "accepted"}]  # the finished dossier is not listed
    [moved] = migration.migrate(platform, PROCEDURE, actor="phantich")
    assert (moved["code"], moved["moved"], moved["from_version"]) == (code, True, 1)
    assert version_of(platform, code) == 2 and version_of(platform, refused) == 1
    check_round_trip(platform, code)

    row = open_task(platform, code, "Task_Appraise")
    assert row.title == "Thẩm định, đề xuất"  # the open step now reads as v2 says
    assert row.assignee_id == officer.id  # and stays with the officer who claimed it
    assert row.due_at == datetime.fromisoformat("2026-12-08T17:00:00+07:00")  # 2 days before
    assert {(t.task_guid, t.spec_name, t.due_at) for t in rows(platform, code, Timer)
            if t.status == "waiting"} == timers_before  # the deadline timers kept running

    [event] = [e for e in rows(platform, code, AuditEvent) if e.action == "migrate"]
    assert (event.actor, event.detail) == ("phantich", {"from": 1, "to": 2})
    assert audit.verify_chain(platform)["ok"]
    assert [(v["number"], v["dossiers"], v["open_dossiers"])
            for v in versions.list_versions(platform, PROCEDURE)] == [(2, 1, 1), (1, 1, 0)]

    walk(platform, code, AFTER_RECEPTION)
    assert version_of(platform, code) == 2
    again = migration.migrate(platform, PROCEDURE, dossier_codes=[code, refused, "nope"],
                              actor="phantich")
    assert [(r["code"], r["moved"]) for r in again] == [("nope", False), (code, False),
                                                        (refused, False)]
    assert "finished" in again[1]["reason"] and "no dossier" in again[0]["reason"]


def added_step() -> dict:
    """v2: a status update inserted between appraisal and approval."""
    text = files()["process.bpmn"]
    flow = '<bpmn:sequenceFlow id="Flow_Appraise_Approve" sourceRef="Task_Appraise" targetRef="Task_Approve" />'
    task = ('<bpmn:serviceTask id="Task_SetInProgress" name="Cập nhật trạng thái: đang giải quyết">'
            '<bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="set_status">'
            '<spiffworkflow:parameters><spiffworkflow:parameter id="status" type="str" '
            "value=\"'in_progress'\" /></spiffworkflow:parameters>"
            '</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
            '<bpmn:incoming>Flow_Appraise_Approve</bpmn:incoming>'
            '<bpmn:outgoing>Flow_InProgress_Approve</bpmn:outgoing></bpmn:serviceTask>'
            '<bpmn:sequenceFlow id="Flow_Appraise_Approve" sourceRef="Task_Appraise" '
            'targetRef="Task_SetInProgress" />'
            '<bpmn:sequenceFlow id="Flow_InProgress_Approve" sourceRef="Task_SetInProgress" '
            'targetRef="Task_Approve" />')
    approve_in = ("<bpmn:incoming>Flow_Appraise_Approve</bpmn:incoming>\n"
                  "        <bpmn:outgoing>Flow_Approve_Gateway</bpmn:outgoing>")
    assert flow in text and approve_in in text
    text = text.replace(flow, task).replace(
        approve_in, approve_in.replace("Flow_Appraise_Approve", "Flow_InProgress_Approve"))
    return files(**{"process.bpmn": text})


def test_a_step_added_after_the_current_one_is_taken_after_moving(platform):
    code = accepted(platform)
    deploy_bundle(platform, added_step(), actor="phantich")
    assert migration.migrate(platform, PROCEDURE, actor="phantich")[0]["moved"]
    walk(platform, code, AFTER_RECEPTION[:1])  # appraise
    check(platform, code, {"status": "in_progress", "open": ["Task_Approve"]})
    walk(platform, code, AFTER_RECEPTION[1:])


def test_a_version_without_the_waiting_step_keeps_the_dossier_which_completes_on_v1(platform):
    old = accepted(platform)
    renamed = files(**{"process.bpmn": files()["process.bpmn"].replace("Task_Appraise",
                                                                       "Task_Review")})
    deploy_bundle(platform, renamed, actor="phantich")

    [seen] = migration.preview(platform, PROCEDURE)
    assert (seen["code"], seen["can_move"], seen["from_version"]) == (old, False, 1)
    assert "Task_Appraise" in seen["reason"] and "Task_Appraise" in seen["reason_vi"]
    [result] = migration.migrate(platform, PROCEDURE, actor="phantich")
    assert (result["moved"], result["reason"]) == (False, seen["reason"])
    assert version_of(platform, old) == 1
    assert not [e for e in rows(platform, old, AuditEvent) if e.action == "migrate"]
    check_round_trip(platform, old)

    new = accepted(platform)  # submitted after v2: runs on v2
    assert version_of(platform, new) == 2
    assert [r["code"] for r in migration.preview(platform, PROCEDURE)] == [old]
    walk(platform, old, AFTER_RECEPTION)
    walk(platform, new, AFTER_RECEPTION, rename={"Task_Appraise": "Task_Review"})
    assert (version_of(platform, old), version_of(platform, new)) == (1, 2)


def lane_changed() -> dict:
    text = files()["process.bpmn"]
    ref = "<bpmn:flowNodeRef>Task_Appraise</bpmn:flowNodeRef>"
    head = "<bpmn:flowNodeRef>Task_Approve</bpmn:flowNodeRef>"
    return files(**{"process.bpmn": text.replace(ref, "", 1).replace(head, head + ref, 1)})


def timer_changed() -> dict:
    return replace("process.bpmn", "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">"
                   "dossier['due_at']</bpmn:timeDate>",
                   "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">"
                   "working_days(1, dossier['due_at'])</bpmn:timeDate>")


def event_added() -> dict:
    extra = ('<bpmn:boundaryEvent id="Timer_Escalate" cancelActivity="false" '
             'attachedToRef="SubProcess_Solve"><bpmn:outgoing>Flow_Escalate</bpmn:outgoing>'
             '<bpmn:timerEventDefinition id="TimerDef_Escalate"><bpmn:timeDate '
             'xsi:type="bpmn:tFormalExpression">dossier[\'due_at\']</bpmn:timeDate>'
             '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
             '<bpmn:endEvent id="End_Escalate"><bpmn:incoming>Flow_Escalate</bpmn:incoming>'
             '</bpmn:endEvent><bpmn:sequenceFlow id="Flow_Escalate" sourceRef="Timer_Escalate" '
             'targetRef="End_Escalate" />\n  </bpmn:process>')
    return replace("process.bpmn", "</bpmn:process>", extra)


@pytest.mark.parametrize("bundle, element, what", [
    (lane_changed, "Task_Appraise", "lane"),
    (timer_changed, "Timer_Late", "timer"),
    (event_added, "SubProcess_Solve", "branches"),
])
def test_an_incompatible_change_blocks_only_the_dossiers_it_touches(platform, bundle, element,
                                                                     what):
    waiting = accepted(platform)
    at_reception = submit(platform)
    deploy_bundle(platform, bundle(), actor="phantich")

    seen = {r["code"]: r for r in migration.preview(platform, PROCEDURE)}
    assert not seen[waiting]["can_move"]
    assert element in seen[waiting]["reason"] and what in seen[waiting]["reason"]
    assert seen[at_reception]["can_move"], seen[at_reception]["reason"]

    results = {r["code"]: r for r in migration.migrate(platform, PROCEDURE, actor="phantich")}
    assert (results[waiting]["moved"], results[at_reception]["moved"]) == (False, True)
    assert (version_of(platform, waiting), version_of(platform, at_reception)) == (1, 2)
    for code in (waiting, at_reception):
        check_round_trip(platform, code)

    tasks.complete(platform, user(platform, "motcua"),
                   open_task(platform, at_reception, "Task_Receive").id,
                   {"reception_decision": "accept"})
    role = "head" if bundle is lane_changed else "handler"
    assert open_task(platform, at_reception, "Task_Appraise").role_code == role
    expected_timers = ["Timer_Late", "Timer_WarnDue"] + (
        ["Timer_Escalate"] if bundle is event_added else [])
    check(platform, at_reception, {"timers": expected_timers})
    walk(platform, waiting, AFTER_RECEPTION)


def test_moving_to_an_older_version_and_unknown_versions(platform):
    code = accepted(platform)
    deploy_bundle(platform, harmless(), actor="phantich")
    assert migration.migrate(platform, PROCEDURE, actor="phantich")[0]["moved"]
    [back] = migration.migrate(platform, PROCEDURE, to_version=1, actor="phantich")
    assert (back["moved"], back["from_version"], back["to_version"]) == (True, 2, 1)
    assert open_task(platform, code, "Task_Appraise").title == "Thẩm định hồ sơ"
    check_round_trip(platform, code)
    with pytest.raises(NotFound):
        migration.preview(platform, PROCEDURE, to_version=7)
    with pytest.raises(NotFound):
        migration.migrate(platform, "no-such-procedure", actor="phantich")
    assert not [t for t in rows(platform, code, HumanTask) if t.status == "cancelled"]


CUTS = [(path, cut) for path in SCENARIOS
        for cut in range(len(yaml.safe_load(path.read_text("utf-8"))["steps"]))]


@pytest.mark.parametrize("path, cut", CUTS, ids=[f"{p.stem}-{c}" for p, c in CUTS])
def test_a_dossier_moved_before_any_step_of_a_scenario_finishes_it_on_v2(platform, path, cut):
    """Every scenario, interrupted before its step ``cut``: the dossier moves to v2 (supplement
    loop, timers fired or waiting, licence half signed…) and the rest of the scenario holds."""
    scenario = yaml.safe_load(path.read_text("utf-8"))
    code = run_scenario(platform, {**scenario, "steps": scenario["steps"][:cut]})
    deploy_bundle(platform, harmless(), actor="phantich")
    [moved] = migration.migrate(platform, PROCEDURE, actor="phantich")
    assert moved["moved"], moved["reason"]
    check_round_trip(platform, code)
    walk(platform, code, scenario["steps"][cut:])
    check(platform, code, {"finished": True})
    assert version_of(platform, code) == 2


def test_multi_instance_rows_are_the_same_after_a_step_and_after_a_move(platform):
    """A step and a migration write an open row from the same function: the instance's item
    stays in the title and the properties when the dossier moves to a new version."""
    from tests.engine.elements.kit import bundle
    from tests.engine.elements.kit import submit as submit_element

    files_v1 = bundle("multi_instance")
    code = deploy_bundle(platform, files_v1)["code"]
    dossier = submit_element(platform, code, {"vehicles": ["36A-12345", "36C-67890"]})

    def open_rows():
        with platform.db.transaction() as session:
            dossier_id = session.execute(select(Dossier.id).where(Dossier.code == dossier)).scalar()
            found = session.execute(select(HumanTask).where(HumanTask.dossier_id == dossier_id,
                                                            HumanTask.status == "open")
                                    .order_by(HumanTask.task_guid)).scalars().all()
            return [(r.task_guid, r.title, r.properties.get("instance"), r.form) for r in found]

    after_step = open_rows()
    assert sorted(title for _, title, _, _ in after_step) == [
        "Inspect vehicle — 36A-12345", "Inspect vehicle — 36C-67890"]
    files_v2 = dict(files_v1)
    files_v2["process.bpmn"] = files_v1["process.bpmn"].replace(
        'name="File the papers"', 'name="File the papers (v2)"')
    deploy_bundle(platform, files_v2)
    [moved] = migration.migrate(platform, code, actor="phantich")
    assert moved["moved"], moved
    assert open_rows() == after_step
    check_round_trip(platform, dossier)
