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

from .documents import sniff, store_document
from .errors import InvalidData
from .storage import Upload

RESERVED_KEYS = {"typename", "dossier", "application"}


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=FormatChecker())


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


def explain(error, prop: dict) -> tuple[str, str]:
    """A message a citizen understands, in English and Vietnamese, for one schema error.
    A field may carry its own with ``x-error`` / ``x-error-en``."""
    v, value = error.validator, error.validator_value
    if v == "required":
        return "This field is required.", "Trường này là bắt buộc."
    if prop.get("x-error") and v in ("pattern", "format", "minLength", "maxLength"):
        return prop.get("x-error-en", prop["x-error"]), prop["x-error"]
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
        return f"Must be of type {value}.", f"Phải là giá trị kiểu {value}."
    return error.message, f"Giá trị không hợp lệ: {error.message}"


#: Characters no text field takes: C0/C1 controls other than tab and line breaks (they
#: break spreadsheets, PDFs and databases and no keyboard types them), and lone surrogates.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _bad_characters(value, path: str) -> list[str]:
    """The paths (``field`` or ``field.0.name``) of strings in ``value`` holding a control
    character or a lone surrogate."""
    found = []
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in _ALLOWED_CONTROLS
                   for ch in item):
                found.append(where)
        elif isinstance(item, dict):
            stack.extend((child, f"{where}.{key}") for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{index}") for index, child in enumerate(item))
    return sorted(found)


def _input_errors(schema: dict, data: dict, uploads: dict | None) -> list[dict]:
    """What the schema alone does not catch: unknown fields where the form allows none
    (``additionalProperties: false``), text where a file is due, control characters."""
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
    for key, value in data.items():
        if key in declared:
            for where in _bad_characters(value, key):
                errors.append({"field": where, "title": _field_title(schema, key),
                               "message": "Remove the control characters (invisible "
                                          "characters such as \\u0000 or \\u0001).",
                               "message_vi": "Hãy xoá các ký tự điều khiển (ký tự vô hình như "
                                             "\\u0000 hay \\u0001)."})
    return errors


def validate(schema: dict, data: dict, *, keep: dict | None = None,
             uploads: dict | None = None) -> dict:
    """Check ``data`` against ``schema``; return the declared fields only, NFC-normalised.

    ``keep`` holds values already accepted (documents from an earlier step) that satisfy
    required file fields the user did not upload again. ``uploads`` (``{field: document
    id}`` from :func:`store_uploads`) fill the document fields: given, a document field
    in ``data`` itself (text where a file is due) is refused.
    """
    if not isinstance(data, dict):
        raise InvalidData("Form data must be an object.", vi="Dữ liệu biểu mẫu phải là một đối tượng.")
    errors = _input_errors(schema, data, uploads)
    declared = schema.get("properties") or {}
    data = {**data, **(uploads or {})}
    clean = {k: _nfc(v) for k, v in data.items() if k in declared and k not in RESERVED_KEYS}
    candidate = dict(keep or {})
    candidate.update(clean)
    for error in sorted(_validator(json.dumps(schema, sort_keys=True)).iter_errors(candidate),
                        key=lambda e: list(e.path)):
        field = ".".join(str(p) for p in error.path)
        if error.validator == "required":
            field = next(iter(set(error.validator_value) - set(error.instance)), field)
        prop = (schema.get("properties") or {}).get(field.split(".")[0], {})
        message, message_vi = explain(error, prop)
        errors.append({"field": field, "title": _field_title(schema, field.split(".")[0]),
                       "message": message, "message_vi": message_vi})
    if errors:
        summary = "; ".join(f"{e['title']}: {e['message']}" for e in errors[:5])
        raise InvalidData(f"Please correct the form: {summary}",
                          vi="Vui lòng sửa biểu mẫu: "
                             + "; ".join(f"{e['title']}: {e['message_vi']}" for e in errors[:5]),
                          details=errors)
    return clean


def store_uploads(p, session, schema: dict, files: dict[str, Upload] | None, *, dossier,
                  user_id: int | None) -> dict[str, str]:
    """Check and store the uploads for the schema's document fields; return ``{field: doc id}``."""
    fields = document_fields(schema)
    out = {}
    errors = []
    for name, upload in (files or {}).items():
        if name not in fields:
            errors.append({"field": name, "message": "This form has no such file field.",
                           "message_vi": "Biểu mẫu không có trường tệp này."})
            continue
        prop = fields[name]
        try:
            media_type = sniff(upload, field=name, accept=prop.get("x-accept"),
                               max_bytes=min(prop.get("x-max-bytes") or p.settings.max_upload_bytes,
                                             p.settings.max_upload_bytes))
        except InvalidData as exc:
            errors.extend(exc.details)
            continue
        doc = store_document(p, session, dossier=dossier, name=name, filename=upload.filename,
                             media_type=media_type, content=upload.content,
                             created_by_id=user_id)
        out[name] = str(doc.id)
    if errors:
        for e in errors:
            e["title"] = _field_title(schema, e["field"])
        summary = "; ".join(f"{e['title']}: {e['message']}" for e in errors)
        summary_vi = "; ".join(f"{e['title']}: {e['message_vi']}" for e in errors)
        raise InvalidData(f"Some files were not accepted: {summary}",
                          vi=f"Một số tệp không được chấp nhận: {summary_vi}", details=errors)
    return out


def form_schema(version, path: str | None) -> dict | None:
    """A form of the version, parsed once per version content (versions never change)."""
    if not path:
        return None
    key = (version.content_hash, path)
    if key not in _FORMS:
        _FORMS[key] = json.loads(version.files[path])
    return copy.deepcopy(_FORMS[key])


_FORMS: dict[tuple[str, str], dict] = {}
