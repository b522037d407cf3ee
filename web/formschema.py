"""Reading JSON Schema forms: field kinds, titles, choices — shared by render and parse.

Schema conventions (bpmn/README.md): ``title`` is Vietnamese, ``x-title-en`` English
(likewise ``description`` / ``x-description-en``); ``"x-widget": "textarea"``;
``"format": "document"`` is a file field, ``x-accept`` its accepted types; a choice is
``oneOf`` of ``{const, title}`` or an ``enum`` (labels from ``x-enum-titles`` /
``x-enum-titles-en``). Nested objects use dotted field names (``owner.name``).

The renderer must stay a pure function of its arguments (it also powers the analysts'
live preview, outside any request), so the few words it adds itself live in the small
table below, per language, instead of in the gettext catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

DOCUMENT_FORMAT = "document"
RADIO_LIMIT = 4  # up to this many choices show as radio buttons, more as a <select>

_TEXTS = {
    "choose": ("— Chọn —", "— Choose —"),
    "current_file": ("Tệp đã nộp: ", "File on record: "),
    "attached_file": ("Tệp đã đính kèm: ", "File attached: "),
    "replace_file": ("Chọn tệp khác nếu muốn thay thế.", "Choose another file to replace it."),
    "rechoose": ("Hãy chọn tệp: tệp này chưa có hoặc không được chấp nhận.",
                 "Choose the file: none is attached or it was not accepted."),
    "accept": ("Định dạng chấp nhận: ", "Accepted formats: "),
    "example": ("Ví dụ: ", "Example: "),
    "error": ("Lỗi: ", "Error: "),
    "not_integer": ("Hãy nhập một số nguyên, ví dụ 12.", "Enter a whole number, for example 12."),
    "not_number": ("Hãy nhập một số, ví dụ 12,5.", "Enter a number, for example 12.5."),
    "bad_fields": ("Một số trường có giá trị không hợp lệ.", "Some fields have invalid values."),
    "summary": ("Biểu mẫu chưa hợp lệ, hãy sửa các mục sau:", "There is a problem with the form:"),
    "yes": ("Có", "Yes"),
    "no": ("Không", "No"),
    "document": ("Tài liệu số ", "Document no. "),
}


def ui_text(key: str, lang: str) -> str:
    """One of the renderer's own words, in ``lang`` (``vi`` unless ``en``)."""
    vi, en = _TEXTS[key]
    return en if lang == "en" else vi


# -- reading the schema ------------------------------------------------------------------

def schema_type(schema: Mapping) -> str:
    """The JSON type of a property; ``["string", "null"]`` counts as ``string``."""
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return kind


def title_of(schema: Mapping, name: str, lang: str) -> str:
    """The field's label in ``lang``, falling back to the Vietnamese title, then its name."""
    if lang == "en" and schema.get("x-title-en"):
        return schema["x-title-en"]
    return schema.get("title") or name


def description_of(schema: Mapping, lang: str) -> str:
    """The field's help text in ``lang`` (may be empty)."""
    if lang == "en" and schema.get("x-description-en"):
        return schema["x-description-en"]
    return schema.get("description", "")


def choices(schema: Mapping, lang: str = "vi") -> list[tuple[Any, str]] | None:
    """The ``(value, label)`` pairs of a choice field, or None if it is not one."""
    options = schema.get("oneOf") or schema.get("anyOf")
    if options and all(isinstance(o, Mapping) and "const" in o for o in options):
        return [(o["const"], title_of(o, str(o["const"]), lang)) for o in options]
    if "enum" in schema:
        labels = schema.get("x-enum-titles-en" if lang == "en" else "x-enum-titles")
        labels = labels or schema.get("x-enum-titles") or [str(v) for v in schema["enum"]]
        return list(zip(schema["enum"], labels, strict=False))
    return None


def field_kind(schema: Mapping) -> str:
    """What a property is as a form field: document, choice, multi, boolean, integer,
    number, object, lines, textarea or text."""
    kind = schema_type(schema)
    if schema.get("format") == DOCUMENT_FORMAT:
        return "document"
    if kind == "array":
        items = schema.get("items", {})
        return "multi" if choices(items) is not None else "lines"
    if choices(schema) is not None:
        return "choice"
    if kind in ("boolean", "integer", "number", "object"):
        return kind
    return "textarea" if schema.get("x-widget") == "textarea" else "text"


def properties(schema: Mapping, prefix: str = "") -> Iterator[tuple[str, Mapping, bool]]:
    """(path, property schema, required) for the object's properties, in order."""
    required = set(schema.get("required", []))
    for name, prop in (schema.get("properties") or {}).items():
        yield prefix + name, prop, name in required


def field_id(path: str) -> str:
    """The HTML id of a field, safe in attributes and fragment links."""
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", path)


def lookup(values: Mapping | None, path: str) -> Any:
    """The value at a dotted ``path`` in nested ``values``, or None."""
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def document_id(value: Any) -> int | None:
    """The id of a stored document in form data (the engine keeps it as text: ``"12"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def same_value(a: Any, b: Any) -> bool:
    """Whether a submitted value (always text) stands for a schema constant."""
    return a is not None and b is not None and str(a) == str(b)


def walk(schema: Mapping, prefix: str = "") -> Iterator[tuple[str, Mapping]]:
    """Every field path of the form, nested objects included."""
    for path, prop, _required in properties(schema, prefix):
        yield path, prop
        if field_kind(prop) == "object":
            yield from walk(prop, path + ".")
