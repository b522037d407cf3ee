"""What the platform cannot run is refused at deploy time, naming the file, the element and
what to draw instead; nothing of it is discovered by a citizen at run time."""

import pytest

from engine.errors import InvalidBundle
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import DIAGRAMS, bundle

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'id="Definitions_refuse" targetNamespace="http://bpmn.io/schema/bpmn">')
IO = "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
MESSAGE = '<bpmn:message id="m" name="ping"/>'
ERROR = '<bpmn:error id="err" name="Bad" errorCode="BAD"/>'


def diagram(body: str, defs: str = "", lanes: str = "", extra: str = "") -> str:
    """A process start → x → end with the element ``x`` (and anything else) in ``body``."""
    return (f'{HEAD}{defs}<bpmn:process id="refuse" isExecutable="true">{lanes}'
            '<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
            f'{body}<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="x"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="e"/>'
            f'</bpmn:process>{extra}</bpmn:definitions>')


def catch(definition: str, tag: str = "intermediateCatchEvent") -> str:
    return f'<bpmn:{tag} id="x">{IO}{definition}</bpmn:{tag}>'


TASK = f'<bpmn:task id="x">{IO}</bpmn:task>'
CASES = {
    "signal start": (diagram(TASK + '<bpmn:startEvent id="y"><bpmn:signalEventDefinition '
                             'signalRef="sig"/></bpmn:startEvent>', '<bpmn:signal id="sig" '
                             'name="s"/>'), "y", "a signal start event is not supported"),
    "signal end without a signal": (diagram(TASK + '<bpmn:endEvent id="y">'
                                            '<bpmn:signalEventDefinition/></bpmn:endEvent>'),
                                    "y", "must name a bpmn:signal"),
    "conditional start": (diagram(TASK + '<bpmn:startEvent id="y"><bpmn:conditionalEventDefinition>'
                                  '<bpmn:condition>a</bpmn:condition>'
                                  '</bpmn:conditionalEventDefinition></bpmn:startEvent>'),
                          "y", "a conditional start or end event is not supported"),
    "conditional catch with a bad condition": (
        diagram(catch('<bpmn:conditionalEventDefinition><bpmn:condition>__import__("os")'
                      '</bpmn:condition></bpmn:conditionalEventDefinition>')),
        "x", "Names starting with '_'"),
    "compensation throw": (diagram(catch("<bpmn:compensateEventDefinition/>",
                                         "intermediateThrowEvent")),
                           "x", "compensation is not supported"),
    "compensation activity": (diagram(f'<bpmn:scriptTask id="x" isForCompensation="true">{IO}'
                                      '<bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>'),
                              "x", "compensation"),
    "link throw": (diagram(catch("<bpmn:linkEventDefinition name='l'/>",
                                 "intermediateThrowEvent")), "x", "link events"),
    "timer start": (diagram(TASK + '<bpmn:startEvent id="y"><bpmn:timerEventDefinition>'
                            '<bpmn:timeDate>hours(1)</bpmn:timeDate></bpmn:timerEventDefinition>'
                            '</bpmn:startEvent>'), "y", "starts when the dossier is submitted"),
    "message start": (diagram(TASK + '<bpmn:startEvent id="y"><bpmn:messageEventDefinition '
                              'messageRef="m"/></bpmn:startEvent>', MESSAGE),
                      "s", "must be a message start event too (a procedure is either "
                      "submitted or started by a message)"),
    "ad-hoc": (diagram(f'<bpmn:adHocSubProcess id="x">{IO}</bpmn:adHocSubProcess>'),
               "x", "ad-hoc sub-processes are not supported"),
    "business rule": (diagram(f'<bpmn:businessRuleTask id="x">{IO}</bpmn:businessRuleTask>'),
                      "x", "names the decision it runs"),
    "complex gateway": (diagram(f'<bpmn:complexGateway id="x">{IO}</bpmn:complexGateway>'),
                        "x", "complex gateways are not supported"),
    "event sub-process": (diagram(TASK + '<bpmn:subProcess id="y" triggeredByEvent="true">'
                                  '</bpmn:subProcess>'), "y",
                          "an event sub-process has exactly one start event"),
    "two definitions with an error": (
        diagram(TASK + '<bpmn:boundaryEvent id="y" attachedToRef="x"><bpmn:errorEventDefinition/>'
                '<bpmn:timerEventDefinition><bpmn:timeDate>hours(1)</bpmn:timeDate>'
                '</bpmn:timerEventDefinition></bpmn:boundaryEvent>'),
        "y", "may combine only message, signal, timer"),
    "escalation catch": (diagram(catch("<bpmn:escalationEventDefinition/>")),
                         "x", "supported here: conditional, message, signal, timer"),
    "cancel boundary": (diagram(TASK + '<bpmn:boundaryEvent id="y" attachedToRef="x">'
                                '<bpmn:cancelEventDefinition/></bpmn:boundaryEvent>'),
                        "y", "a cancel event belongs to a transaction"),
    "non-interrupting error": (diagram(TASK + '<bpmn:boundaryEvent id="y" attachedToRef="x" '
                                       'cancelActivity="false"><bpmn:errorEventDefinition/>'
                                       '</bpmn:boundaryEvent>'), "y", "always interrupts"),
    "uncaught error end": (diagram(TASK + '<bpmn:endEvent id="y"><bpmn:errorEventDefinition '
                                   'errorRef="err"/></bpmn:endEvent>', ERROR),
                           "y", "error BAD is not caught: it leaves process 'refuse'"),
    "error caught by another code": (
        diagram(f'<bpmn:subProcess id="x">{IO}<bpmn:startEvent id="ss"/>'
                '<bpmn:endEvent id="y"><bpmn:errorEventDefinition errorRef="err"/>'
                '</bpmn:endEvent></bpmn:subProcess><bpmn:boundaryEvent id="b" attachedToRef="x">'
                '<bpmn:errorEventDefinition errorRef="other"/></bpmn:boundaryEvent>',
                ERROR + '<bpmn:error id="other" name="Other" errorCode="OTHER"/>'),
        "y", "error BAD is not caught"),
    "error through an uncaught call": (
        diagram(f'<bpmn:callActivity id="x" calledElement="inner">{IO}</bpmn:callActivity>',
                ERROR, extra='<bpmn:process id="inner" isExecutable="true"><bpmn:startEvent '
                'id="is"/><bpmn:endEvent id="y"><bpmn:errorEventDefinition errorRef="err"/>'
                '</bpmn:endEvent></bpmn:process>'), "y", "error BAD is not caught"),
    "recursive call": (diagram(f'<bpmn:callActivity id="x" calledElement="refuse">{IO}'
                               '</bpmn:callActivity>'), "x", "leads back to the process"),
    "manual task without lane": (diagram(f'<bpmn:manualTask id="x">{IO}</bpmn:manualTask>'),
                                 "x", "waits for a person: put it in a lane"),
    "untyped task without lane": (diagram(TASK), "x", "waits for a person: put it in a lane"),
    "manual task in an unknown lane": (
        diagram(f'<bpmn:manualTask id="x">{IO}</bpmn:manualTask>',
                lanes='<bpmn:laneSet><bpmn:lane id="l" name="janitor"><bpmn:flowNodeRef>x'
                      '</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'),
        "x", "lane 'janitor' is not a known role"),
    "message without messageRef": (diagram(catch("<bpmn:messageEventDefinition/>")),
                                   "x", "must name a bpmn:message"),
    "send task without message": (diagram(f'<bpmn:sendTask id="x">{IO}</bpmn:sendTask>'),
                                  "x", "must name a bpmn:message"),
    "message without a name": (diagram(catch('<bpmn:messageEventDefinition messageRef="m"/>'),
                                       '<bpmn:message id="m"/>'), "x", "needs a name"),
    "two correlation properties": (
        diagram(catch('<bpmn:messageEventDefinition messageRef="m"/>'), MESSAGE + "".join(
            f'<bpmn:correlationProperty id="{p}"><bpmn:correlationPropertyRetrievalExpression '
            f'messageRef="m"><bpmn:formalExpression>{p}</bpmn:formalExpression>'
            '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>'
            for p in ("a", "b"))), "x", "several correlation properties"),
    "call to a missing process": (
        diagram(f'<bpmn:callActivity id="x" calledElement="nope">{IO}</bpmn:callActivity>'),
        "x", "calls process 'nope', which is not in the bundle (processes: refuse)"),
    "event gateway into a task": (
        f'{HEAD}<bpmn:process id="refuse" isExecutable="true"><bpmn:startEvent id="s">'
        '<bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent><bpmn:eventBasedGateway id="x">'
        '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
        '</bpmn:eventBasedGateway><bpmn:scriptTask id="y"><bpmn:incoming>f2</bpmn:incoming>'
        '<bpmn:script>a = 1</bpmn:script></bpmn:scriptTask><bpmn:sequenceFlow id="f1" '
        'sourceRef="s" targetRef="x"/><bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="y"/>'
        '</bpmn:process></bpmn:definitions>', "x", "after an event-based gateway"),
    "multi-instance without a count": (
        diagram(f'<bpmn:scriptTask id="x">{IO}<bpmn:multiInstanceLoopCharacteristics/>'
                '<bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>'),
        "x", "needs a loopCardinality or a loopDataInputRef"),
    "unsafe payload": (
        diagram(f'<bpmn:intermediateThrowEvent id="x">{IO}<bpmn:messageEventDefinition '
                'messageRef="m"><bpmn:extensionElements><spiffworkflow:messagePayload>'
                "__import__('os')</spiffworkflow:messagePayload></bpmn:extensionElements>"
                '</bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>', MESSAGE),
        "x", "expression"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_file_element_and_advice(platform, case):
    text, element, message = CASES[case]
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, bundle("refuse", text=text), check_only=True)
    found = [p for p in err.value.details if p["element"] == element]
    assert found, err.value.details
    assert found[0]["file"] == "process.bpmn"
    assert message in found[0]["message"], found[0]["message"]


def test_an_event_gateway_waits_for_one_timer_at_most(platform):
    text = (DIAGRAMS / "event_race.bpmn").read_text().replace(
        "<bpmn:messageEventDefinition id=\"Def_got_answer\" messageRef=\"Message_Answer\">"
        "\n        <bpmn:extensionElements><spiffworkflow:messageVariable>answer"
        "</spiffworkflow:messageVariable></bpmn:extensionElements>\n      "
        "</bpmn:messageEventDefinition>",
        "<bpmn:timerEventDefinition><bpmn:timeDate>hours(1)</bpmn:timeDate>"
        "</bpmn:timerEventDefinition>")
    assert "hours(1)" in text
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, bundle("event_race", text=text), check_only=True)
    assert any(p["element"] == "race" and "one timer at most" in p["message"]
               for p in err.value.details), err.value.details


@pytest.mark.parametrize("name", sorted(p.stem for p in DIAGRAMS.glob("*.bpmn")
                                        if p.stem != "called"))
def test_every_diagram_of_these_tests_deploys(platform, name):
    extra = ("called",) if name == "subprocesses" else ()
    more = {"default_role": "handler"} if name == "no_lane" else {}
    files = bundle(name, extra=extra, **more)
    for table in DIAGRAMS.glob(f"{name}.dmn"):
        files[table.name] = table.read_text(encoding="utf-8")
    assert deploy_bundle(platform, files, check_only=True)["valid"]
