"""The forms' fast check (engine.forms.fast_check) against jsonschema alone: whatever the
data, a form accepts the same values and says the same about the others."""

from __future__ import annotations

import contextlib
import json
import re
from collections import OrderedDict
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import forms
from engine.errors import InvalidData

ROOT = Path(__file__).resolve().parents[2]
FORM_FILES = sorted([*ROOT.glob("bpmn/*/forms/*.json"), *ROOT.glob("bench/three-tasks/forms/*.json")])
FORMS = {str(path.relative_to(ROOT)): json.loads(path.read_text()) for path in FORM_FILES}

#: Values for the forms' patterns, tried in turn; the first that matches is the good one.
PATTERN_SAMPLES = ["0912345678", "+84912345678", "0101234567", "0101234567-001", "GP-56-0001",
                   "1234567", "36A-123.45", "29LD-1234", "Nội dung"]
#: Odd values, each tried in every field: wrong types, booleans against numbers, format
#: and pattern misses, edges of lengths and ranges, hidden characters.
ODD = [None, True, False, 0, 1, -1, 1.0, 1.5, float("nan"), float("inf"), 10**20, "", " ",
       "\n", "x", "0912345678\n", "091234567", "a@b", "@", "ten@vidu.vn", "tên@ví dụ",
       "2026-12-25", "2026-02-30", "2026-2-3", "25/12/2026", "2026-12-25\n",
       "２０２６-12-25", "GP-\n", "Công ty\u200b", "approve", "accept", "fixed_route",
       [], ["x"], ["fixed_route", "fixed_route"], ["fixed_route", "taxi"], [1, 1.0],
       [True, 1], {}, {"a": 1}, "x" * 4001]


def _choices(prop: dict) -> list:
    """The values a field offers (const, enum, oneOf of consts), in order."""
    if "const" in prop:
        return [prop["const"]]
    if "enum" in prop:
        return list(prop["enum"])
    return [branch["const"] for branch in prop.get("oneOf", ()) if "const" in branch]


def _patterns(schema, name: str) -> list[str]:
    """The patterns a field must match, in the form and in its conditions (then, else)."""
    if not isinstance(schema, dict):
        return []
    found = [(schema.get("properties") or {}).get(name, {}).get("pattern", "")]
    for sub in [*schema.get("allOf", ()), *schema.get("oneOf", ()), schema.get("then"),
                schema.get("else")]:
        found += _patterns(sub, name)
    return found


def good_data(schema: dict) -> dict:
    return {name: good(prop, _patterns(schema, name))
            for name, prop in (schema.get("properties") or {}).items()}


def good(prop: dict, patterns: list[str] = ()):
    """A value the field accepts, as a citizen would enter it."""
    choices = _choices(prop)
    if choices:
        return choices[0]
    kind = prop.get("type")
    if kind == "array":
        return [good(prop.get("items") or {})]
    if kind == "object":
        return {name: good(sub) for name, sub in (prop.get("properties") or {}).items()}
    if kind == "integer":
        return prop.get("minimum", 1)
    if kind == "boolean":
        return True
    return {"email": "ten@vidu.vn", "date": "2026-12-25", "document": "7"}.get(
        prop.get("format"),
        next((s for s in PATTERN_SAMPLES
              if all(re.search(p, s) for p in [prop.get("pattern", ""), *patterns])), "x"))


def _every_choice(schema: dict) -> dict[str, list]:
    return {name: _choices(prop) for name, prop in (schema.get("properties") or {}).items()
            if _choices(prop)}


def corpus(schema: dict) -> list[dict]:
    """Good data, and each field of it missing, given each of its choices and each odd
    value, and a field the form does not have."""
    props = schema.get("properties") or {}
    full = good_data(schema)
    least = {name: full[name] for name in schema.get("required", ()) if name in full}
    out = [full, least, {}, {**full, "extra": "x"}]
    for name in props:
        for base in (full, least):
            out.append({k: v for k, v in base.items() if k != name})
            for choice in _every_choice(schema).get(name, ()):
                out.append({**base, name: choice})
        for value in ODD:
            out.append({**full, name: value})
        if props[name].get("type") == "array":
            out.append({**full, name: tuple(full[name])})
            out.append({**full, name: [full[name][0], full[name][0]]})
    return out


@contextlib.contextmanager
def slow():
    """jsonschema alone, as before the fast check."""
    checks = forms.checks
    with mock.patch.object(forms, "checks", lambda schema: (checks(schema)[0], None)):
        yield


def outcome(schema: dict, data: dict, **kwargs):
    try:
        return "accepted", forms.validate(schema, data, **kwargs)
    except InvalidData as refused:
        return "refused", str(refused), refused.vi, refused.details


def same_answers(schema: dict, data: dict) -> None:
    """``problems`` and ``validate`` say the same with the fast check and without; and the
    fast check never says valid where jsonschema finds an error."""
    checker, fast = forms.checks(schema)
    if fast is not None and fast(data):
        assert not list(checker.iter_errors(data)), data
    found = forms.problems(schema, data), outcome(schema, data)
    with slow():
        assert (forms.problems(schema, data), outcome(schema, data)) == found, data


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_form_gets_the_same_answers_on_a_corpus_of_good_and_bad_data(name):
    schema = FORMS[name]
    for data in corpus(schema):
        same_answers(schema, data)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_form_has_a_fast_check_that_accepts_its_good_data(name):
    """Else the comparisons above would only compare jsonschema with itself."""
    schema = FORMS[name]
    fast = forms.checks(schema)[1]
    assert fast is not None, f"{name}: a keyword or format not vetted in engine/forms.py"
    full = good_data(schema)
    assert fast(full) and forms.validator(schema).is_valid(full)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**6) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(ODD[:32]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=6)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_form_gets_the_same_answers_on_generated_data(name):
    schema = FORMS[name]
    props = schema.get("properties") or {}
    choices = [c for options in _every_choice(schema).values() for c in options]
    value = JSON | st.sampled_from([good(p) for p in props.values()] + choices)
    field = st.sampled_from([*props, "extra"])

    @settings(max_examples=100, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(field, value, max_size=len(props) + 1), st.booleans())
    def check(data: dict, from_good: bool) -> None:
        if from_good:  # good data with some fields changed: nearer the edges that matter
            data = {**good_data(schema), **data}
        same_answers(schema, data)

    check()


TRICKY = {
    "type": "object",
    "properties": {
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "share": {"type": "number", "maximum": 1},
        "agree": {"type": "boolean", "const": True},
        "flag": {"const": 1},
        "code": {"enum": ["1", None, False]},
        "phone": {"type": "string", "pattern": "^0[0-9]{9}$"},
        "email": {"type": "string", "format": "email"},
        "day": {"type": "string", "format": "date"},
        "kinds": {"type": "array", "uniqueItems": True, "minItems": 1},
        "kind": {"oneOf": [{"const": "a"}, {"const": "a"}, {"const": "b"}]},
        "person": {"type": "object", "required": ["name"], "additionalProperties": False,
                   "properties": {"name": {"type": "string", "minLength": 2}}},
    },
    "additionalProperties": False,
}


@pytest.mark.parametrize("data", [
    {"count": True}, {"count": 1.0}, {"count": 2.5}, {"count": 0}, {"count": 11},
    {"share": True}, {"share": 1}, {"share": float("nan")}, {"share": 2},
    {"agree": 1}, {"agree": 1.0}, {"agree": True}, {"flag": True}, {"flag": 1.0}, {"flag": 1},
    {"code": 1}, {"code": 0}, {"code": None}, {"code": False}, {"code": "1"},
    {"phone": "0912345678"}, {"phone": "0912345678\n"}, {"phone": "091234567"},
    {"email": "a@b"}, {"email": "ab"}, {"email": 5}, {"day": "2026-02-29"},
    {"day": "2028-02-29"}, {"day": "2026-1-01"}, {"day": "٢٠٢٦-01-01"}, {"day": 20260101},
    {"kinds": [1, 1.0]}, {"kinds": [True, 1]}, {"kinds": [{"a": 1, "b": 2}, {"b": 2, "a": 1}]},
    {"kinds": [[1], [True]]}, {"kinds": ("a", "b")}, {"kinds": []}, {"kinds": "ab"},
    {"kind": "a"}, {"kind": "b"}, {"kind": "c"},
    {"person": {"name": "An"}}, {"person": {"name": "A"}}, {"person": {}},
    {"person": {"name": "An", "age": 3}}, {"person": OrderedDict(name="An")},
    {"person": []}, {"unknown": 1},
])
def test_the_edges_where_the_two_libraries_could_differ_get_the_same_answers(data):
    same_answers(TRICKY, data)


def test_the_fast_check_answers_valid_for_good_data_of_the_tricky_form():
    assert forms.checks(TRICKY)[1]({"count": 3, "phone": "0912345678", "kinds": ["a"],
                                    "person": {"name": "An"}, "kind": "b"})


@pytest.mark.parametrize("unvetted", [
    {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    {"type": "string", "pattern": "^(?!a$)"},
    {"type": "string", "pattern": "[$]"},
    {"type": "string", "format": "uri"},
    {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
    {"type": "object", "minProperties": 1},
    {"type": "string", "default": "x"},
    {"$ref": "#/properties/other"},
    {"type": "array", "prefixItems": [{"type": "string"}]},
    {"not": {"type": "null"}},
    {"enum": [[1]]},
    {"type": "integer", "minimum": float("inf")},
])
def test_a_form_with_a_keyword_not_vetted_is_checked_by_jsonschema_alone(unvetted):
    schema = {"type": "object", "properties": {"field": {"title": "Trường", **unvetted},
                                               "other": {"type": "string"}}}
    for value in [None, True, 1, 2.5, "", "a", "a\n", "http://x", [], ["a"], [[1]], {}, {"x": 1}]:
        same_answers(schema, {"field": value})
    assert forms.checks(schema)[1] is None


def test_a_value_of_a_type_json_does_not_have_goes_to_jsonschema():
    """A tuple is no JSON array for jsonschema: the form says so, as before."""
    schema = {"type": "object", "properties": {"kinds": {"type": "array", "title": "Loại"}}}
    fast = forms.checks(schema)[1]
    assert fast is not None and fast({"kinds": ["a"]}) and not fast({"kinds": ("a",)})
    with pytest.raises(InvalidData) as refused:
        forms.validate(schema, {"kinds": ("a",)})
    assert refused.value.details[0]["message_vi"] == "Phải là một danh sách."


def test_hidden_characters_are_still_refused_in_data_the_schema_accepts():
    schema = FORMS["bpmn/transport-business-licence/forms/appraise.json"]
    data = {"recommendation": "approve", "appraisal_notes": "Đạt\u202e", "licence_number": "GP-1"}
    assert forms.checks(schema)[1](data)
    with pytest.raises(InvalidData) as refused:
        forms.validate(schema, data)
    assert [e["field"] for e in refused.value.details] == ["appraisal_notes"]
    assert "ký tự ẩn" in refused.value.details[0]["message_vi"]
