"""Service-task operators called by name, as a diagram's service task calls them
(:func:`engine.operators.call`); the ones here need no database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine import operators
from engine.errors import OperatorError, ScriptError
from engine.platform import install


@pytest.fixture
def step():
    install()  # the registry, as every platform fills it
    version = SimpleNamespace(meta={"fee": {"amount": 150000, "currency": "VND"}, "level": 4})
    return SimpleNamespace(version=version, dossier=None, session=None, actor="system")


def test_an_unknown_operator_is_a_script_error_naming_it(step):
    with pytest.raises(ScriptError, match="Unknown service operator 'send_fax'"):
        operators.call(step, None, "send_fax", {})


def test_require_passes_or_throws_the_business_error_code(step):
    assert operators.call(step, None, "require", {"condition": True, "code": "E1"}) == {"ok": True}
    with pytest.raises(OperatorError) as raised:
        operators.call(step, None, "require", {"condition": [], "code": "NO_LICENCE"})
    assert raised.value.code == "NO_LICENCE"
    assert "NO_LICENCE" in str(raised.value)
    with pytest.raises(OperatorError, match="Vehicle too old"):
        operators.call(step, None, "require", {"condition": 0, "code": "OLD",
                                               "message": "Vehicle too old"})


def test_procedure_data_gives_copies_of_the_named_entries(step):
    data = operators.call(step, None, "procedure_data", {"keys": ["fee", "missing"]})
    assert data == {"fee": {"amount": 150000, "currency": "VND"}, "missing": None}
    data["fee"]["amount"] = 0  # a script changing its copy changes no procedure
    assert step.version.meta["fee"]["amount"] == 150000
    assert operators.call(step, None, "procedure_data", {"keys": "level"}) == {"level": 4}


def test_an_unknown_status_is_refused_before_anything_changes(step):
    with pytest.raises(ScriptError, match="Unknown dossier status 'lost'"):
        operators.call(step, None, "set_status", {"status": "lost"})
