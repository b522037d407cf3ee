"""Deploying bundles: every kind of bad input is refused with an error naming the file,
the element and the problem, and nothing is stored."""

from pathlib import Path

import pytest

from engine import bundles
from engine.errors import InvalidBundle
from engine.procedures import deploy_bundle, list_procedures

BUNDLE = Path(__file__).resolve().parents[2] / "bpmn" / "transport-business-licence"


def files(**changes) -> dict[str, str]:
    out = {k: v.decode() for k, v in bundles.read_folder(BUNDLE).items()}
    out.update(changes)
    return out


def replace(name: str, old: str, new: str) -> dict[str, str]:
    text = files()[name]
    assert old in text, f"{old!r} not in {name}"
    return files(**{name: text.replace(old, new, 1)})


def problems(platform, bundle) -> list[dict]:
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, bundle, check_only=True)
    return err.value.details


def test_redeploying_the_same_bundle_is_a_no_op_and_a_change_is_a_new_version(platform):
    again = deploy_bundle(platform, BUNDLE)
    assert again == {"code": "transport-business-licence", "version": 1, "created": False,
                     "valid": True, "warnings": []}
    changed = replace("procedure.yaml", "deadline: {value: 5", "deadline: {value: 6")
    assert deploy_bundle(platform, changed)["version"] == 2
    assert [p["version"] for p in list_procedures(platform)
            if p["code"] == "transport-business-licence"] == [2]


def test_malformed_xml_names_the_file_and_line(platform):
    text = files()["process.bpmn"]
    broken = text.replace("</bpmn:userTask>", "</bpmn:userTsk>", 1)
    [problem] = problems(platform, files(**{"process.bpmn": broken}))
    assert problem["file"] == "process.bpmn"
    assert problem["element"].startswith("line ")
    assert "malformed XML" in problem["message"]


def test_schema_violation_is_reported(platform):
    bad = replace("process.bpmn", "<bpmn:userTask ", "<bpmn:userTask bogus=\"1\" ")
    [problem] = problems(platform, bad)
    assert problem["file"] == "process.bpmn" and "bogus" in problem["message"]


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


def test_unknown_agency_and_missing_keys(platform):
    bad = replace("procedure.yaml", 'agency: "000.00.14.H56"', 'agency: "999.99.99.H56"')
    assert problems(platform, bad)[0]["element"] == "agency"
    text = files()["procedure.yaml"]
    no_deadline = "\n".join(line for line in text.splitlines() if not line.startswith("deadline"))
    found = problems(platform, files(**{"procedure.yaml": no_deadline}))
    assert {"file": "procedure.yaml", "element": "deadline",
            "message": "required key is missing",
            "message_vi": "thiếu khóa bắt buộc này"} in found


def test_nothing_is_stored_when_a_bundle_is_refused(platform):
    bad = replace("process.bpmn", 'name="reception"', 'name="nobody"')
    with pytest.raises(InvalidBundle):
        deploy_bundle(platform, bad)
    assert [p["version"] for p in list_procedures(platform)
            if p["code"] == "transport-business-licence"] == [1]


def test_paths_outside_the_bundle_are_refused(platform):
    found = problems(platform, files(**{"../evil.json": "{}"}))
    assert found[0]["message"] == "file paths must stay inside the bundle"


def test_a_sub_process_in_a_lane_may_not_hide_the_lanes_of_its_steps(platform):
    """SpiffWorkflow gives every step inside a sub-process the sub-process's lane; a step
    drawn in another lane would go to the wrong officers without a word."""
    bad = replace("process.bpmn", "<bpmn:flowNodeRef>Task_Appraise</bpmn:flowNodeRef>",
                  "<bpmn:flowNodeRef>Task_Appraise</bpmn:flowNodeRef>"
                  "<bpmn:flowNodeRef>SubProcess_Solve</bpmn:flowNodeRef>")
    found = problems(platform, bad)
    assert {p["element"] for p in found} == {"Task_Approve", "Task_SignHead"}
    assert "around it is in lane 'handler'" in found[0]["message"]


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
    # what needs a dossier's data is left to run time; a right constant passes
    deploy_bundle(platform, replace("process.bpmn", timer, "working_days(2)</bpmn:timeDate>"),
                  check_only=True)


@pytest.mark.parametrize("level, label, fragment", [
    (4, "một phần", "level 4 pairs with the online label 'toàn trình'"),
    (3, "toàn trình", "level 3 pairs with the online label 'một phần'"),
    (1, "bất kỳ", "a level-1 procedure is not offered online"),
])
def test_a_level_and_online_label_that_disagree_are_refused(platform, level, label, fragment):
    bad = files(**{"procedure.yaml": files()["procedure.yaml"]
                   .replace("\nlevel: 4\n", f"\nlevel: {level}\n", 1)
                   .replace("online_label: toàn trình", f"online_label: {label}", 1)})
    [problem] = problems(platform, bad)
    assert (problem["file"], problem["element"]) == ("procedure.yaml", "online_label")
    assert fragment in problem["message"] and "Nghị định 42/2022/NĐ-CP" in problem["message_vi"]


def test_a_bundle_picks_a_known_form_set(platform):
    chosen = replace("procedure.yaml", "\nlevel: 4\n", "\nlevel: 4\nform_set: circular-01-2018\n")
    assert deploy_bundle(platform, chosen, check_only=True)["valid"]
    bad = replace("procedure.yaml", "\nlevel: 4\n", "\nlevel: 4\nform_set: circular-99\n")
    [problem] = problems(platform, bad)
    assert problem["element"] == "form_set" and "circular-03-2025" in problem["message"]
