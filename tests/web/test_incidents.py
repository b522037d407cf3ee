"""Bugs are not business errors: an operator that crashes (a TypeError, not an
OperatorError) makes the request a 500 with an incident id, logged with its traceback —
never a 422 blaming the diagram or the applicant's data."""

from __future__ import annotations

import logging
import re

import pytest

from engine import accounts, operators
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import bundle, diagram, open_rows, submit

BROKEN = "broken_for_incident_test"


@operators.operator
def broken_for_incident_test(step, task, condition=None, code=None, message=None):
    """A deliberately broken operator: a programming error, not a business failure."""
    return len(None)  # TypeError: object of type 'NoneType' has no len()


@pytest.fixture
def broken_procedure(platform, monkeypatch) -> str:
    """The operator_uncaught element diagram with its service task calling the broken
    operator, deployed as a tiny bundle."""
    monkeypatch.setitem(operators.REGISTRY, BROKEN, broken_for_incident_test.operator)
    text = diagram("operator_uncaught").replace('serviceTaskOperator id="require"',
                                                f'serviceTaskOperator id="{BROKEN}"')
    assert BROKEN in text
    files = bundle("operator_uncaught", text=text)
    files["procedure.yaml"] = files["procedure.yaml"].replace("el-operator-uncaught",
                                                              "el-broken-operator")
    return deploy_bundle(platform, files)["code"]


@pytest.fixture
def client(platform):
    from web import create_app

    return create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()


def test_a_crashing_operator_is_a_500_with_an_incident_id_not_a_422(platform, broken_procedure,
                                                                    client, caplog):
    code = submit(platform, broken_procedure)
    [row] = open_rows(platform, code)
    officer = accounts.find_user(platform, "motcua")
    token = accounts.issue_token(platform, officer.id)
    with caplog.at_level(logging.ERROR):
        response = client.post(f"/api/v1/tasks/{row.id}/complete",
                               headers={"Authorization": f"Bearer {token}"},
                               json={"data": {"note": "paid"}})
    assert response.status_code == 500, response.json
    body = response.json
    assert body["error"] == "InternalServerError"
    incident = body["incident"]
    assert re.fullmatch(r"[0-9a-f]{12}", incident)
    assert incident in body["message"] and incident in body["message_vi"]
    assert "NoneType" not in response.get_data(as_text=True)  # no internals to the client
    [record] = [r for r in caplog.records if incident in r.getMessage()]
    assert record.exc_info is not None
    assert record.exc_info[0] is TypeError, record.exc_info  # the operator's own error
    assert "broken_for_incident_test" in caplog.text  # its traceback, down to the operator
    # nothing moved: the step rolled back whole
    assert [r.spec_name for r in open_rows(platform, code)] == ["go"]
