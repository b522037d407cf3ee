"""A BPMN data store belongs to the procedure: every dossier reads and writes the same value,
in its step's transaction (a step that fails writes nothing). Save/restore after each step."""

import pytest
from sqlalchemy import select

from engine import accounts, dossiers
from engine.errors import ScriptError
from engine.models import ProcedureDataStore
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import bundle, complete, data, deploy, finished, submit


def stored(p) -> list:
    with p.db.transaction() as session:
        return [(r.name, r.value) for r in session.execute(select(ProcedureDataStore)).scalars()]


def test_dossiers_of_a_procedure_share_its_data_store(platform):
    procedure = deploy(platform, "data_store")
    first = submit(platform, procedure)
    second = submit(platform, procedure)
    assert data(platform, first)["licence_number"] == "GP-0001"
    assert data(platform, second)["licence_number"] == "GP-0002"
    assert "issued_count" not in data(platform, second)  # written to the store, not the data
    assert stored(platform) == [("issued_count", 2)]
    complete(platform, first, "confirm")
    assert finished(platform, first)


def test_a_failed_step_leaves_the_store_as_it_was(platform):
    procedure = deploy(platform, "data_store")
    submit(platform, procedure)
    text = bundle("data_store")["process.bpmn"]  # the officer's task becomes a failing script
    cut = slice(text.index('<bpmn:userTask id="confirm"'),
                text.index("</bpmn:userTask>") + len("</bpmn:userTask>"))
    text = text[:cut.start] + ('<bpmn:scriptTask id="confirm"><bpmn:incoming>f2</bpmn:incoming>'
                               '<bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>x = 1 / 0'
                               '</bpmn:script></bpmn:scriptTask>') + text[cut.stop:]
    deploy_bundle(platform, bundle("data_store", text=text))
    with pytest.raises(ScriptError):
        dossiers.submit(platform, accounts.find_user(platform, "congdan"), procedure, {}, {})
    assert stored(platform) == [("issued_count", 1)]
