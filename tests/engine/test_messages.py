"""engine.messages: where a message goes (its correlation) and what it may carry (plain JSON,
no ``typename``). The journeys of messages between dossiers are in elements/test_messages.py
and test_cooperation.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent

from engine.errors import ScriptError
from engine.messages import _plain, outgoing_correlation

OWN = "000.00.14.H56-261206-0001"


def event(correlations=None) -> BpmnEvent:
    return BpmnEvent(MessageEventDefinition("forward"), payload={}, correlations=correlations)


def test_a_message_with_no_correlation_goes_to_its_own_dossier():
    assert outgoing_correlation(event(), OWN) == OWN
    assert outgoing_correlation(event({"by_code": {"dossier_code": None}}), OWN) == OWN


def test_a_correlation_property_addresses_another_dossier():
    other = "000.00.09.H56-261206-0007"
    assert outgoing_correlation(event({"by_code": {"dossier_code": other}}), OWN) == other


def test_several_correlation_values_choose_the_same_one_every_time():
    values = {"b": {"y": "second", "x": "first"}, "a": {"z": None}}
    assert outgoing_correlation(event(values), OWN) == "first"
    assert outgoing_correlation(event(dict(reversed(values.items()))), OWN) == "first"


def test_a_payload_becomes_plain_json():
    payload = {"on": date(2026, 12, 6), "at": datetime(2026, 12, 6, 8, 30),
               "fee": Decimal("50000"), "items": [{"n": 1}], "name": "Sở Tài chính"}
    assert _plain(payload, "'forward'") == {
        "on": "2026-12-06", "at": "2026-12-06 08:30:00", "fee": "50000",
        "items": [{"n": 1}], "name": "Sở Tài chính"}


def test_a_payload_with_a_typename_key_is_refused_wherever_it_is():
    with pytest.raises(ScriptError) as err:
        _plain({"items": [{"deep": {"typename": "BpmnWorkflow"}}]}, "'forward'")
    assert "'forward'" in err.value.message and "typename" in err.value.vi
