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


