"""A transaction sub-process with a cancel end event and a cancel boundary event, walked with
a save/restore after every step; a cancel event outside a transaction is refused."""

import pytest

from engine.errors import InvalidBundle
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import bundle, complete, data, deploy, finished, submit


@pytest.mark.parametrize("result, outcome", [("GP-01", "kept GP-01"), ("", "cancelled")])
def test_a_transaction_completes_or_is_cancelled(platform, result, outcome):
    code = submit(platform, deploy(platform, "transaction"))
    complete(platform, code, "collect", {"result": result})
    assert finished(platform, code) and data(platform, code)["outcome"] == outcome


def test_a_cancel_end_event_needs_a_cancel_boundary_event(platform):
    text = bundle("transaction")["process.bpmn"].replace(
        '<bpmn:cancelEventDefinition/></bpmn:boundaryEvent>',
        '<bpmn:errorEventDefinition/></bpmn:boundaryEvent>')
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, bundle("transaction", text=text), check_only=True)
    [problem] = err.value.details
    assert problem["element"] == "tx_cancel" and "no cancel boundary event" in problem["message"]
