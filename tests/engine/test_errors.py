"""The engine's errors (engine/errors.py): each kind carries the HTTP status web/ answers
with, its message in English and Vietnamese, and machine-readable details."""

import pytest

from engine import errors


@pytest.mark.parametrize("kind, status", [
    (errors.EngineError, 400), (errors.NotFound, 404), (errors.PermissionDenied, 403),
    (errors.Conflict, 409), (errors.InvalidData, 422), (errors.InvalidBundle, 422),
    (errors.ScriptError, 422),
])
def test_each_kind_of_error_has_its_http_status(kind, status):
    error = kind("Something is wrong.", vi="Có lỗi.")
    assert error.status == status
    assert error.to_dict() == {"error": kind.__name__, "message": "Something is wrong.",
                               "message_vi": "Có lỗi.", "details": []}


def test_without_a_vietnamese_text_the_message_stands_for_both_and_details_are_not_shared():
    first, second = errors.InvalidData("Bad field."), errors.InvalidData("Bad field.")
    assert first.vi == "Bad field." and str(first) == "Bad field."
    first.details.append({"field": "x", "message": "required"})
    assert second.details == []


def test_an_operator_error_carries_the_bpmn_error_code_a_boundary_event_catches():
    error = errors.OperatorError("BUDGET_CLOSED", "The budget year is closed.",
                                 details={"year": 2026})
    assert error.code == "BUDGET_CLOSED" and error.status == 422
    assert error.to_dict()["details"] == {"year": 2026}
    assert isinstance(error, errors.EngineError)
