"""Our rules on a bundle's parsed specs (engine/bundle_specs.py): lanes are roles, forms are JSON
Schemas, service tasks name registered operators, expressions and timers are checked."""

import pytest

from engine.procedures import deploy_bundle
from tests.engine.test_bundles import files, problems, replace


def test_unknown_lane_is_refused(platform):
    bad = replace("process.bpmn", 'name="reception"', 'name="receptionist"')
    found = problems(platform, bad)
    assert {p["element"] for p in found} == {"Task_Receive"}
    assert "lane 'receptionist' is not a known role" in found[0]["message"]


def test_unknown_operator_and_parameter_are_refused(platform):
    bad = replace("process.bpmn", 'serviceTaskOperator id="notify"', 'serviceTaskOperator id="fax"')
    found = problems(platform, bad)
    assert "unknown service operator 'fax'" in found[0]["message"]
    assert found[0]["element"].startswith("Task_")


def test_missing_and_invalid_forms_are_refused(platform):
    missing = files()
    del missing["forms/receive.json"]
    found = problems(platform, missing)
    assert found[0] == {"file": "process.bpmn", "element": "forms/receive.json",
                        "message": "the form file is not in the bundle",
                        "message_vi": "tệp biểu mẫu không có trong gói thủ tục"}
    invalid = files(**{"forms/approve.json": '{"type": "object", "properties": {"x": {"type": 5}}}'})
    found = problems(platform, invalid)
    assert found[0]["file"] == "forms/approve.json"
    assert "not a valid JSON Schema" in found[0]["message"]
    not_json = files(**{"forms/sign.json": "{nope"})
    assert "not valid JSON" in problems(platform, not_json)[0]["message"]


@pytest.mark.parametrize("condition", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os').system('true')",
    "open('/etc/passwd').read()",
])
def test_unsafe_gateway_condition_is_refused_at_deploy(platform, condition):
    bad = replace("process.bpmn", "reception_decision == 'accept'", condition)
    found = problems(platform, bad)
    assert found[0]["element"] == "Gateway_Reception"
    assert condition in found[0]["message"]


def test_syntax_error_in_a_timer_expression_is_refused(platform):
    bad = replace("process.bpmn", "working_days_before(dossier['due_at'], 1)</bpmn:timeDate>",
                  "working_days_before(dossier['due_at'], 1</bpmn:timeDate>")
    found = problems(platform, bad)
    assert found[0]["element"] == "Timer_WarnDue"


def test_a_timer_whose_expression_gives_the_wrong_kind_of_value_is_refused(platform):
    timer = "working_days_before(dossier['due_at'], 1)</bpmn:timeDate>"
    # a date where a duration is due: every dossier would fail at this timer
    bad = replace("process.bpmn", "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">" + timer,
                  "<bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">working_days(2)"
                  "</bpmn:timeDuration>")
    [found] = problems(platform, bad)
    assert found["element"] == "Timer_WarnDue" and "timeDuration" in found["message"]
    assert "duration" in found["message"]
    # a duration where a date is due
    [found] = problems(platform, replace("process.bpmn", timer, "'P2D'</bpmn:timeDate>"))
    assert found["element"] == "Timer_WarnDue" and "timeDate" in found["message"]
    # the dossier every process starts with is tried too: its due date is no duration
    [found] = problems(platform, replace("process.bpmn", "<bpmn:timeDate xsi:type=\"bpmn:"
                                         "tFormalExpression\">" + timer, "<bpmn:timeDuration "
                                         "xsi:type=\"bpmn:tFormalExpression\">dossier['due_at']"
                                         "</bpmn:timeDuration>"))
    assert found["element"] == "Timer_WarnDue" and "dossier['due_at']" in found["message"]
    deploy_bundle(platform, replace("process.bpmn", timer, "dossier['due_at']</bpmn:timeDate>"),
                  check_only=True)
    # what needs the application's data is left to run time; a right constant passes
    deploy_bundle(platform, replace("process.bpmn", timer, "application['due']</bpmn:timeDate>"),
                  check_only=True)
    deploy_bundle(platform, replace("process.bpmn", timer, "working_days(2)</bpmn:timeDate>"),
                  check_only=True)
