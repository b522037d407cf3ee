"""The province ↔ district two-way flow: a district dossier's message starts a Department
dossier (a cooperating process with a message start event), whose reply completes the
district dossier; documents travel with the messages; a worker killed between the two
sides loses nothing; deploy refuses what delivery could not run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from engine import accounts, clock, dossier_view, dossiers, lifecycle, tasks, worker
from engine.errors import InvalidBundle
from engine.models import (
    AuditEvent,
    Document,
    Dossier,
    DossierSequence,
    Instance,
    Message,
    WaitingMessage,
)
from engine.procedures import deploy_bundle
from engine.spiff import SPECS
from engine.storage import Upload

DISTRICT = "000.00.14.H56"  # stands for the district office: the procedure's own agency
FINANCE = "000.00.13.H56"  # the Department of Finance: the cooperating side
REPO = Path(__file__).resolve().parents[2]

COLLABORATION = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_toy_coop" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:collaboration id="toy_collaboration">
    <bpmn:participant id="p_district" name="Phòng Tài chính – Kế hoạch" processRef="toy_district"/>
    <bpmn:participant id="p_department" name="Sở Tài chính" processRef="toy_department"/>
    <bpmn:messageFlow id="mf_forward" sourceRef="forward" targetRef="dept_start"/>
    <bpmn:messageFlow id="mf_result" sourceRef="reply" targetRef="wait_result"/>
  </bpmn:collaboration>
  <bpmn:message id="M_forwarded" name="toy.forwarded"/>
  <bpmn:message id="M_result" name="toy.result"/>
  <bpmn:correlationProperty id="district_code" name="district_code">
    <bpmn:correlationPropertyRetrievalExpression messageRef="M_forwarded"><bpmn:formalExpression>dossier_code</bpmn:formalExpression></bpmn:correlationPropertyRetrievalExpression>
    <bpmn:correlationPropertyRetrievalExpression messageRef="M_result"><bpmn:formalExpression>dossier_code</bpmn:formalExpression></bpmn:correlationPropertyRetrievalExpression>
  </bpmn:correlationProperty>
  <bpmn:process id="toy_district" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>d1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateThrowEvent id="forward" name="Chuyển Sở Tài chính">
      <bpmn:incoming>d1</bpmn:incoming><bpmn:outgoing>d2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="def_forward" messageRef="M_forwarded">
        <bpmn:extensionElements><spiffworkflow:messagePayload>{'dossier_code': dossier['code'], 'application': application, 'documents': ['decision']}</spiffworkflow:messagePayload></bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="wait_result" name="Nhận kết quả">
      <bpmn:incoming>d2</bpmn:incoming><bpmn:outgoing>d3</bpmn:outgoing>
      <bpmn:messageEventDefinition id="def_wait" messageRef="M_result">
        <bpmn:extensionElements><spiffworkflow:messageVariable>result</spiffworkflow:messageVariable></bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="returned">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="set_status"><spiffworkflow:parameters>
        <spiffworkflow:parameter id="status" type="str" value="'returned'"/>
      </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>d3</bpmn:incoming><bpmn:outgoing>d4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>d4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="d1" sourceRef="start" targetRef="forward"/>
    <bpmn:sequenceFlow id="d2" sourceRef="forward" targetRef="wait_result"/>
    <bpmn:sequenceFlow id="d3" sourceRef="wait_result" targetRef="returned"/>
    <bpmn:sequenceFlow id="d4" sourceRef="returned" targetRef="end"/>
  </bpmn:process>
  <bpmn:process id="toy_department" isExecutable="true">
    <bpmn:laneSet id="ls_dept"><bpmn:lane id="l_handler" name="handler"><bpmn:flowNodeRef>appraise</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="dept_start" name="Nhận hồ sơ chuyển đến">
      <bpmn:outgoing>s1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="def_dept_start" messageRef="M_forwarded">
        <bpmn:extensionElements><spiffworkflow:messageVariable>request</spiffworkflow:messageVariable></bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="appraise" name="Thẩm định, cấp mã">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" value="forms/appraise.json"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:intermediateThrowEvent id="reply" name="Trả kết quả về huyện">
      <bpmn:incoming>s2</bpmn:incoming><bpmn:outgoing>s3</bpmn:outgoing>
      <bpmn:messageEventDefinition id="def_reply" messageRef="M_result">
        <bpmn:extensionElements><spiffworkflow:messagePayload>{'dossier_code': request['dossier_code'], 'unit_code': unit_code, 'by': dossier['code'], 'documents': ['certificate']}</spiffworkflow:messagePayload></bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="dept_end"><bpmn:incoming>s3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="s1" sourceRef="dept_start" targetRef="appraise"/>
    <bpmn:sequenceFlow id="s2" sourceRef="appraise" targetRef="reply"/>
    <bpmn:sequenceFlow id="s3" sourceRef="reply" targetRef="dept_end"/>
  </bpmn:process>
</bpmn:definitions>
"""

APPLICATION = {"type": "object", "required": ["unit"], "properties": {
    "unit": {"type": "string"}, "decision": {"type": "string", "format": "document"}}}
APPRAISE = {"type": "object", "required": ["unit_code"], "properties": {
    "unit_code": {"type": "string"}, "certificate": {"type": "string", "format": "document"}}}
PDF = b"%PDF-1.4\n% toy\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def bundle(code: str = "toy-coop", *, cooperating=None, diagram: str = COLLABORATION) -> dict:
    meta = {"code": code, "name": {"vi": "Thử liên thông huyện – Sở", "en": "Cooperation test"},
            "agency": DISTRICT, "level": 4, "deadline": {"value": 3, "unit": "working_days"},
            "application_form": "forms/application.json", "process": "process.bpmn",
            "process_id": "toy_district",
            "cooperating": cooperating if cooperating is not None else [
                {"process_id": "toy_department", "agency": FINANCE,
                 "deadline": {"value": 2, "unit": "working_days"}}]}
    return {"procedure.yaml": yaml.safe_dump(meta, allow_unicode=True),
            "forms/application.json": json.dumps(APPLICATION),
            "forms/appraise.json": json.dumps(APPRAISE), "process.bpmn": diagram}


@pytest.fixture
def coop(platform):
    """The toy procedure deployed and an officer of the Department of Finance."""
    deploy_bundle(platform, bundle())
    with platform.db.transaction() as session:
        accounts.create_user(session, username="stc_chuyenvien", password="demo",
                             full_name="Hoàng Văn Thẩm", kind="staff", agency_code=FINANCE,
                             roles=[("handler", FINANCE)])
    return platform


def submit(p) -> str:
    applicant = accounts.find_user(p, "congdan")
    return dossiers.submit(p, applicant, "toy-coop", {"unit": "Trường Mầm non Hoa Sen"},
                           {"decision": Upload("quyet-dinh.pdf", "application/pdf", PDF)})["code"]


def find(session, code: str) -> Dossier:
    return session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()


def children(p, code: str) -> list[Dossier]:
    with p.db.transaction() as session:
        parent = find(session, code)
        return list(session.execute(select(Dossier).where(Dossier.parent_id == parent.id)
                                    .order_by(Dossier.id)).scalars())


def appraise(p, department_code: str) -> None:
    officer = accounts.find_user(p, "stc_chuyenvien")
    [task] = [t for t in tasks.list_tasks(p, officer) if t["dossier_code"] == department_code]
    tasks.complete(p, officer, task["id"], {"unit_code": "1012345"},
                   {"certificate": Upload("giay-chung-nhan.pdf", "application/pdf", PDF + b"%x\n")})


def documents(p, code: str) -> dict[str, Document]:
    with p.db.transaction() as session:
        return {d.name: d for d in session.execute(select(Document).where(
            Document.dossier_id == find(session, code).id)).scalars()}


def test_the_round_trip_district_department_district(coop):
    p = coop
    district = submit(p)
    [forwarded] = [m for m in _messages(p) if m.name == "toy.forwarded"]
    assert forwarded.status == "pending" and forwarded.correlation == district

    assert worker.tick(p)["messages"] == 1
    [department] = children(p, district)
    assert department.code.startswith(f"{FINANCE}-")  # the receiving agency codes its receipt
    assert department.process_id == "toy_department" and department.channel == "online"
    assert department.data == {"unit": "Trường Mầm non Hoa Sen",
                               "decision": department.data["decision"]}
    with p.db.transaction() as session:
        parent = find(session, district)
        assert department.applicant_id == parent.applicant_id
        started = session.execute(select(AuditEvent).where(
            AuditEvent.dossier_id == department.id,
            AuditEvent.action == "started_by_message")).scalar_one()
        assert started.detail["parent"] == district
        message = session.get(Message, forwarded.id)
        assert (message.status, message.receiver_dossier_id) == ("delivered", department.id)
    assert department.due_at == _calendar_add(p, department.received_at, 2)

    # the district's upload travelled with the message: same bytes, a row of its own
    sent, received = documents(p, district)["decision"], documents(p, department.code)["decision"]
    assert (received.sha256, received.storage_key, received.kind) == (
        sent.sha256, sent.storage_key, "generated") and received.id != sent.id

    # the Department's officer sees the task; its start event caught the payload
    officer = accounts.find_user(p, "stc_chuyenvien")
    assert [t["dossier_code"] for t in tasks.list_tasks(p, officer)] == [department.code]
    assert tasks.list_tasks(p, accounts.find_user(p, "chuyenvien")) == []
    appraise(p, department.code)

    assert worker.tick(p)["messages"] == 1
    with p.db.transaction() as session:
        done = find(session, district)
        assert done.status == "processed" and session.get(Instance, done.id).completed
        view = dossier_view.dossier_view(session, done)
        child_view = dossier_view.dossier_view(session, find(session, department.code))
    assert view["children"] == [department.code] and child_view["parent"] == district
    certificate = documents(p, district)["certificate"]
    assert certificate.sha256 == documents(p, department.code)["certificate"].sha256
    assert "certificate" in {d["name"] for d in view["documents"]}
    assert worker.tick(p)["messages"] == 0  # nothing twice, no second Department dossier
    assert len(children(p, district)) == 1


def test_the_start_events_payload_and_correlation_reach_the_new_dossier(coop):
    from tests.engine.elements.kit import data

    p = coop
    district = submit(p)
    worker.tick(p)
    [department] = children(p, district)
    request = data(p, department.code)["request"]
    assert request["dossier_code"] == district and request["documents"] == ["decision"]
    assert data(p, department.code)["dossier"]["code"] == department.code


def _messages(p) -> list[Message]:
    with p.db.transaction() as session:
        return list(session.execute(select(Message).order_by(Message.id)).scalars())


def _calendar_add(p, moment, days):
    from engine.calendar import load_calendar

    with p.db.transaction() as session:
        return load_calendar(session).add(moment, days, "working_days")


def test_a_message_that_starts_nothing_stays_pending_without_error(coop):
    p = coop
    district = submit(p)
    with p.db.transaction() as session:
        sender = find(session, district)
        session.add(Message(name="toy.nobody_starts_this", correlation=district, payload={},
                            status="pending", created_at=clock.now(),
                            sender_dossier_id=sender.id))
    worker.tick(p)
    statuses = {m.name: (m.status, m.last_error) for m in _messages(p)}
    assert statuses["toy.nobody_starts_this"] == ("pending", "")
    assert statuses["toy.forwarded"][0] == "delivered"
    assert len(children(p, district)) == 1


def test_a_start_that_fails_leaves_nothing_but_the_failed_message(coop):
    """The Department's side fails at its first step (here: its diagram reads a key the
    payload lacks). The message is marked failed; no dossier, no code, no audit is left."""
    p = coop
    broken = COLLABORATION
    broken = broken.replace(
        '<bpmn:sequenceFlow id="s1" sourceRef="dept_start" targetRef="appraise"/>',
        '<bpmn:sequenceFlow id="s1" sourceRef="dept_start" targetRef="check"/>'
        '<bpmn:sequenceFlow id="s1b" sourceRef="check" targetRef="appraise"/>').replace(
        '<bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing>',
        '<bpmn:incoming>s1b</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing>').replace(
        '<bpmn:userTask id="appraise"',
        '<bpmn:scriptTask id="check"><bpmn:incoming>s1</bpmn:incoming>'
        '<bpmn:outgoing>s1b</bpmn:outgoing><bpmn:script>unit = request["missing"]</bpmn:script>'
        '</bpmn:scriptTask>\n    <bpmn:userTask id="appraise"')
    deploy_bundle(p, bundle(diagram=broken))
    district = submit(p)
    with p.db.transaction() as session:
        sequences = session.execute(select(func.sum(DossierSequence.last))).scalar()
        audits = session.execute(select(func.count(AuditEvent.id))).scalar()

    assert worker.tick(p)["messages"] == 0
    [message] = [m for m in _messages(p) if m.name == "toy.forwarded"]
    # tried again after a back-off, the failure kept (engine.incidents)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "check" in message.last_error
    assert children(p, district) == []
    with p.db.transaction() as session:
        assert session.execute(select(func.count(Dossier.id))).scalar() == 1
        assert session.execute(select(func.sum(DossierSequence.last))).scalar() == sequences
        assert session.execute(select(func.count(AuditEvent.id))).scalar() == audits


def _worker_process(p) -> subprocess.Popen:
    env = {**os.environ, "MOTCUA_DATABASE_URL": p.settings.database_url,
           "MOTCUA_DATA_DIR": str(p.settings.data_dir), "MOTCUA_SECRET_KEY": "test-secret"}
    motcua = Path(sys.executable).with_name("motcua")
    return subprocess.Popen([str(motcua), "worker", "--interval", "0.2"], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)
    raise AssertionError("the worker did not get there in time")


def _stop(proc: subprocess.Popen, sig: int) -> None:
    proc.send_signal(sig)
    proc.wait(timeout=30)
    proc.stderr.close()


def test_a_worker_killed_between_the_two_sides_and_a_new_one_finish_the_flow(coop):
    p = coop
    district = submit(p)

    first = _worker_process(p)
    try:
        _wait_for(lambda: len(children(p, district)) == 1, first)
    finally:
        _stop(first, signal.SIGKILL)
    [department] = children(p, district)
    appraise(p, department.code)

    second = _worker_process(p)
    try:
        def district_done() -> bool:
            with p.db.transaction() as session:
                return find(session, district).status == "processed"

        _wait_for(district_done, second)
    finally:
        _stop(second, signal.SIGTERM)
    assert len(children(p, district)) == 1
    assert {m.name: m.status for m in _messages(p)} == {"toy.forwarded": "delivered",
                                                       "toy.result": "delivered"}


# -- deploy-time checks --------------------------------------------------------------------

def _problems(p, files) -> list[dict]:
    with pytest.raises(InvalidBundle) as caught:
        deploy_bundle(p, files)
    return caught.value.details


def test_a_cooperating_process_must_exist_and_start_from_a_message(platform):
    problems = _problems(platform, bundle(cooperating=[{"process_id": "toy_nowhere"}]))
    assert any(d["element"] == "cooperating[0].process_id" and "toy_nowhere" in d["message"]
               and "toy_department" in d["message"] for d in problems)

    none_start = COLLABORATION.replace(
        '<bpmn:messageEventDefinition id="def_dept_start" messageRef="M_forwarded">\n'
        '        <bpmn:extensionElements><spiffworkflow:messageVariable>request'
        '</spiffworkflow:messageVariable></bpmn:extensionElements>\n'
        '      </bpmn:messageEventDefinition>\n', "")
    assert none_start != COLLABORATION
    problems = _problems(platform, bundle(diagram=none_start))
    assert any("needs a message start event" in d["message"] for d in problems)


def test_a_message_start_event_outside_a_cooperating_process_is_refused(platform):
    problems = _problems(platform, bundle(cooperating=[]))
    assert any(d["element"] == "dept_start" and "cooperating:" in d["message"]
               for d in problems)


def test_a_cooperating_agency_must_exist(platform):
    problems = _problems(platform, bundle(cooperating=[
        {"process_id": "toy_department", "agency": "000.99.99.H56"}]))
    assert problems == [{"file": "procedure.yaml", "element": "cooperating[0].agency",
                         "message": "no agency with code '000.99.99.H56'",
                         "message_vi": "không có cơ quan mã '000.99.99.H56'"}]


def test_two_procedures_may_not_start_on_the_same_message(platform):
    deploy_bundle(platform, bundle())
    problems = _problems(platform, bundle("toy-coop-copy"))
    [problem] = problems
    assert "toy.forwarded" in problem["message"] and "'toy-coop'" in problem["message"]
    assert "'toy-coop-copy'" in problem["message"]
    # the same procedure's next version may keep its start message
    changed = bundle(diagram=COLLABORATION.replace("Thẩm định, cấp mã", "Thẩm định"))
    assert deploy_bundle(platform, changed)["version"] == 2


def test_the_deployed_version_stores_the_cooperating_process(platform):
    from engine.models import Procedure

    deploy_bundle(platform, bundle())
    with platform.db.transaction() as session:
        version = session.execute(select(Procedure).where(
            Procedure.code == "toy-coop")).scalar_one().active_version
        spec, subs = SPECS.get(version, "toy_department")
        main, _ = SPECS.get(version)
    assert spec.name == "toy_department" and main.name == "toy_district"
    assert "toy_department" in subs


def test_withdrawing_the_district_dossier_ends_the_departments_too(coop):
    p = coop
    district = submit(p)
    worker.tick(p)
    [department] = children(p, district)
    lifecycle.withdraw(p, district, accounts.find_user(p, "congdan"), "Đơn vị đã giải thể.")
    with p.db.transaction() as session:
        assert find(session, department.code).status == "withdrawn"
        ended = session.execute(select(AuditEvent).where(
            AuditEvent.dossier_id == department.id, AuditEvent.action == "withdraw")).scalar_one()
        assert ended.detail["with"] == district
    officer = accounts.find_user(p, "stc_chuyenvien")
    assert tasks.list_tasks(p, officer) == []  # the Department's open step is gone


def test_stopping_the_department_dossier_stops_the_waiting_district_one(coop):
    p = coop
    district = submit(p)
    worker.tick(p)
    [department] = children(p, district)
    with p.db.transaction() as session:
        accounts.create_user(session, username="stc_lanhdao", password="demo",
                             full_name="Lê Văn Duyệt", kind="staff", agency_code=FINANCE,
                             roles=[("head", FINANCE)])
    lifecycle.stop_processing(p, department.code, accounts.find_user(p, "stc_lanhdao"),
                              "Đơn vị đã có mã số.")
    with p.db.transaction() as session:
        parent = find(session, district)
        assert parent.status == "stopped" and parent.finished_at is not None
        assert session.get(Instance, parent.id).state  # saved, nothing waits any more
        assert session.execute(select(WaitingMessage).where(
            WaitingMessage.dossier_id == parent.id)).scalars().all() == []
