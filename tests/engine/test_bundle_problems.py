"""A bundle's problems (engine/bundle_problems.py): each names file, element and message in
English and Vietnamese, and the error that refuses a bundle lists the first five."""

from engine.bundle_problems import Problem, invalid
from engine.errors import InvalidBundle


def test_a_problem_reads_file_element_message_and_has_its_vietnamese_text():
    problem = Problem("procedure.yaml", "deadline", "required key is missing")
    assert str(problem) == "procedure.yaml: deadline: required key is missing"
    assert str(Problem("process.bpmn", "", "not UTF-8 text")) == "process.bpmn: -: not UTF-8 text"
    assert problem.as_dict() == {"file": "procedure.yaml", "element": "deadline",
                                 "message": "required key is missing",
                                 "message_vi": "thiếu khóa bắt buộc này"}


def test_the_refusal_shows_five_problems_counts_the_rest_and_carries_them_all():
    problems = [Problem("process.bpmn", f"Task_{n}", "not UTF-8 text") for n in range(7)]
    error = invalid(problems)
    assert isinstance(error, InvalidBundle)
    assert str(error).startswith("The procedure bundle is not valid: process.bpmn: Task_0: ")
    assert "Task_4" in str(error) and "Task_5" not in str(error)
    assert str(error).endswith("(and 2 more)")
    assert error.vi.startswith("Gói thủ tục không hợp lệ") and error.vi.endswith("(và 2 lỗi khác)")
    assert [d["element"] for d in error.details] == [f"Task_{n}" for n in range(7)]
    assert "more" not in str(invalid(problems[:5]))
