"""The libraries' messages reach the analyst in Vietnamese (:mod:`engine.library_texts`).

The catalogue check reads SpiffWorkflow's parsers: every message they raise a
``ValidationException`` with (literal, f-string or ``%`` with its parts filled by a
sample) must have its Vietnamese, so a problem from the parser is never shown
"(chưa dịch)". The deploy tests make an analyst's ordinary mistakes in the transport
licence, and in expressions (curly quotes, a pasted no-break space…), and read the
Vietnamese each gets.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import SpiffWorkflow

from engine import library_texts, problem_texts
from engine.calendar import WorkingCalendar
from engine.scripting import check_expression, make_evaluator

from .test_bundles import files, problems, replace

PARSERS = sorted(p for p in Path(SpiffWorkflow.__file__).parent.rglob("parser/*.py"))
RAISERS = {"ValidationException", "raise_validation_exception"}
SAMPLE = "x"


def _sample(node) -> str | None:
    """A text the message ``node`` renders to; None for one passed through (a variable, a
    wrapped exception's ``%r``: those are other messages)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else SAMPLE for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _sample(node.left)
        return None if left is None else left + (_sample(node.right) or SAMPLE)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = _sample(node.left)
        if left is None or left.strip() == "%r":
            return None
        return re.sub(r"%[rsd]", SAMPLE, left)
    return None


def _parser_messages() -> list[str]:
    found = []
    for path in PARSERS:
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call) or not call.args:
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(
                call.func, "id", "")
            if name in RAISERS and (text := _sample(call.args[0])) is not None:
                found.append(text.strip())
    return sorted(set(found))


def test_every_message_of_spiffworkflows_parsers_has_a_vietnamese_text():
    messages = _parser_messages()
    assert len(messages) >= 30
    assert "Non-default exclusive outgoing sequence flow without condition" in messages
    missing = [m for m in messages if problem_texts.vietnamese(m) is None]
    assert missing == []
    for message in messages:
        assert problem_texts.vietnamese(message) != message, message


def test_element_names_are_written_with_their_prefix():
    said = ("Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask', attribute 'x': "
            "'{urn:other}y' stays")
    assert library_texts.short(said) == "Element 'bpmn:userTask', attribute 'x': '{urn:other}y' stays"


def _one(platform, bundle) -> dict:
    found = problems(platform, bundle)
    assert found, "refused without a problem"
    assert not any(p["message_vi"].startswith("(chưa dịch)") for p in found), found
    return found[0]


def test_a_flow_out_of_a_gateway_without_condition_is_told_what_to_change(platform):
    found = _one(platform, replace(
        "process.bpmn", "<bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\">"
                        "reception_decision == 'accept'</bpmn:conditionExpression>", ""))
    assert found["element"] == "Flow_Reception_Accept"
    assert found["message"] == "Non-default exclusive outgoing sequence flow without condition"
    assert found["message_vi"] == (
        "luồng ra của cổng loại trừ không có điều kiện và không phải luồng mặc định: ghi điều "
        "kiện cho luồng, hoặc đặt nó làm luồng mặc định của cổng")


@pytest.mark.parametrize("old, new, element, vietnamese", [
    ('id="Task_Appraise"', 'id="Task_Receive"', "line",
     "mã 'Task_Receive' của bpmn:userTask bị trùng với phần tử khác hoặc viết sai"),
    ('<bpmn:userTask id="Task_Receive"', '<bpmn:userTask colour="red" id="Task_Receive"', "line",
     "thuộc tính colour không được phép trên bpmn:userTask: bỏ thuộc tính này"),
    ('isExecutable="true"', 'isExecutable="false"', "transport_business_licence",
     'quy trình transport_business_licence không được đánh dấu thực thi'),
    ('name="Kết quả kiểm tra?"', 'name="Nhận & trả?"', "line",
     "XML sai cấu trúc: ký tự & đứng riêng: viết &amp; (dòng "),
    ("</bpmn:process>", "</bpmn:proces>", "line",
     "XML sai cấu trúc: thẻ mở <process> (dòng 6) lại được đóng bằng </proces> (dòng "),
])
def test_mistakes_the_libraries_find_are_told_in_vietnamese(platform, old, new, element,
                                                             vietnamese):
    found = _one(platform, replace("process.bpmn", old, new))
    assert found["element"].startswith(element)
    assert found["message_vi"].startswith(vietnamese), found["message_vi"]


def test_a_procedure_yaml_that_is_not_yaml_names_its_line_and_is_not_called_missing(platform):
    text = files()["procedure.yaml"].replace("level: 4", "level: [4", 1)
    found = problems(platform, files(**{"procedure.yaml": text}))
    assert [(p["file"], p["element"]) for p in found] == [("procedure.yaml", "line 19, column 13")]
    assert found[0]["message_vi"] == ("không phải YAML hợp lệ: thụt lề hoặc dấu ngoặc không "
                                      "khớp: cần ',' or ']', nhưng gặp ':'")


@pytest.mark.parametrize("expression, vietnamese", [
    ("reception_decision == “accept”",
     "ký tự '“' (U+201C) không dùng được trong biểu thức: dấu nháy là ' hoặc \""),
    ("reception_decision\u00a0== 'accept'", "có ký tự ẩn U+00A0 (thường do sao chép"),
    ("vehicle_count > 01", "số nguyên không được bắt đầu bằng chữ số 0"),
    ("'accept' if reception_decision", "thiếu 'else'"),
    ("(reception_decision == 'accept']", "dấu đóng ']' không khớp dấu mở '('"),
    ("{'a': }", "thiếu giá trị sau khóa và dấu ':'"),
])
def test_expression_mistakes_are_told_in_vietnamese(expression, vietnamese):
    [said] = check_expression(make_evaluator(WorkingCalendar()))(expression)
    text = problem_texts.vietnamese(f"expression {expression!r}: {said}")
    assert text.startswith(f"biểu thức {expression!r}: Lỗi cú pháp: {vietnamese}"), text
    assert text.endswith("(dòng 1)")


def test_a_form_pattern_that_is_no_regular_expression_is_told_in_vietnamese(platform):
    found = _one(platform, replace("forms/receive.json", '"maxLength": 2000',
                                   '"maxLength": 2000, "pattern": "["'))
    assert (found["file"], found["element"]) == ("forms/receive.json", "properties/reason/pattern")
    assert found["message_vi"] == ("không phải JSON Schema hợp lệ: '[' không phải biểu thức chính "
                                   "quy (regex) hợp lệ: kiểm tra các dấu ngoặc và dấu \\")
