"""A procedure's versions: the list with how many dossiers run on each, one version's
files, and an element-level diff that reads like the analyst's change, not like XML."""

import pytest

from engine import versions
from engine.errors import InvalidData, NotFound
from engine.procedures import deploy_bundle
from engine.spiff import SPECS
from tests.engine.factories import PROCEDURE, submit
from tests.engine.test_bundles import files
from tests.engine.test_migration import added_step, harmless, lane_changed


@pytest.fixture(autouse=True)
def _fresh_specs():
    SPECS.items.clear()  # cached by version id, which each test's database reuses
    yield
    SPECS.items.clear()


def changes(diff: dict, element: str) -> dict:
    [found] = [c for c in diff["elements"]["changed"] if c["id"] == element]
    return {c["what"]: (c["before"], c["after"]) for c in found["changes"]}


def test_list_and_get_versions(platform):
    submit(platform)
    deploy_bundle(platform, harmless(), actor="phantich")
    listed = versions.list_versions(platform, PROCEDURE)
    assert [(v["number"], v["active"], v["dossiers"], v["open_dossiers"], v["deployed_by"])
            for v in listed] == [(2, True, 0, 0, "phantich"), (1, False, 1, 1, "system")]
    assert all(len(v["content_hash"]) == 64 and "T" in v["deployed_at"] for v in listed)

    active = versions.get_version(platform, PROCEDURE)
    assert (active["code"], active["number"], active["process_id"]) == (
        PROCEDURE, 2, "transport_business_licence")
    assert "Thẩm định, đề xuất" in active["files"]["process.bpmn"]
    first = versions.get_version(platform, PROCEDURE, 1)
    assert first["files"] == files() and first["meta"]["code"] == PROCEDURE
    with pytest.raises(NotFound):
        versions.get_version(platform, PROCEDURE, 3)
    with pytest.raises(NotFound):
        versions.list_versions(platform, "no-such-procedure")
    with pytest.raises(InvalidData):
        versions.get_version(platform, PROCEDURE, "2")


def test_diff_reads_as_the_change_made(platform):
    deploy_bundle(platform, harmless(), actor="phantich")
    diff = versions.diff_versions(platform, PROCEDURE, 1, 2)
    assert diff["files"] == {"added": [], "removed": [], "changed": ["process.bpmn"]}
    assert [c["id"] for c in diff["elements"]["changed"]] == ["Task_Appraise"]
    assert changes(diff, "Task_Appraise") == {
        "name": ("Thẩm định hồ sơ", "Thẩm định, đề xuất"),
        "property dueIn": ("working_days_before(dossier['due_at'], 1)",
                           "working_days_before(dossier['due_at'], 2)")}
    assert diff["elements"]["added"] == diff["elements"]["removed"] == []
    same = versions.diff_versions(platform, PROCEDURE, 2, 2)
    assert same["elements"] == {"added": [], "removed": [], "changed": []}


def test_diff_of_an_inserted_step(platform):
    deploy_bundle(platform, added_step(), actor="phantich")
    diff = versions.diff_versions(platform, PROCEDURE, 1, 2)
    assert diff["elements"]["added"] == [
        {"id": "Task_SetInProgress", "type": "serviceTask",
         "name": "Cập nhật trạng thái: đang giải quyết"},
        {"id": "Flow_InProgress_Approve", "type": "sequenceFlow", "name": ""}]
    assert changes(diff, "Flow_Appraise_Approve") == {
        "target": ("Task_Approve", "Task_SetInProgress")}
    assert changes(diff, "Task_Approve") == {
        "incoming": ("Flow_Appraise_Approve", "Flow_InProgress_Approve")}
    back = versions.diff_versions(platform, PROCEDURE, 2, 1)
    assert [e["id"] for e in back["elements"]["removed"]] == ["Task_SetInProgress",
                                                              "Flow_InProgress_Approve"]


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_diff_names_lanes_timers_conditions_operators_and_forms(platform):
    bundle = lane_changed()
    text = edit(bundle["process.bpmn"], ">dossier['due_at']</bpmn:timeDate>",
                ">working_days(1, dossier['due_at'])</bpmn:timeDate>")
    text = edit(text, "reception_decision == 'refuse'", "reception_decision in ('refuse', 'reject')")
    text = edit(text, "value=\"'approved'\" />", "value=\"'processed'\" />")
    bundle["process.bpmn"] = text
    bundle["forms/appraise.json"] = bundle["forms/appraise.json"].replace(
        '"type": "object"', '"type": "object", "description": "v2"', 1)
    bundle["forms/extra.json"] = '{"type": "object", "properties": {}}'
    moved = bundle["process.bpmn"].replace('<dc:Bounds x="', '<dc:Bounds x="1')  # geometry only
    assert moved != bundle["process.bpmn"]
    bundle["process.bpmn"] = moved
    deploy_bundle(platform, bundle, actor="phantich")

    diff = versions.diff_versions(platform, PROCEDURE, 1, 2)
    assert diff["files"] == {"added": ["forms/extra.json"], "removed": [],
                             "changed": ["forms/appraise.json", "process.bpmn"]}
    assert changes(diff, "Task_Appraise") == {"lane": ("handler", "head")}
    before, after = changes(diff, "Lane_Head")["members"]
    assert "Task_Appraise" in after.split(", ") and "Task_Appraise" not in before.split(", ")
    assert changes(diff, "Timer_Late") == {
        "timer": ("timeDate: dossier['due_at']",
                  "timeDate: working_days(1, dossier['due_at'])")}
    assert changes(diff, "Flow_Reception_Refuse") == {
        "condition": ("reception_decision == 'refuse'",
                      "reception_decision in ('refuse', 'reject')")}
    assert changes(diff, "Task_SetApproved") == {"parameter status": ("'approved'",
                                                                      "'processed'")}
    assert {c["id"] for c in diff["elements"]["changed"]} == {
        "Lane_Handler", "Lane_Head", "Task_Appraise", "Task_SetApproved", "Timer_Late",
        "Flow_Reception_Refuse"}  # no shape moved counts as a change
