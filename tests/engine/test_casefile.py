"""What earlier steps decided, as a later step sees it (engine.casefile through
engine.tasks.get_task): x-show-to and its default, the reception checklist, and a signing
step that signs only the revision the officer was shown."""

from __future__ import annotations

import pytest

from engine import casefile, tasks
from engine.errors import InvalidData
from tests.engine.factories import submit
from tests.scenario import open_task, user


def complete(p, code, spec, who, data, **kwargs):
    task = open_task(p, code, spec)
    return tasks.complete(p, user(p, who), task.id, data, **kwargs)


def view(p, code, spec, who):
    return tasks.get_task(p, user(p, who), open_task(p, code, spec).id)


def appraised(p) -> str:
    code = submit(p)
    complete(p, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
    complete(p, code, "Task_Appraise", "chuyenvien", {
        "recommendation": "approve", "appraisal_notes": "Đủ điều kiện.",
        "licence_number": "GP-56-0007"})
    return code


def test_the_head_sees_the_handlers_recommendation_then_receptions_decision(platform):
    code = appraised(platform)
    earlier = view(platform, code, "Task_Approve", "lanhdao")["earlier"]
    assert [s["title"] for s in earlier] == ["Thẩm định hồ sơ", "Kiểm tra, tiếp nhận hồ sơ"]
    appraisal = earlier[0]
    assert appraisal["data"] == {"recommendation": "approve", "appraisal_notes": "Đủ điều kiện.",
                                 "licence_number": "GP-56-0007"}
    assert appraisal["completed_by"] == user(platform, "chuyenvien").full_name
    assert list(appraisal["form"]["properties"]) == ["recommendation", "appraisal_notes",
                                                     "licence_number"]
    assert earlier[1]["data"] == {"reception_decision": "accept"}


def test_the_applicant_sees_only_what_the_form_shows_to_applicants(platform):
    code = submit(platform)
    complete(platform, code, "Task_Receive", "motcua", {
        "reception_decision": "supplement", "reason": "Thiếu quyết định bổ nhiệm.",
        "supplement_items": "Quyết định bổ nhiệm người điều hành vận tải."})
    [step] = view(platform, code, "Task_Supplement", "doanhnghiep")["earlier"]
    # reason and items carry x-show-to with "applicant"; the decision has no x-show-to
    assert step["data"] == {"reason": "Thiếu quyết định bổ nhiệm.",
                            "supplement_items": "Quyết định bổ nhiệm người điều hành vận tải."}
    assert step["completed_by"] == ""  # officers' names stay on the agency's side


def test_x_show_to_default_list_and_empty():
    assert casefile.shown_to({}, "head") and not casefile.shown_to({}, "applicant")
    assert casefile.shown_to({"x-show-to": ["head"]}, "head")
    assert not casefile.shown_to({"x-show-to": ["head"]}, "handler")
    assert casefile.shown_to({"x-show-to": ["applicant"]}, "applicant")
    assert not casefile.shown_to({"x-show-to": []}, "head")
    schema = {"properties": {"a": {"x-show-to": "head"}, "b": {"x-show-to": ["boss"]},
                             "c": {"x-show-to": ["head"]}}}
    problems = dict(casefile.show_to_problems(schema, {"head", "applicant"}))
    assert set(problems) == {"properties/a/x-show-to", "properties/b/x-show-to"}
    assert "boss" in problems["properties/b/x-show-to"]


def test_reception_checks_the_required_documents(platform):
    """Steps in the reception lane list procedure.yaml's required documents with the file
    the dossier holds for each; a document the dossier lacks has none."""
    meta = {"required_documents": [{"key": "a", "name": {"vi": "Tờ khai", "en": "Form"}},
                                   {"key": "b", "name": {"vi": "Quyết định"}}]}
    docs = [{"id": 1, "name": "a", "revision": 1}, {"id": 5, "name": "a", "revision": 2}]
    listed = casefile.reception_checklist(meta, docs, "reception", {})
    assert [(i["key"], (i["document"] or {}).get("id")) for i in listed] == [("a", 5), ("b", None)]
    assert listed[1]["name_en"] == "Quyết định"  # no English name: the Vietnamese one
    assert casefile.reception_checklist(meta, docs, "handler", {}) is None
    assert casefile.reception_checklist(meta, docs, "district_finance", {"x-checklist": True})
    assert casefile.reception_checklist(meta, docs, "reception", {"x-checklist": False}) is None
    code = submit(platform)
    checklist = view(platform, code, "Task_Receive", "motcua")["checklist"]
    assert [i["key"] for i in checklist] == ["application_letter", "manager_qualification",
                                            "safety_unit_decision", "manager_appointment"]
    assert [i["document"]["filename"] for i in checklist] == [
        f"{i['key']}.pdf" for i in checklist]
    assert checklist[0]["name_vi"].startswith("Giấy đề nghị cấp Giấy phép")
    code = appraised(platform)
    assert view(platform, code, "Task_Approve", "lanhdao")["checklist"] is None


def test_a_signing_step_signs_only_the_revision_shown(platform):
    code = appraised(platform)
    complete(platform, code, "Task_Approve", "lanhdao", {"head_decision": "approve"})
    shown = view(platform, code, "Task_SignHandler", "chuyenvien")
    [licence] = [d for d in shown["dossier"]["documents"] if d["name"] == shown["sign_document"]]
    with pytest.raises(InvalidData) as err:
        complete(platform, code, "Task_SignHandler", "chuyenvien", {"confirm": True},
                 passphrase="demo", signs_document=licence["id"] - 1)
    assert err.value.details[0]["field"] == "sign_document"
    complete(platform, code, "Task_SignHandler", "chuyenvien", {"confirm": True},
             passphrase="demo", signs_document=licence["id"])
    earlier = view(platform, code, "Task_SignHead", "lanhdao")["earlier"]
    # the handler's signing confirmation is x-show-to: [] — not shown; the approval is
    assert [s["title"] for s in earlier][:1] == ["Phê duyệt"]
    assert all("confirm" not in s["data"] for s in earlier)
