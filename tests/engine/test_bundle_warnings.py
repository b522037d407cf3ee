"""Suspicious but deployable choices in a diagram (:mod:`engine.bundle_warnings`)."""

from __future__ import annotations

from lxml import etree

from engine.bundle_warnings import find

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">
  <bpmn:collaboration id="c"><bpmn:participant id="p" processRef="proc"/></bpmn:collaboration>
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="l1" name="applicant"><bpmn:flowNodeRef>fill</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>receive</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="reception"><bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:userTask id="fill" name="Khai tờ khai">{form}</bpmn:userTask>
    <bpmn:userTask id="receive" name="TIẾP NHẬN hồ sơ">{form}</bpmn:userTask>
    <bpmn:userTask id="check" name="Kiểm tra">{check_form}</bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" {default}/>
    <bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="fill">
      <bpmn:conditionExpression>ok</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="check">
      <bpmn:conditionExpression>not ok</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>"""
FORM = ("<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="form.json"/></spiffworkflow:properties>'
        "</bpmn:extensionElements>")


def warnings(*, check_form: str = FORM, default: str = "") -> list[tuple[str, str, str]]:
    text = DIAGRAM.format(form=FORM, check_form=check_form, default=default)
    root = etree.fromstring(text.encode("utf-8"))
    return find({"process.bpmn": root}, lambda *problem: problem)


def test_an_officers_step_in_the_applicants_lane_and_a_gateway_without_default():
    found = warnings()
    assert [(element, message.split(":")[0]) for _, element, message in found] == [
        ("receive", "a reception or approval step in the applicant's lane"),
        ("gw", "a gateway without a default flow")]
    assert all(file == "process.bpmn" for file, _, _ in found)


def test_a_default_flow_silences_the_gateway_and_a_formless_task_is_named():
    found = warnings(check_form="", default='default="no"')
    assert [element for _, element, _ in found] == ["receive", "check"]
    assert "no form" in found[1][2]


def test_an_approval_step_in_the_applicants_lane_is_named_too():
    text = DIAGRAM.format(form=FORM, check_form=FORM, default='default="no"').replace(
        'name="TIẾP NHẬN hồ sơ"', 'name="Lãnh đạo phê duyệt"')
    found = find({"process.bpmn": etree.fromstring(text.encode("utf-8"))},
                 lambda *problem: problem)
    assert [(element, message.split(":")[0]) for _, element, message in found] == [
        ("receive", "a reception or approval step in the applicant's lane")]
    assert "'Lãnh đạo phê duyệt' is done by the applicant" in found[0][2]
