"""Every kind of deploy-time problem has a Vietnamese text, and suspicious choices warn.

The check reads the validating modules' source: every message written into a problem
(literal, f-string with its parts filled by a sample, concatenation, the advice tables)
must be in :mod:`engine.problem_texts`' catalogue. A new kind of problem written in
English only fails here.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from engine import (
    bundle_meta,
    bundle_specs,
    bundle_warnings,
    bundles,
    elements,
    eventsubs,
    problem_texts,
    procedures,
)
from engine.procedures import deploy_bundle

from .test_bundles import files, problems, replace

MODULES = [bundles, bundle_meta, bundle_specs, elements, procedures, bundle_warnings, eventsubs]
PROBLEM_CALLS = {"Problem", "bad", "problem", "found_problem"}
SAMPLE = "x"


def _renders(node, module_strings: dict, local: dict) -> list[str] | None:
    """Sample texts ``node`` can evaluate to; None when it is a parameter passed through."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else SAMPLE for v in node.values)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _renders(node.left, module_strings, local) or [SAMPLE]
        right = _renders(node.right, module_strings, local) or [SAMPLE]
        return [a + b for a, b in itertools.product(left, right)]
    if isinstance(node, ast.BoolOp):
        out = []
        for value in node.values:
            out += _renders(value, module_strings, local) or []
        return out
    if isinstance(node, ast.Name):
        if node.id in local:
            return _renders(local[node.id], module_strings, local)
        if node.id in module_strings:
            return module_strings[node.id]
        return None  # a parameter: its callers are checked
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_first_line":
        return None  # a library's own message (XSD, SpiffWorkflow's parser): passed through
    if isinstance(node, ast.Subscript | ast.Call):  # ADVICE[kind], ADVICE.get(kind), join()
        target = node.value if isinstance(node, ast.Subscript) else getattr(node.func, "value",
                                                                            None)
        if isinstance(target, ast.Name) and target.id in module_strings:
            return module_strings[target.id]
        return [SAMPLE]
    return [SAMPLE]


def _messages(module) -> list[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    module_strings: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Dict) and all(
                    isinstance(v, ast.Constant) and isinstance(v.value, str)
                    for v in value.values):
                module_strings[node.targets[0].id] = [v.value for v in value.values]
            elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                module_strings[node.targets[0].id] = [value.value]
    found = []
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        local = {n.targets[0].id: n.value for n in ast.walk(function)
                 if isinstance(n, ast.Assign) and len(n.targets) == 1
                 and isinstance(n.targets[0], ast.Name)}
        for call in ast.walk(function):
            if not isinstance(call, ast.Call):
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(
                call.func, "id", "")
            if name in PROBLEM_CALLS and call.args:
                found += _renders(call.args[-1], module_strings, local) or []
    # The refusal tables are messages whether or not a call names them directly.
    for name in ("REFUSED_ELEMENTS", "ADVICE", "START_ADVICE", "POOL_START"):
        found += module_strings.get(name, []) if module is elements else []
    return sorted(set(found))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_kind_of_deploy_problem_has_a_vietnamese_text(module):
    messages = _messages(module)
    assert len(messages) >= (3 if module in (procedures, bundle_warnings, eventsubs) else 12)
    missing = [m for m in messages if problem_texts.vietnamese(m) is None]
    assert missing == []
    for message in messages:
        vi = problem_texts.vietnamese(message)
        assert vi != message, message  # a translation, not the English passed through


def test_an_unknown_message_is_marked_untranslated_not_hidden():
    assert problem_texts.vietnamese("something new went wrong") is None
    assert problem_texts.in_vietnamese("something new went wrong") == \
        "(chưa dịch) something new went wrong"


def test_errors_reach_the_analyst_in_vietnamese_naming_the_element(platform):
    bundle = replace("process.bpmn", '<bpmn:lane id="Lane_Head" name="head">',
                     '<bpmn:lane id="Lane_Head" name="giam_doc">')
    found = problems(platform, bundle)
    lane = next(p for p in found if p["element"] == "Task_Approve")
    assert lane["message_vi"].startswith("làn 'giam_doc' không phải vai trò đã biết")
    bad_expr = replace("process.bpmn", "reception_decision == 'accept'",
                       "reception_decision == ")
    [syntax] = problems(platform, bad_expr)
    assert syntax["element"] == "Gateway_Reception"
    assert syntax["message_vi"] == ("biểu thức 'reception_decision == ': Lỗi cú pháp: sai cú "
                                    "pháp (dòng 1)")


def test_suspicious_choices_are_warnings_that_do_not_stop_a_deploy(platform):
    clean = deploy_bundle(platform, files(), check_only=True)
    assert clean["warnings"] == []
    text = files()["process.bpmn"]
    # the reception step drawn in the applicant's lane, its form removed, no default flow
    text = text.replace('<bpmn:flowNodeRef>Task_Receive</bpmn:flowNodeRef>', '', 1)
    text = text.replace('<bpmn:flowNodeRef>Task_Supplement</bpmn:flowNodeRef>',
                        '<bpmn:flowNodeRef>Task_Supplement</bpmn:flowNodeRef>'
                        '<bpmn:flowNodeRef>Task_Receive</bpmn:flowNodeRef>', 1)
    text = text.replace('<spiffworkflow:property name="formJsonSchemaFilename" '
                        'value="forms/receive.json" />', '', 1)
    result = deploy_bundle(platform, files(**{"process.bpmn": text}), check_only=True)
    by_element = {(w["element"], w["message_vi"].split(":")[0]) for w in result["warnings"]}
    assert ("Task_Receive", "bước tiếp nhận hoặc phê duyệt nằm trong làn người nộp hồ sơ") \
        in by_element
    assert ("Task_Receive", "tác vụ người dùng không có biểu mẫu") in by_element
    assert not any(w["element"] == "Gateway_Reception" for w in result["warnings"])
    conditional = text.replace(' default="Flow_Reception_Supplement"', '', 1).replace(
        'targetRef="Task_SetSupplementRequested" />',
        'targetRef="Task_SetSupplementRequested"><bpmn:conditionExpression>reception_decision '
        "== 'supplement'</bpmn:conditionExpression></bpmn:sequenceFlow>", 1)
    result = deploy_bundle(platform, files(**{"process.bpmn": conditional}), check_only=True)
    [gateway] = [w for w in result["warnings"] if w["element"] == "Gateway_Reception"]
    assert gateway["message_vi"].startswith("cổng rẽ nhánh không có luồng mặc định")
