"""Form data against a form's JSON Schema: coerce nothing, check everything, name each field.

File fields are ``{"type": "string", "format": "document"}``: the uploaded file is
checked (size, type by content), stored, and its document id becomes the value.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from functools import lru_cache

from jsonschema import Draft202012Validator, FormatChecker

from . import documents
from .documents import sniff
from .errors import InvalidData
from .storage import Upload

RESERVED_KEYS = {"typename", "dossier", "application"}


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=FormatChecker())


def validator(schema: dict) -> Draft202012Validator:
    """The validator of ``schema``: a version's own form (:func:`shared_form`) has one built
    with it; any other schema is found by its content."""
    found = _SHARED.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    return _validator(json.dumps(schema, sort_keys=True))


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
    errors = []
    for error in validator(schema).iter_errors(data):
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
    stored = documents.store_uploads(p, session, dossier.id, accepted, created_by_id=user_id,
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
        _SHARED[id(schema)] = (schema, Draft202012Validator(schema,
                                                            format_checker=FormatChecker()))
        _FORMS[key] = schema
    return schema


_FORMS: dict[tuple[str, str], dict] = {}
#: The validators of the shared forms by the form's identity (a shared form lives as long as
#: the process: its id is never reused).
_SHARED: dict[int, tuple[dict, Draft202012Validator]] = {}
