"""The demo history's pure parts: its length, and how a scenario's application is made
each dossier's own (the run itself is measured, see README)."""

from __future__ import annotations

import random
import re

import pytest

from engine import history


def test_the_length_is_months():
    assert history.parse_months("6m") == history.parse_months("6") == 6
    for bad in ("", "0m", "25m", "six", "6w"):
        with pytest.raises(ValueError):
            history.parse_months(bad)


def test_an_application_is_varied_within_its_form():
    form = {"properties": {
        "plate": {"type": "string", "pattern": r"^\d{2}[A-Z]-\d{3}\.\d{2}$"},
        "unit_name": {"type": "string"}, "phone": {"type": "string"},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "decided_on": {"type": "string", "format": "date"}}}
    data = {"plate": "36B-123.45", "unit_name": "Trường Tiểu học Điện Biên", "phone": "0912345678",
            "kind": "a", "decided_on": "2026-09-01"}
    varied = history.vary(form, data, random.Random(1), 41)
    assert re.search(form["properties"]["plate"]["pattern"], varied["plate"])
    assert varied["plate"].endswith("5")  # the last digit stays (stand-in providers read it)
    assert varied["unit_name"] == "Trường Tiểu học Điện Biên 42"
    assert {k: varied[k] for k in ("phone", "kind", "decided_on")} == {
        "phone": "0912345678", "kind": "a", "decided_on": "2026-09-01"}
