"""A diagram drawn in Camunda Modeler deploys with its conversion shown (candidate groups as
roles, form fields as a JSON Schema form, input mappings, ${…} conditions) and is walked by
the demo officers with a save/restore after every step; JavaScript is refused by name."""

import pytest

from engine import accounts, tasks
from engine.errors import InvalidBundle
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import bundle, check, data, finished, open_rows, submit


def test_a_camunda_diagram_is_converted_and_walked(platform):
    result = deploy_bundle(platform, bundle("camunda_review"))
    said = {w["element"]: [] for w in result["warnings"]}
    for w in result["warnings"]:
        said[w["element"]].append(w["message"])
    assert "converted from Camunda: candidate group 'reception' → role 'reception'" in said["check"]
    assert "converted from Camunda: form fields → JSON Schema forms/check.json" in said["check"]
    assert any("pre-script: fee = 200000" in m for m in said["check"])
    assert said["accepted"] == ["converted from Camunda: condition → 'approved'"]
    code = submit(platform, result["code"])
    [row] = open_rows(platform, code)
    assert (row.spec_name, row.role_code, row.form) == ("check", "reception", "forms/check.json")
    officer = accounts.find_user(platform, "motcua")
    form = tasks.get_task(platform, officer, row.id)["form"]
    assert form["properties"]["channel"] == {"type": "string", "enum": ["post", "counter"],
                                             "title": "Cách trả kết quả"}
    assert form["required"] == ["approved"]
    tasks.complete(platform, officer, row.id, {"approved": True, "channel": "post"})
    check(platform, code)
    assert finished(platform, code)
    assert (data(platform, code)["outcome"], data(platform, code)["fee"]) == ("accepted, post",
                                                                             200000)


def refused(platform, old: str, new: str) -> dict[str, str]:
    files = bundle("camunda_review")
    files["process.bpmn"] = files["process.bpmn"].replace(old, new)
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, files, check_only=True)
    return {p["element"]: p["message"] for p in err.value.details}


def test_javascript_and_unknown_groups_are_refused_with_advice(platform):
    found = refused(platform, '<bpmn:scriptTask id="refuse" scriptFormat="python">',
                    '<bpmn:scriptTask id="refuse" scriptFormat="JavaScript">')
    assert "JavaScript script cannot run here: rewrite it in Python" in found["refuse"]
    found = refused(platform, 'camunda:candidateGroups="reception"',
                    'camunda:candidateGroups="sales"')
    assert "candidate group 'sales' is not a role code" in found["check"]
