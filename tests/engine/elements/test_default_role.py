"""Human tasks drawn outside any lane: procedure.yaml's ``default_role`` takes them with a
warning; a diagram checked on its own takes the handling officer's role and says so; a file
with several processes starts the one no other calls, or asks for one."""

import pytest

from engine.errors import InvalidBundle
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import bundle, complete, diagram, finished, open_rows, submit


def with_default_role(role: str) -> dict[str, str]:
    return bundle("no_lane", default_role=role)


def test_a_default_role_takes_lane_less_tasks_with_a_warning(platform):
    result = deploy_bundle(platform, with_default_role("head"))
    assert {(w["element"], w["message"]) for w in result["warnings"]
            if w["message"].startswith("not in a lane")} == {
        ("review", "not in a lane: given to role 'head' (default_role in procedure.yaml)"),
        ("file_it", "not in a lane: given to role 'head' (default_role in procedure.yaml)")}
    code = submit(platform, result["code"])
    [row] = open_rows(platform, code)
    assert (row.spec_name, row.role_code) == ("review", "head")
    complete(platform, code, "review")  # as lanhdao, the head
    assert [(r.spec_name, r.role_code) for r in open_rows(platform, code)] == [("file_it", "head")]
    complete(platform, code, "file_it")
    assert finished(platform, code)


def test_without_a_default_role_a_procedure_is_refused_with_the_advice(platform):
    files = with_default_role("head")
    files["procedure.yaml"] = files["procedure.yaml"].replace("default_role: head\n", "")
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, files, check_only=True)
    messages = {p["element"]: p["message"] for p in err.value.details}
    assert set(messages) == {"review", "file_it"}
    assert "default_role" in messages["review"] and "default_role" in messages["file_it"]
    files["procedure.yaml"] += "default_role: janitor\n"
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, files, check_only=True)
    assert err.value.details[0]["element"] == "default_role"


def test_a_lone_diagram_takes_the_handler_role_and_the_uncalled_process(platform):
    result = deploy_bundle(platform, {"process.bpmn": diagram("no_lane")}, check_only=True)
    said = [w["message"] for w in result["warnings"]]
    assert any("starting 'no_lane'" in m for m in said)
    assert sum("given to role 'handler'" in m and "checked on its own" in m for m in said) == 2


def test_several_processes_none_of_them_uncalled_ask_for_one(platform):
    other = '<bpmn:process id="other" isExecutable="true"><bpmn:startEvent id="o"/></bpmn:process>'
    text = diagram("no_lane").replace("</bpmn:definitions>", other + "</bpmn:definitions>")
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, {"process.bpmn": text}, check_only=True)
    assert "--process" in err.value.details[0]["message"]
    named = deploy_bundle(platform, {"process.bpmn": text}, check_only=True,
                          process="other")
    assert named["valid"]


def in_lane_boss(**meta) -> dict[str, str]:
    """no_lane with its user task drawn in a lane named 'Boss', which is no role."""
    text = diagram("no_lane").replace(
        '<bpmn:process id="no_lane" isExecutable="true">',
        '<bpmn:process id="no_lane" isExecutable="true"><bpmn:laneSet id="ls">'
        '<bpmn:lane id="l_boss" name="Boss"><bpmn:flowNodeRef>review</bpmn:flowNodeRef>'
        '</bpmn:lane></bpmn:laneSet>')
    return bundle("no_lane", text=text, **meta)


def test_a_lane_that_is_no_role_takes_the_default_role_with_a_warning(platform):
    result = deploy_bundle(platform, in_lane_boss(default_role="head"))
    assert ("review", "lane 'Boss' is not a role: given to role 'head' (default_role in "
            "procedure.yaml)") in {(w["element"], w["message"]) for w in result["warnings"]}
    assert any(w["message_vi"].startswith("làn 'Boss' không phải vai trò: giao cho vai trò 'head'")
               for w in result["warnings"])
    code = submit(platform, result["code"])
    assert [(r.spec_name, r.role_code) for r in open_rows(platform, code)] == [("review", "head")]
    complete(platform, code, "review")  # as lanhdao, saved and restored after each step
    complete(platform, code, "file_it")
    assert finished(platform, code)


def test_a_lane_that_is_no_role_is_refused_without_a_default_role(platform):
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, in_lane_boss(), check_only=True)
    [boss] = [p for p in err.value.details if p["element"] == "review"]
    assert boss["message"].startswith("lane 'Boss' is not a known role")
    assert boss["message"].endswith("rename the lane to a role code, or name a default_role in "
                                    "procedure.yaml")
    assert "đổi tên làn" in boss["message_vi"]
    lone = deploy_bundle(platform, {"process.bpmn": in_lane_boss()["process.bpmn"]},
                         check_only=True)
    assert any(w["element"] == "review" and "given to role 'handler'" in w["message"]
               for w in lone["warnings"])
