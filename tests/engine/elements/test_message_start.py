"""Message start events: a cooperating process, here in a .bpmn file of its own, is started
by another dossier's message in a dossier of its own; the start event's payload and
correlation behave like any catch event's; where a message start event cannot run, deploy
says so."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from engine.errors import InvalidBundle
from engine.models import Dossier
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import (
    AGENCY,
    bundle,
    check,
    complete,
    data,
    finished,
    messages,
    open_tasks,
    post_message,
    submit,
    tick,
    waiting,
)

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'id="Definitions_{name}" targetNamespace="http://bpmn.io/schema/bpmn">\n'
        '<bpmn:message id="M_ask" name="ms.ask"/><bpmn:message id="M_answer" name="ms.answer"/>'
        '<bpmn:correlationProperty id="asker" name="asker">'
        '<bpmn:correlationPropertyRetrievalExpression messageRef="M_ask"><bpmn:formalExpression>'
        'dossier_code</bpmn:formalExpression></bpmn:correlationPropertyRetrievalExpression>'
        '<bpmn:correlationPropertyRetrievalExpression messageRef="M_answer"><bpmn:formalExpression>'
        'dossier_code</bpmn:formalExpression></bpmn:correlationPropertyRetrievalExpression>'
        '</bpmn:correlationProperty>\n')

ASKER = HEAD.format(name="asker") + """
<bpmn:process id="ms_asker" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>a1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sendTask id="ask" messageRef="M_ask">
    <bpmn:extensionElements><spiffworkflow:messagePayload>{'dossier_code': dossier['code'], 'question': application['target']}</spiffworkflow:messagePayload></bpmn:extensionElements>
    <bpmn:incoming>a1</bpmn:incoming><bpmn:outgoing>a2</bpmn:outgoing>
  </bpmn:sendTask>
  <bpmn:receiveTask id="wait_answer" messageRef="M_answer">
    <bpmn:extensionElements><spiffworkflow:messageVariable>answer</spiffworkflow:messageVariable></bpmn:extensionElements>
    <bpmn:incoming>a2</bpmn:incoming><bpmn:outgoing>a3</bpmn:outgoing>
  </bpmn:receiveTask>
  <bpmn:endEvent id="end"><bpmn:incoming>a3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="a1" sourceRef="start" targetRef="ask"/>
  <bpmn:sequenceFlow id="a2" sourceRef="ask" targetRef="wait_answer"/>
  <bpmn:sequenceFlow id="a3" sourceRef="wait_answer" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
"""

ANSWERER = HEAD.format(name="answerer") + """
<bpmn:process id="ms_answerer" isExecutable="true">
  <bpmn:laneSet id="ls"><bpmn:lane id="l_head" name="head"><bpmn:flowNodeRef>decide</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="asked">
    <bpmn:outgoing>b1</bpmn:outgoing>
    <bpmn:messageEventDefinition id="def_asked" messageRef="M_ask">
      <bpmn:extensionElements><spiffworkflow:messageVariable>question</spiffworkflow:messageVariable></bpmn:extensionElements>
    </bpmn:messageEventDefinition>
  </bpmn:startEvent>
  <bpmn:userTask id="decide" name="Trả lời">
    <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" value="forms/task.json"/></spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:incoming>b1</bpmn:incoming><bpmn:outgoing>b2</bpmn:outgoing>
  </bpmn:userTask>
  <bpmn:endEvent id="answered">
    <bpmn:incoming>b2</bpmn:incoming>
    <bpmn:messageEventDefinition id="def_answer" messageRef="M_answer">
      <bpmn:extensionElements><spiffworkflow:messagePayload>{'dossier_code': question['dossier_code'], 'result': result}</spiffworkflow:messagePayload></bpmn:extensionElements>
    </bpmn:messageEventDefinition>
  </bpmn:endEvent>
  <bpmn:sequenceFlow id="b1" sourceRef="asked" targetRef="decide"/>
  <bpmn:sequenceFlow id="b2" sourceRef="decide" targetRef="answered"/>
</bpmn:process>
</bpmn:definitions>
"""


def two_files(cooperating=({"process_id": "ms_answerer"},), answerer: str = ANSWERER) -> dict:
    files = bundle("ms_asker", text=ASKER)
    files["answerer.bpmn"] = answerer
    meta = yaml.safe_load(files["procedure.yaml"])
    meta["cooperating"] = list(cooperating)
    files["procedure.yaml"] = yaml.safe_dump(meta, allow_unicode=True)
    return files


def started_by(p, code: str) -> list[str]:
    with p.db.transaction() as session:
        parent = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        return list(session.execute(select(Dossier.code).where(Dossier.parent_id == parent.id)
                                    .order_by(Dossier.id)).scalars())


def test_a_process_in_another_file_is_started_and_answers_back(platform):
    procedure = deploy_bundle(platform, two_files())["code"]
    asker = submit(platform, procedure, {"target": "Mã số có còn trống?"})
    assert waiting(platform, asker) == [("wait_answer", "ms.answer", asker)]
    [ask] = messages(platform, name="ms.ask")
    assert (ask.status, ask.correlation) == ("pending", asker)

    assert tick(platform, asker)["messages"] == 1
    [answerer] = started_by(platform, asker)
    check(platform, answerer)  # saved state restores onto the cooperating process's spec
    assert answerer.startswith(f"{AGENCY}-")  # no agency given: the procedure's own
    assert open_tasks(platform, answerer) == ["decide"]
    assert data(platform, answerer)["question"] == {"dossier_code": asker,
                                                   "question": "Mã số có còn trống?"}
    assert waiting(platform, answerer) == []  # the start event no longer waits

    complete(platform, answerer, "decide", {"result": "còn trống"})
    assert finished(platform, answerer)
    [answer] = messages(platform, name="ms.answer")
    assert answer.correlation == asker  # learnt from the starting message's payload
    assert tick(platform, asker)["messages"] == 1
    assert finished(platform, asker)
    assert data(platform, asker)["answer"] == {"dossier_code": asker, "result": "còn trống"}


def test_each_message_starts_its_own_dossier(platform):
    procedure = deploy_bundle(platform, two_files())["code"]
    first = submit(platform, procedure, {"target": "một"})
    second = submit(platform, procedure, {"target": "hai"})
    assert tick(platform)["messages"] == 2
    assert len(started_by(platform, first)) == 1 and len(started_by(platform, second)) == 1
    assert started_by(platform, first) != started_by(platform, second)


def test_a_message_without_a_sending_dossier_cannot_start_one(platform):
    deploy_bundle(platform, two_files())
    message_id = post_message(platform, "ms.ask", "OUTSIDE-1", {"dossier_code": "OUTSIDE-1"})
    assert tick(platform)["messages"] == 0
    [message] = [m for m in messages(platform) if m.id == message_id]
    # tried again after a back-off, the failure kept (engine.incidents)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "no applicant" in message.last_error


def test_a_message_start_event_inside_a_sub_process_is_refused(platform):
    nested = ANSWERER.replace(
        '<bpmn:sequenceFlow id="b1" sourceRef="asked" targetRef="decide"/>',
        '<bpmn:sequenceFlow id="b1" sourceRef="asked" targetRef="decide"/>'
        '<bpmn:subProcess id="inner"><bpmn:startEvent id="inner_start">'
        '<bpmn:messageEventDefinition messageRef="M_ask"/></bpmn:startEvent></bpmn:subProcess>')
    with pytest.raises(InvalidBundle) as caught:
        deploy_bundle(platform, two_files(answerer=nested))
    assert any(d["element"] == "inner_start" and d["file"] == "answerer.bpmn"
               and "cooperating:" in d["message"] for d in caught.value.details)


def test_a_cooperating_process_with_a_none_start_too_is_refused(platform):
    both = ANSWERER.replace('<bpmn:startEvent id="asked">',
                            '<bpmn:startEvent id="plain"/><bpmn:startEvent id="asked">')
    with pytest.raises(InvalidBundle) as caught:
        deploy_bundle(platform, two_files(answerer=both))
    assert [(d["file"], d["element"]) for d in caught.value.details] == [
        ("answerer.bpmn", "plain")]
    assert "must be a message start event too" in caught.value.details[0]["message"]


@pytest.mark.parametrize("entry, where", [
    ("ms_answerer", "cooperating[0]"),
    ({"process_id": "ms_answerer", "deadline": {"value": -1, "unit": "working_days"}},
     "cooperating[0].deadline"),
    ({"process_id": "ms_asker"}, "cooperating"),
])
def test_the_cooperating_list_is_checked(platform, entry, where):
    with pytest.raises(InvalidBundle) as caught:
        deploy_bundle(platform, two_files(cooperating=[entry]))
    assert where in [d["element"] for d in caught.value.details]
