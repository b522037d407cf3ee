"""Form data against a form's JSON Schema: coerce nothing, check everything, name each field.

File fields are ``{"type": "string", "format": "document"}``: the uploaded file is
checked (size, type by content), stored, and its document id becomes the value.
"""

from __future__ import annotations

import copy
import json
import math
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache, partial

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker

from . import documents
from .documents import sniff
from .errors import InvalidData
from .storage import Upload

RESERVED_KEYS = {"typename", "dossier", "application"}


#: A compiled check that answers only "valid" (True) or "ask jsonschema" (False).
Accepts = Callable[[object], bool]


@lru_cache(maxsize=256)
def _checks(schema_json: str) -> tuple[Draft202012Validator, Accepts | None]:
    return _build(json.loads(schema_json))


def _build(schema: dict) -> tuple[Draft202012Validator, Accepts | None]:
    checker = Draft202012Validator(schema, format_checker=FormatChecker())
    return checker, fast_check(schema, checker)


def checks(schema: dict) -> tuple[Draft202012Validator, Accepts | None]:
    """The validator of ``schema`` and its fast check (None: the schema is not vetted for
    one, :func:`fast_check`): a version's own form (:func:`shared_form`) has them built
    with it; any other schema is found by its content."""
    found = _SHARED.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    return _checks(json.dumps(schema, sort_keys=True))


def shared_schema(schema: dict) -> dict:
    """``schema`` with its validator and fast check built now and found by identity by
    :func:`checks`, as a version's forms are: for a schema the process keeps and never
    changes (a module's constant), which would otherwise be encoded to JSON at every
    check to find its validator by content."""
    _SHARED[id(schema)] = (schema, _build(schema))
    return schema


def validator(schema: dict) -> Draft202012Validator:
    """The jsonschema validator of ``schema`` (see :func:`checks`)."""
    return checks(schema)[0]


# The fast path. jsonschema walks a schema keyword by keyword for each value and builds
# an error object for each failure: what the messages need, but most of the cost of a
# step's form, whose data is nearly always valid. fastjsonschema compiles a schema once to
# plain Python that only says valid or not. It answers "valid" here only for schemas whose
# every keyword and format is on the list below, each because fastjsonschema 2.22.3 (its
# draft 2019-09 generator, which it picks for a 2020-12 schema or one without $schema)
# accepts no value that jsonschema's Draft202012Validator with a FormatChecker refuses,
# for data made of plain JSON values (:func:`_plain`). Everything else — a refusal, an
# unvetted schema, data of other types — goes to jsonschema, which gives the messages.
# tests/engine/test_forms_fast.py checks both answer alike on every form of bpmn/.

def _any(value) -> bool:
    return True


def _count(value) -> bool:
    return type(value) is int and value >= 0


def _number(value) -> bool:
    # written into the generated code as text: inf and nan would not be numbers there
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _scalar(value) -> bool:
    return value is None or type(value) in (str, bool) or _number(value)


#: The JSON types by name: fastjsonschema tests isinstance of the same Python types
#: (null: None, boolean: bool, string: str, object: dict, integer: int or a whole float,
#: bool excluded, number: int, float, Decimal, bool excluded — jsonschema takes any
#: numbers.Number); "array" takes a tuple too where jsonschema wants a list, which
#: :func:`_plain` rules out.
_TYPES = frozenset({"null", "boolean", "string", "object", "integer", "number", "array"})


def _type(value) -> bool:
    names = value if isinstance(value, list) else [value]
    return bool(names) and all(isinstance(n, str) and n in _TYPES for n in names)


def _pattern(value) -> bool:
    # Both search with Python's re, same flags. fastjsonschema turns every unescaped "$"
    # into "\Z" (end of text only, not before a final line break): only stricter when the
    # "$" anchors the end of the whole pattern; inside a negative look-around or a
    # character class it would accept more, so only a trailing "$" is vetted.
    if not isinstance(value, str) or "$" in value[:-1]:
        return False
    try:
        re.compile(value)
    except re.error:
        return False
    return True


#: The formats the forms use. Their checks are jsonschema's own (the validator's
#: FormatChecker, handed to fastjsonschema as custom formats, which it calls on strings
#: only — jsonschema's email and date checks accept every non-string too); "document"
#: (a stored file's id, engine.forms) is a format jsonschema does not know, so neither
#: checks it.
_FORMATS = frozenset({"email", "date", "document"})

#: Keyword: what its value must be for the keyword to be vetted.
_VETTED: dict[str, Callable[[object], bool]] = {
    # annotations: neither library asserts anything with them
    "title": _any, "description": _any, "examples": _any, "$comment": _any,
    "$schema": lambda v: v == "https://json-schema.org/draft/2020-12/schema",
    "type": _type,
    # applied to objects only by both, to the named members; "required": each name present
    "properties": lambda v: isinstance(v, dict),
    "required": lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v),
    # false: no member but those of "properties" (patternProperties is not vetted)
    "additionalProperties": lambda v: isinstance(v, bool),
    # strings only, both count code points with len()
    "minLength": _count, "maxLength": _count,
    # numbers only (bools excluded) by both, the same comparison
    "minimum": _number, "maximum": _number,
    # arrays only; uniqueItems compares as jsonschema does (1 == 1.0, True != 1, dicts by
    # content), items as one schema for every element
    "minItems": _count, "uniqueItems": lambda v: isinstance(v, bool),
    "items": lambda v: isinstance(v, dict),
    "pattern": _pattern,
    "format": lambda v: v in _FORMATS,
    # fastjsonschema matches a scalar by type and value (True is not 1, "1" is not 1),
    # as jsonschema's equality does
    "const": _scalar,
    "enum": lambda v: isinstance(v, list) and all(_scalar(x) for x in v),
    # the same combinations of the same subschemas
    "allOf": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    "oneOf": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    "if": lambda v: isinstance(v, dict), "then": lambda v: isinstance(v, dict),
    "else": lambda v: isinstance(v, dict),
}
_ONE_SUBSCHEMA = ("items", "if", "then", "else")


def vetted(schema) -> bool:
    """Whether every keyword of ``schema`` (and of its subschemas) is on the vetted list;
    ``x-`` keywords are the forms' own annotations, which neither library reads."""
    if not isinstance(schema, dict):
        return False
    for key, value in schema.items():
        if key.startswith("x-"):
            continue
        check = _VETTED.get(key)
        if check is None or not check(value):
            return False
    subschemas = [*(schema.get("properties") or {}).values(), *schema.get("allOf", ()),
                  *schema.get("oneOf", ()), *(schema[k] for k in _ONE_SUBSCHEMA if k in schema)]
    return all(vetted(sub) for sub in subschemas)


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value) -> bool:
    """Whether ``value`` is made of JSON's own Python types only (no tuple, no subclass)."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if kind is list:
        return all(_plain(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


_ANNOTATIONS = frozenset({"title", "description", "examples", "$comment"})


def _with_enum(schema: dict, values: list) -> None:
    if "enum" in schema:  # both must hold: the second one goes in an allOf
        schema["allOf"] = [*schema.get("allOf", ()), {"enum": values}]
    else:
        schema["enum"] = values


def _lean(schema: dict) -> dict:
    """``schema`` (vetted) as fastjsonschema is given it, accepting the same values: no
    annotations (they only lengthen the generated code); ``const: x`` as ``enum: [x]``
    (jsonschema compares both with the same equality, and fastjsonschema's const, built
    from its enum, cannot be compiled with short errors); a ``oneOf`` of distinct string
    constants as one ``enum`` of them (exactly one branch holds if and only if the value
    is one of them), which spares an exception for each branch tried in vain."""
    out: dict = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        if key == "properties":
            value = {name: _lean(sub) for name, sub in value.items()}
        elif key in ("allOf", "oneOf"):
            value = [_lean(sub) for sub in value]
        elif key in _ONE_SUBSCHEMA:
            value = _lean(value)
        out[key] = value
    if "const" in out:
        _with_enum(out, [out.pop("const")])
    branches = out.get("oneOf")
    if branches and all(b.keys() == {"enum"} and len(b["enum"]) == 1
                        and type(b["enum"][0]) is str for b in branches):
        values = [b["enum"][0] for b in branches]
        if len(set(values)) == len(values):
            del out["oneOf"]
            _with_enum(out, values)
    return out


def fast_check(schema: dict, checker: Draft202012Validator) -> Accepts | None:
    """A compiled check of ``schema`` that answers True only for data ``checker`` accepts
    too (False: ask ``checker``), or None when the schema is not vetted for one."""
    if not vetted(schema):
        return None
    conforms = checker.format_checker.conforms
    try:
        compiled = fastjsonschema.compile(
            _lean(schema), formats={name: partial(conforms, format=name) for name in _FORMATS},
            use_default=False, detailed_exceptions=False)
    except Exception:  # noqa: BLE001 — a schema it cannot compile is checked the slow way
        return None

    def accepts(data) -> bool:
        try:
            if not _plain(data):
                return False
            compiled(data)
        except Exception:  # noqa: BLE001 — refused, or failed: jsonschema decides
            return False
        return True

    return accepts


def document_fields(schema: dict) -> dict[str, dict]:
    return {name: prop for name, prop in (schema.get("properties") or {}).items()
            if prop.get("format") == "document"}


def _nfc(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    return value


def _field_title(schema: dict, field: str) -> str:
    return (schema.get("properties") or {}).get(field, {}).get("title", field)


#: What a value of each JSON Schema ``format`` looks like, for the error that says so.
FORMAT_EXAMPLES = {
    "email": ("an e-mail address, for example ten@vidu.vn",
              "địa chỉ thư điện tử, ví dụ ten@vidu.vn"),
    "date": ("a date, for example 25/12/2026", "ngày, ví dụ 25/12/2026"),
    "uri": ("a web address, for example https://vidu.vn", "địa chỉ trang web, ví dụ https://vidu.vn"),
}


#: JSON types in words, English and Vietnamese.
TYPE_NAMES = {"integer": ("a whole number", "một số nguyên"), "number": ("a number", "một số"),
              "string": ("text", "chữ"), "boolean": ("yes or no", "có hoặc không"),
              "array": ("a list", "một danh sách"), "object": ("a group of fields",
                                                             "một nhóm thông tin"),
              "null": ("empty", "để trống")}


def _expected(prop: dict) -> tuple[str, str]:
    """What the field expects, from its ``x-error`` / ``x-error-en``, its first
    ``examples`` entry or its ``format``: ``("", "")`` when the schema does not say."""
    if prop.get("x-error"):
        return prop.get("x-error-en", prop["x-error"]), prop["x-error"]
    if prop.get("format") in FORMAT_EXAMPLES:
        en, vi = FORMAT_EXAMPLES[prop["format"]]
        return f"Enter {en}.", f"Hãy nhập {vi}."
    examples = prop.get("examples")
    if isinstance(examples, list) and examples:
        return (f"Enter it as in this example: {examples[0]}.",
                f"Hãy nhập theo mẫu, ví dụ: {examples[0]}.")
    return "", ""


def explain(error, prop: dict) -> tuple[str, str]:
    """A message a citizen understands, in English and Vietnamese, for one schema error,
    saying what is expected. A field may carry its own with ``x-error`` / ``x-error-en``,
    or an example with ``examples``."""
    v, value = error.validator, error.validator_value
    if v == "required":
        return "This field is required.", "Trường này là bắt buộc."
    if v in ("pattern", "format", "minLength", "maxLength"):
        expected = _expected(prop)
        if expected[0] and (v in ("pattern", "format") or prop.get("x-error")):
            return expected
    if v == "pattern" and value in ("\\S", "\\S+", "[^\\s]"):
        return "This field must not be blank.", "Trường này không được để trống."
    if v == "pattern" or v == "format":
        return ("The value does not have the expected format.",
                "Giá trị không đúng định dạng.")
    if v in ("enum", "oneOf", "const", "anyOf"):
        return "Choose one of the options.", "Hãy chọn một trong các lựa chọn."
    if v == "minimum":
        return f"Must be at least {value}.", f"Phải lớn hơn hoặc bằng {value}."
    if v == "maximum":
        return f"Must be at most {value}.", f"Phải nhỏ hơn hoặc bằng {value}."
    if v == "minLength":
        return f"Must have at least {value} characters.", f"Phải có ít nhất {value} ký tự."
    if v == "maxLength":
        return f"Must have at most {value} characters.", f"Không được quá {value} ký tự."
    if v == "minItems":
        return f"Choose at least {value}.", f"Hãy chọn ít nhất {value} mục."
    if v == "type":
        kinds = value if isinstance(value, list) else [value]
        return (f"Must be {' or '.join(TYPE_NAMES.get(k, (k, k))[0] for k in kinds)}.",
                f"Phải là {' hoặc '.join(TYPE_NAMES.get(k, (k, k))[1] for k in kinds)}.")
    # the validator's own words are English and technical: a citizen gets plain ones
    return error.message, "Giá trị không hợp lệ: hãy kiểm tra lại nội dung này."


# Characters no one types on purpose: controls (but tab and line breaks), format
# characters (zero-width spaces and joiners, bidirectional overrides, the BOM, soft
# hyphens), private-use and unassigned code points, lone surrogates, line and paragraph
# separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def hidden_character(text: str) -> int | None:
    """The position (from 1) of the first control or invisible character in ``text``."""
    if text.isprintable():  # no character of the categories above (nor a tab, a break)
        return None
    for index, char in enumerate(text, 1):
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return index
    return None


def _hidden_problems(value, path: str) -> list[dict]:
    if isinstance(value, str):
        position = hidden_character(value)
        if position is None:
            return []
        return [{"field": path,
                 "message": f"Remove the control or invisible character at position {position} "
                            "(it may come from copying and pasting); type the text again.",
                 "message_vi": f"Có ký tự điều khiển hoặc ký tự ẩn ở vị trí {position} (có thể do "
                               "sao chép, dán từ nơi khác): hãy gõ lại nội dung này."}]
    if isinstance(value, list):  # indexed as the schema's own errors are: ``field.0.name``
        return [p for index, item in enumerate(value)
                for p in _hidden_problems(item, f"{path}.{index}")]
    if isinstance(value, dict):
        return [p for key, item in value.items()
                for p in _hidden_problems(item, f"{path}.{key}" if path else str(key))]
    return []


def field_order(schema: dict, prefix: str = "") -> list[str]:
    """Every field path of the form in the order of the form (nested objects inline)."""
    order = []
    for name, prop in (schema.get("properties") or {}).items():
        order.append(prefix + name)
        if isinstance(prop, dict) and prop.get("properties"):
            order += field_order(prop, prefix + name + ".")
    return order


def in_form_order(schema: dict, errors: list[dict]) -> list[dict]:
    """``errors`` sorted as their fields appear in the form, one per field (the first),
    errors without a known field last."""
    order = {path: n for n, path in enumerate(field_order(schema))}
    seen, out = set(), []
    for item in sorted(errors, key=lambda e: order.get(str(e.get("field") or ""), len(order))):
        field = str(item.get("field") or "")
        if field and field in seen:
            continue
        seen.add(field)
        out.append(item)
    return out


def problems(schema: dict, data: dict) -> list[dict]:
    """Every problem of ``data`` against ``schema`` — each missing field, each bad value,
    each control or invisible character — as ``{field, title, message, message_vi}``, in
    the order of the form. Does not coerce nor store anything."""
    checker, fast = checks(schema)
    errors = []
    for error in () if fast is not None and fast(data) else checker.iter_errors(data):
        base = [str(p) for p in error.path]
        if error.validator == "required":
            instance = error.instance if isinstance(error.instance, dict) else {}
            fields = [".".join([*base, name]) for name in error.validator_value
                      if name not in instance]
        else:
            fields = [".".join(base)]
        for field in fields:
            prop = _prop_at(schema, field)
            message, message_vi = explain(error, prop)
            errors.append({"field": field, "message": message, "message_vi": message_vi})
    for name, value in data.items():
        errors += _hidden_problems(value, name)
    if not errors:
        return errors
    for e in errors:
        e["title"] = _field_title(schema, e["field"].split(".")[0])
    return in_form_order(schema, errors)


def _prop_at(schema: dict, path: str) -> dict:
    prop: dict = schema
    for part in path.split(".") if path else []:
        prop = (prop.get("properties") or {}).get(part) or {}
    return prop if prop is not schema else {}


def invalid(schema: dict, errors: list[dict]) -> InvalidData:
    """One :class:`InvalidData` for all of ``errors`` (in form order)."""
    errors = in_form_order(schema, errors)
    for e in errors:
        e.setdefault("title", _field_title(schema, str(e.get("field") or "").split(".")[0]))
    summary = "; ".join(f"{e['title']}: {e['message']}" for e in errors[:5])
    summary_vi = "; ".join(f"{e['title']}: {e.get('message_vi') or e['message']}"
                           for e in errors[:5])
    return InvalidData(f"Please correct the form: {summary}",
                       vi=f"Vui lòng sửa biểu mẫu: {summary_vi}", details=errors)


def _input_errors(schema: dict, data: dict, uploads: dict | None) -> list[dict]:
    """What the schema alone does not catch: unknown fields where the form allows none
    (``additionalProperties: false``) and text where a file is due."""
    declared = schema.get("properties") or {}
    errors = []
    if schema.get("additionalProperties") is False:
        for key in sorted(k for k in data if k not in declared):
            errors.append({"field": key, "title": key,
                           "message": "This form has no such field.",
                           "message_vi": "Biểu mẫu không có trường này."})
    if uploads is not None:
        for key in sorted(k for k in document_fields(schema) if k in data):
            errors.append({"field": key, "title": _field_title(schema, key),
                           "message": "Upload a file here: this field takes a file, not text.",
                           "message_vi": "Hãy tải tệp lên: trường này nhận tệp, không nhận "
                                         "chữ."})
    return errors


def validate(schema: dict, data: dict, *, keep: dict | None = None,
             uploads: dict | None = None, also: list[dict] | None = None) -> dict:
    """Check ``data`` against ``schema``; return the declared fields only, NFC-normalised.

    ``keep`` holds values already accepted (documents from an earlier step) that satisfy
    required file fields the user did not upload again. ``uploads`` (``{field: document
    id}`` from :func:`store_uploads`) fill the document fields: given, a document field
    in ``data`` itself (text where a file is due) is refused. ``also``: problems found
    before (a file refused), reported with these, all at once in the order of the form.
    """
    if not isinstance(data, dict):
        raise InvalidData("Form data must be an object.", vi="Dữ liệu biểu mẫu phải là một đối tượng.")
    errors = [*(also or []), *_input_errors(schema, data, uploads)]
    declared = schema.get("properties") or {}
    data = {**data, **(uploads or {})}
    clean = {k: _nfc(v) for k, v in data.items() if k in declared and k not in RESERVED_KEYS}
    candidate = dict(keep or {})
    candidate.update(clean)
    flagged = {str(e.get("field")) for e in errors}
    errors += [e for e in problems(schema, candidate) if e["field"] not in flagged]
    if errors:
        raise invalid(schema, errors)
    return clean


def store_uploads(p, session, schema: dict, files: dict[str, Upload] | None, *, dossier,
                  user_id: int | None, collect: list[dict] | None = None,
                  opened: bool = False) -> dict[str, str]:
    """Check and store the uploads for the schema's document fields; return ``{field: doc id}``.

    A refused file raises :class:`InvalidData`, or with ``collect`` (a list) its problem
    is appended there and the other files are still stored, so the caller reports every
    problem of the form at once (:func:`validate`'s ``also``). ``opened``: the dossier was
    opened by this transaction (each file is its first revision)."""
    fields = document_fields(schema)
    accepted = {}
    errors = []
    for name, upload in (files or {}).items():
        if name not in fields:
            errors.append({"field": name, "message": "This form has no such file field.",
                           "message_vi": "Biểu mẫu không có trường tệp này."})
            continue
        prop = fields[name]
        try:
            accepted[name] = (upload, sniff(
                upload, field=name, accept=prop.get("x-accept"),
                max_bytes=min(prop.get("x-max-bytes") or p.settings.max_upload_bytes,
                              p.settings.max_upload_bytes)))
        except InvalidData as exc:
            errors.extend(exc.details)
    stored = documents.store_uploads(p, session, dossier, accepted, created_by_id=user_id,
                                     opened=opened)
    out = {name: str(doc_id) for name, doc_id in stored.items()}
    for e in errors:
        e["title"] = _field_title(schema, e["field"])
    if errors and collect is not None:
        collect.extend(errors)
    elif errors:
        summary = "; ".join(f"{e['title']}: {e['message']}" for e in errors)
        summary_vi = "; ".join(f"{e['title']}: {e['message_vi']}" for e in errors)
        raise InvalidData(f"Some files were not accepted: {summary}",
                          vi=f"Một số tệp không được chấp nhận: {summary_vi}", details=errors)
    return out


def form_schema(version, path: str | None) -> dict | None:
    """A form of the version, as a copy the caller may change (:func:`shared_form`)."""
    shared = shared_form(version, path)
    return copy.deepcopy(shared) if shared is not None else None


def shared_form(version, path: str | None) -> dict | None:
    """A form of the version, parsed once per version content (versions never change) with
    its validator, and shared: read it, never change it."""
    if not path:
        return None
    key = (version.content_hash, path)
    schema = _FORMS.get(key)
    if schema is None:
        schema = json.loads(version.files[path])
        _SHARED[id(schema)] = (schema, _build(schema))
        _FORMS[key] = schema
    return schema


_FORMS: dict[tuple[str, str], dict] = {}
#: The validators (and fast checks) of the shared forms by the form's identity (a shared form
#: lives as long as the process: its id is never reused).
_SHARED: dict[int, tuple[dict, tuple[Draft202012Validator, Accepts | None]]] = {}
