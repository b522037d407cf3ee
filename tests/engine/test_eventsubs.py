"""engine.eventsubs: event sub-processes started by a signal the dossier throws: an
interrupting one cancels the steps under way and ends the dossier when it ends; a non-interrupting one runs beside
them; neither reaches another dossier. Shapes the platform cannot run soundly are refused
with advice. Every step is checked by a save/restore (kit.check)."""

import pytest

from engine.errors import InvalidBundle
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import (
    bundle,
    complete,
    data,
    deploy,
    finished,
    open_tasks,
    rows_with_status,
    submit,
)


def test_a_withdrawal_interrupts_the_steps_under_way(platform):
    procedure = deploy(platform, "event_subprocess")
    code, other = submit(platform, procedure), submit(platform, procedure)
    assert open_tasks(platform, code) == ["appraise", "review"]
    complete(platform, code, "review", {"decision": "withdraw"})
    # the handler's appraisal is withdrawn with the dossier; only the confirmation is left
    assert open_tasks(platform, code) == ["confirm_withdrawal"]
    assert "appraise" in rows_with_status(platform, code, "cancelled")
    assert data(platform, code)["outcome"] == "withdrawn"
    assert not finished(platform, code)
    complete(platform, code, "confirm_withdrawal")
    assert finished(platform, code)
    # the other dossier heard nothing
    assert open_tasks(platform, other) == ["appraise", "review"]


def test_a_note_runs_beside_the_process_without_stopping_it(platform):
    code = submit(platform, deploy(platform, "event_subprocess"))
    complete(platform, code, "review", {"decision": "note", "note": "thiếu bản sao"})
    assert open_tasks(platform, code) == ["appraise", "file_note"]
    complete(platform, code, "appraise", {"result": "đạt"})
    assert open_tasks(platform, code) == ["approve", "file_note"]
    complete(platform, code, "approve")
    assert not finished(platform, code)  # the note's step is still open
    complete(platform, code, "file_note")
    assert finished(platform, code) and data(platform, code)["outcome"] == "granted"


def refusal(platform, *changes: tuple[str, str]) -> dict[str, str]:
    files = bundle("event_subprocess")
    for old, new in changes:
        assert old in files["process.bpmn"]
        files["process.bpmn"] = files["process.bpmn"].replace(old, new)
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, files, check_only=True)
    return {p["element"]: p["message"] for p in err.value.details}


def test_shapes_that_would_not_run_soundly_are_refused_with_advice(platform):
    # a timer start would start the sub-process with the dossier and hold the dossier open
    found = refusal(platform, ('<bpmn:signalEventDefinition signalRef="Signal_noted"/>',
                               '<bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"'
                               '</bpmn:timeDuration></bpmn:timerEventDefinition>'))
    assert "for a timer, a message or a condition attach a boundary event" in found["on_noted"]
    # inside an embedded sub-process nothing listens for its start event
    found = refusal(platform, ('<bpmn:subProcess id="on_noted" name="Ghi chú vào hồ sơ" '
                               'triggeredByEvent="true">',
                               '<bpmn:subProcess id="box"><bpmn:subProcess id="on_noted" '
                               'triggeredByEvent="true">'),
                    ('</bpmn:subProcess>\n  </bpmn:process>',
                     '</bpmn:subProcess></bpmn:subProcess>\n  </bpmn:process>'))
    assert "runs only directly in a process" in found["on_noted"]
    # in a process that another one calls
    found = refusal(platform, ('<bpmn:process id="event_subprocess" isExecutable="true">',
                               '<bpmn:process id="event_subprocess" isExecutable="true">'
                               '<bpmn:callActivity id="again" calledElement="event_subprocess"/>'))
    assert "runs only in a process a dossier runs" in found["on_withdrawn"]
