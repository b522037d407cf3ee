"""Incidents: a failing timer is retried with back-off, then set aside, shown to the
administrators (e-mail and console) and repaired from there; suspended dossiers wait."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import accounts, audit, clock, incidents, jobs, operators, outbox, tasks
from engine.errors import Conflict, InvalidData, OperatorError
from engine.models import AuditEvent, Outbox, Timer
from tests.engine.elements.kit import (
    bundle,
    check,
    data,
    finished,
    open_rows,
    submit,
    tick,
)
from tests.engine.factories import reception_task
from tests.engine.factories import submit as submit_licence

#: A timer, then a service task that asks an outside registry (down in the tests at first).
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_incident" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="incident" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_1h"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>hours(1)</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:serviceTask id="check_registry" name="Ask the registry">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="ask_registry" resultVariable="answer"><spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_1h"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait_1h" targetRef="check_registry"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check_registry" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

REGISTRY = {"down": True}


@operators.operator
def ask_registry(step, task) -> dict:
    """A stand-in for an outside registry: refuses while ``REGISTRY['down']``."""
    if REGISTRY["down"]:
        raise OperatorError("REGISTRY_DOWN", "The registry does not answer.",
                            vi="Cơ sở dữ liệu quốc gia không trả lời.")
    return {"registry": "ok"}


@pytest.fixture
def incident(platform, monkeypatch):
    """A dossier whose timer is due and whose service task fails: ``(code, timer id)``."""
    from engine.procedures import deploy_bundle

    monkeypatch.setitem(operators.REGISTRY, "ask_registry", ask_registry.operator)
    monkeypatch.setitem(REGISTRY, "down", True)
    procedure = deploy_bundle(platform, bundle("incident", text=DIAGRAM))["code"]
    code = submit(platform, procedure)
    clock.travel(timedelta(hours=1, minutes=1))
    with platform.db.read() as session:
        timer_id = session.execute(select(Timer.id)).scalar_one()
    return code, timer_id


def timer(p, timer_id: int) -> Timer:
    with p.db.read() as session:
        return session.get(Timer, timer_id)


def fail_finally(p) -> None:
    for _ in range(incidents.MAX_ATTEMPTS):
        tick(p)
        clock.travel(timedelta(hours=2))


def test_a_failing_timer_is_retried_with_back_off_before_it_fails(platform, incident):
    code, timer_id = incident
    for attempt in range(1, incidents.MAX_ATTEMPTS):
        before = clock.now()
        tick(platform, code)
        after = clock.now()
        row = timer(platform, timer_id)
        assert (row.status, row.attempts) == ("waiting", attempt)
        assert row.failed_element == "check_registry" and "registry" in row.last_error
        # due again the back-off after the failed try, which happened during the tick
        wait = jobs.backoff(attempt)
        assert before + wait <= row.next_attempt_at <= after + wait
        tick(platform, code)  # not due yet: no new try
        assert timer(platform, timer_id).attempts == attempt
        clock.travel(wait + timedelta(seconds=1))
    assert jobs.backoff(2) == 2 * jobs.backoff(1)  # exponential
    with platform.db.read() as session:
        assert session.execute(select(Outbox).where(Outbox.recipient == "quantri@example.vn")
                               ).first() is None  # nobody is told while it is retried
    tick(platform)  # the last try: the timer is set aside (its row no longer waiting)
    row = timer(platform, timer_id)
    assert (row.status, row.attempts) == ("error", incidents.MAX_ATTEMPTS)
    with platform.db.read() as session:
        [alert] = session.execute(select(Outbox).where(
            Outbox.recipient == "quantri@example.vn")).scalars()
    assert code in alert.subject and "check_registry" in alert.body
    assert "/admin/su-co" in alert.body
    assert not finished(platform, code)


def test_a_failed_timer_is_in_the_console_and_a_retry_completes_the_dossier(platform, incident):
    code, timer_id = incident
    fail_finally(platform)
    [item] = incidents.overview(platform)["failed"]
    assert (item["kind"], item["id"], item["dossier"], item["element"]) == (
        "timer", timer_id, code, "check_registry")
    assert "The registry does not answer" in item["error"]
    REGISTRY["down"] = False  # the registry is back
    incidents.retry(platform, "timer", timer_id, actor="quantri")
    assert incidents.overview(platform)["failed"] == []
    tick(platform, code)
    assert finished(platform, code), data(platform, code)
    assert data(platform, code)["answer"] == {"registry": "ok"}
    with platform.db.read() as session:
        actions = session.execute(select(AuditEvent.action, AuditEvent.actor)
                                  .order_by(AuditEvent.id)).all()
    assert ("incident_retried", "quantri") in actions
    assert audit.verify_chain(platform)["ok"]


def test_skip_passes_over_the_failed_element_with_a_reason(platform, incident):
    code, timer_id = incident
    fail_finally(platform)
    with pytest.raises(InvalidData):
        incidents.skip(platform, "timer", timer_id, reason=" ", actor="quantri")
    incidents.skip(platform, "timer", timer_id, reason="Đã tra cứu thủ công", actor="quantri")
    assert finished(platform, code) and "answer" not in data(platform, code)
    assert timer(platform, timer_id).status == "skipped"
    check(platform, code)
    with platform.db.read() as session:
        detail = session.execute(select(AuditEvent.detail).where(
            AuditEvent.action == "incident_skipped")).scalar_one()
    assert detail["reason"] == "Đã tra cứu thủ công" and detail["element"] == "check_registry"
    with pytest.raises(Conflict):  # nothing left to do
        incidents.cancel(platform, "timer", timer_id, actor="quantri")


def test_a_suspended_dossier_waits_until_resumed(platform, incident):
    code, timer_id = incident
    REGISTRY["down"] = False
    incidents.suspend(platform, code, actor="quantri", reason="Kiểm tra lại hồ sơ")
    assert tick(platform, code)["timers"] == 0
    assert timer(platform, timer_id).status == "waiting"
    assert [d["code"] for d in incidents.overview(platform)["suspended"]] == [code]
    incidents.resume(platform, code, actor="quantri")
    assert tick(platform, code)["timers"] == 1
    assert finished(platform, code)


def test_an_officer_cannot_act_on_a_suspended_dossier(platform):
    code = submit_licence(platform)
    incidents.suspend(platform, code, actor="quantri")
    officer = accounts.find_user(platform, "motcua")
    with pytest.raises(Conflict, match="suspended"):
        tasks.complete(platform, officer, reception_task(platform, code),
                       {"reception_decision": "accept"})
    with pytest.raises(Conflict):
        incidents.suspend(platform, code, actor="quantri")
    incidents.resume(platform, code, actor="quantri")
    tasks.complete(platform, officer, reception_task(platform, code),
                   {"reception_decision": "accept"})
    assert open_rows(platform, code)


def test_an_email_that_fails_finally_alerts_the_administrators_and_no_further(platform):
    with platform.db.transaction() as session:
        outbox.enqueue_email(session, key="thu-1", recipient="congdan@example.vn",
                             subject="Kết quả", body="…")
    platform.settings.smtp_url = "smtp://127.0.0.1:9"  # nothing listens there
    for _ in range(2 * outbox.MAX_ATTEMPTS):
        outbox.send_due(platform)
        clock.travel(timedelta(days=1))
    with platform.db.read() as session:
        rows = {row.idempotency_key: row for row in session.execute(select(Outbox)).scalars()}
    failed = rows.pop("thu-1")
    assert failed.status == "failed"
    [(key, alert)] = rows.items()  # one alert, whose own failure alerted no one
    assert key.startswith(incidents.ALERT_PREFIX) and alert.recipient == "quantri@example.vn"
    assert alert.status == "failed" and "congdan@example.vn" in alert.body
    assert [(i["kind"], i["id"]) for i in incidents.overview(platform)["failed"]] == [
        ("outbox", failed.id), ("outbox", alert.id)]


def test_skipping_a_message_delivers_it_past_the_failed_element(platform):
    from tests.engine.elements.kit import deploy, messages, post_message

    code = submit(platform, deploy(platform, "intermediate"))
    clock.travel(timedelta(hours=2, minutes=1))
    tick(platform, code)
    post_message(platform, "go", code, {"n": 0})  # the script after the catch divides by it
    fail_finally(platform)
    [message] = messages(platform)
    assert (message.status, message.failed_element) == ("error", "use")
    incidents.skip(platform, "message", message.id, reason="Đã tính tay", actor="quantri")
    assert finished(platform, code) and "ratio" not in data(platform, code)
    assert messages(platform)[0].status == "skipped"


def test_a_failed_job_alerts_the_administrators_and_a_retry_produces_it(platform, monkeypatch):
    from tests.engine.test_jobs import accept, produced_once, the_job

    real = jobs.HANDLERS["slip"]

    def broken(p, work):
        raise RuntimeError("the seal's token is not plugged in")

    monkeypatch.setitem(jobs.HANDLERS, "slip", broken)
    code = accept(platform)  # its first try runs after the commit
    for _ in range(jobs.MAX_ATTEMPTS):
        clock.travel(timedelta(hours=1))
        jobs.run_due(platform)
    job = the_job(platform)
    assert job.status == "failed"
    with platform.db.read() as session:
        [alert] = session.execute(select(Outbox).where(
            Outbox.recipient == "quantri@example.vn")).scalars()
    assert code in alert.subject and "token is not plugged in" in alert.body
    assert "/admin/su-co" in alert.body
    [item] = incidents.overview(platform)["failed"]
    assert (item["kind"], item["id"], item["dossier"]) == ("job", job.id, code)
    monkeypatch.setitem(jobs.HANDLERS, "slip", real)  # the token is plugged in again
    incidents.retry(platform, "job", job.id, actor="quantri")
    assert jobs.run_due(platform) == 1
    produced_once(platform, code)
    assert incidents.overview(platform)["failed"] == []
