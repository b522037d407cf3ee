"""The form builder (trình dựng biểu mẫu): a form as a list of fields, read from and
written to the same JSON Schema the JSON view edits.

A builder form is a plain dict, the one the page's script edits::

    {"title", "title_en", "description", "description_en", "schema_uri", "closed",
     "checklist": True | False | None,
     "fields": [{"name", "type", "title", "title_en", "help", "help_en", "required",
                 ...the type's settings..., "examples", "error", "error_en", "prefill",
                 "show_to", "required_when": {"field", "values", "pattern"} | None}]}

Field types: ``text`` (lengths, pattern, e-mail), ``longtext`` (a text area), ``number``
(whole or not, bounds), ``date``, ``choice`` (options with their Vietnamese and English
titles; ``multiple`` for several), ``yesno`` (``must_be_yes`` for a declaration),
``document`` (accepted types, maximum size). ``prefill`` is the account field a value comes
from (``x-prefill``), ``show_to`` the roles of later steps that see it (``x-show-to``:
None when absent, every officer's later step; ``[]`` for none); ``examples`` the values
shown as a format hint, the first under the field (``examples``), ``error`` / ``error_en``
what a value of the wrong shape is told (``x-error`` / ``x-error-en``);
``required_when`` is a condition: required when another field has one of ``values``
(``allOf``/``if``/``then``), with the pattern the value must then match. ``checklist`` is
the form's ``x-checklist`` (the reception checklist on this step: True, False, None for the
lane's default).

:func:`read` refuses, with the reason, any schema it could not write back exactly: such a
form stays in the JSON view. :func:`write` is the only way back, so both views always hold
the same schema.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from ..keptfiles import PREFILL_FIELDS

TYPES = ("text", "longtext", "number", "date", "choice", "yesno", "document")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FORM_KEYS = {"$schema", "title", "x-title-en", "description", "x-description-en", "type",
             "properties", "required", "additionalProperties", "allOf", "x-checklist"}
COMMON_KEYS = {"title", "x-title-en", "description", "x-description-en", "type", "examples",
               "x-error", "x-error-en", "x-prefill", "x-show-to"}
TYPE_KEYS = {
    "text": {"format", "minLength", "maxLength", "pattern"},
    "longtext": {"x-widget", "minLength", "maxLength", "pattern"},
    "number": {"minimum", "maximum"},
    "date": {"format"},
    "choice": {"oneOf", "items", "minItems", "uniqueItems"},
    "yesno": {"const"},
    "document": {"format", "x-accept", "x-max-bytes"},
}
# builder setting <-> schema key, for the settings copied as they are
PLAIN = (("min_length", "minLength"), ("max_length", "maxLength"), ("pattern", "pattern"),
         ("minimum", "minimum"), ("maximum", "maximum"), ("accept", "x-accept"),
         ("max_bytes", "x-max-bytes"), ("error", "x-error"), ("error_en", "x-error-en"),
         ("examples", "examples"), ("prefill", "x-prefill"), ("show_to", "x-show-to"))
# settings written even when empty: ``"x-show-to": []`` means "no later step"
KEEP_EMPTY = {"show_to"}


class CannotBuild(Exception):
    """The schema is valid but the builder cannot express it; ``str()`` says why."""


# -- reading ---------------------------------------------------------------------------------

def read(schema: Any) -> dict:
    """The builder form of ``schema``; raises :class:`CannotBuild` with the reason."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise CannotBuild(_('Lược đồ không phải một biểu mẫu ("type": "object").'))
    unknown = sorted(set(schema) - FORM_KEYS)
    if unknown:
        raise CannotBuild(_("Trình dựng chưa hỗ trợ khóa %(keys)s ở gốc biểu mẫu.",
                            keys=", ".join(unknown)))
    if schema.get("additionalProperties", False) is not False:
        raise CannotBuild(_("Trình dựng chỉ dựng biểu mẫu không nhận trường lạ "
                            '("additionalProperties": false).'))
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    if [n for n in required if n not in properties]:
        raise CannotBuild(_("Danh sách bắt buộc có trường không tồn tại."))
    if schema.get("x-checklist") not in (None, True, False):
        raise CannotBuild(_("Trình dựng chỉ hiểu “x-checklist” là true hoặc false."))
    fields = []
    for name, prop in properties.items():
        field = _read_field(name, prop)
        field["required"] = name in required
        fields.append(field)
    _read_conditions(schema.get("allOf") or [], fields)
    form = {"title": schema.get("title", ""), "title_en": schema.get("x-title-en", ""),
            "description": schema.get("description", ""),
            "description_en": schema.get("x-description-en", ""),
            "schema_uri": schema.get("$schema"),
            "closed": "additionalProperties" in schema,
            "checklist": schema.get("x-checklist"), "fields": fields}
    if write(form) != schema:
        raise CannotBuild(_("Trình dựng không giữ được nguyên lược đồ này (thứ tự các trường "
                            "bắt buộc hoặc các điều kiện khác với thứ tự các trường)."))
    return form


def _kind(name: str, prop: dict) -> str:
    kind, fmt = prop.get("type"), prop.get("format")
    if kind == "string" and fmt == "document":
        return "document"
    if kind == "string" and fmt == "date":
        return "date"
    if kind == "string" and "oneOf" in prop or kind == "array":
        return "choice"
    if kind == "string" and prop.get("x-widget") == "textarea":
        return "longtext"
    if kind == "string" and fmt in (None, "email"):
        return "text"
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "yesno"
    raise CannotBuild(_("Trường %(name)s: trình dựng chưa hỗ trợ kiểu %(kind)s.", name=name,
                        kind=f"{kind}" + (f" ({fmt})" if fmt else "")))


def _read_field(name: str, prop: Any) -> dict:
    if not NAME.match(name) or not isinstance(prop, dict):
        raise CannotBuild(_("Trường %(name)s: tên trường chỉ gồm chữ thường không dấu, số và "
                            "“_”.", name=name))
    kind = _kind(name, prop)
    unknown = sorted(set(prop) - COMMON_KEYS - TYPE_KEYS[kind])
    if unknown:
        raise CannotBuild(_("Trường %(name)s: trình dựng chưa hỗ trợ %(keys)s.", name=name,
                            keys=", ".join(unknown)))
    _check_shapes(name, prop)
    field = {"name": name, "type": kind, "title": prop.get("title", ""),
             "title_en": prop.get("x-title-en", ""), "help": prop.get("description", ""),
             "help_en": prop.get("x-description-en", ""), "required_when": None}
    for setting, key in PLAIN:
        if key in prop:
            field[setting] = prop[key]
    if kind == "text":
        field["format"] = prop.get("format", "")
    elif kind == "number":
        field["integer"] = prop["type"] == "integer"
    elif kind == "yesno":
        field["must_be_yes"] = prop.get("const") is True
    elif kind == "choice":
        multiple = prop["type"] == "array"
        options = (prop.get("items") or {}).get("oneOf") if multiple else prop.get("oneOf")
        field["multiple"] = multiple
        if multiple:
            field["min_items"] = prop.get("minItems")
        field["options"] = [_read_option(name, o) for o in options or []]
    return field


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_shapes(name: str, prop: dict) -> None:
    """Refuse the portal's own keys in a shape the builder's controls cannot hold."""
    shapes = (("examples", lambda v: _strings(v) and bool(v) and all(v)),
              ("x-error", lambda v: isinstance(v, str) and bool(v)),
              ("x-error-en", lambda v: isinstance(v, str) and bool(v)),
              ("x-prefill", lambda v: v in PREFILL_FIELDS),
              ("x-show-to", _strings))
    for key, fits in shapes:
        if key in prop and not fits(prop[key]):
            raise CannotBuild(_("Trường %(name)s: trình dựng chưa hỗ trợ %(key)s ở dạng này.",
                                name=name, key=key))


def _read_option(name: str, option: Any) -> dict:
    if not isinstance(option, dict) or set(option) - {"const", "title", "x-title-en"} \
            or "const" not in option:
        raise CannotBuild(_("Trường %(name)s: mỗi lựa chọn cần có giá trị (const) và tên.",
                            name=name))
    return {"value": option["const"], "title": option.get("title", ""),
            "title_en": option.get("x-title-en", "")}


def _read_conditions(items: list, fields: list[dict]) -> None:
    by_name = {f["name"]: f for f in fields}
    why = _("Trình dựng chỉ hiểu điều kiện dạng “bắt buộc khi trường X có giá trị …”.")
    for item in items:
        try:
            condition, then = item["if"], item["then"]
            [(on, test)] = condition["properties"].items()
            assert set(item) == {"if", "then"} and set(condition) == {"properties", "required"}
            assert condition["required"] == [on] and on in by_name
            assert set(test) in ({"const"}, {"enum"}) and set(then) <= {"required", "properties"}
            values = [test["const"]] if "const" in test else list(test["enum"])
            patterns = then.get("properties") or {}
            assert set(patterns) <= set(then["required"])
            assert all(set(p) == {"pattern"} for p in patterns.values())
        except (KeyError, TypeError, ValueError, AssertionError, AttributeError):
            raise CannotBuild(why) from None
        for target in then["required"]:
            if target not in by_name or by_name[target]["required_when"] is not None:
                raise CannotBuild(why)
            by_name[target]["required_when"] = {
                "field": on, "values": values,
                "pattern": (patterns.get(target) or {}).get("pattern")}


# -- writing ---------------------------------------------------------------------------------

def problems(form: dict) -> list[str]:
    """What stops ``form`` from being written, in the page's language."""
    found = []
    names = [f.get("name") for f in form.get("fields") or []]
    for field in form.get("fields") or []:
        name = field.get("name") or ""
        if not NAME.match(name):
            found.append(_("Trường “%(name)s”: tên trường chỉ gồm chữ thường không dấu, số và "
                           "“_”, bắt đầu bằng chữ, ví dụ “so_dien_thoai”.", name=name))
        elif names.count(name) > 1:
            found.append(_("Trường “%(name)s” có hai lần: đổi tên một trường.", name=name))
        if field.get("type") not in TYPES:
            found.append(_("Trường “%(name)s”: chọn kiểu trường.", name=name))
        if field.get("type") == "choice" and not field.get("options"):
            found.append(_("Trường “%(name)s”: thêm ít nhất một lựa chọn.", name=name))
        values = [o.get("value") for o in field.get("options") or []]
        if field.get("type") == "choice" and (
                any(v in ("", None) for v in values) or len(set(values)) != len(values)):
            found.append(_("Trường “%(name)s”: mỗi lựa chọn cần một giá trị riêng, không để "
                           "trống.", name=name))
        when = field.get("required_when")
        if when:
            if when.get("field") not in names or when.get("field") == name:
                found.append(_("Trường “%(name)s”: điều kiện bắt buộc phải dựa vào một trường "
                               "khác của biểu mẫu.", name=name))
            elif not when.get("values"):
                found.append(_("Trường “%(name)s”: chọn ít nhất một giá trị cho điều kiện.",
                               name=name))
        if field.get("error_en") and not field.get("error"):
            found.append(_("Trường “%(name)s”: lời nhắc khi nhập sai có tiếng Anh thì cần có cả "
                           "tiếng Việt.", name=name))
        if field.get("prefill") not in (None, "", *PREFILL_FIELDS):
            found.append(_("Trường “%(name)s”: chỉ điền sẵn được từ %(fields)s.", name=name,
                           fields=", ".join(PREFILL_FIELDS)))
    return found


def write(form: dict) -> dict:
    """The JSON Schema of builder form ``form`` (assumed free of :func:`problems`)."""
    fields = form.get("fields") or []
    schema: dict[str, Any] = {}
    if form.get("schema_uri"):
        schema["$schema"] = form["schema_uri"]
    _text(schema, "title", form.get("title"))
    _text(schema, "x-title-en", form.get("title_en"))
    _text(schema, "description", form.get("description"))
    _text(schema, "x-description-en", form.get("description_en"))
    schema["type"] = "object"
    schema["properties"] = {f["name"]: _write_field(f) for f in fields}
    schema["required"] = [f["name"] for f in fields if f.get("required")]
    if form.get("closed", True):
        schema["additionalProperties"] = False
    if form.get("checklist") in (True, False):
        schema["x-checklist"] = form["checklist"]
    conditions: dict[tuple, dict] = {}
    for field in fields:
        when = field.get("required_when")
        if not when:
            continue
        values = list(when.get("values") or [])
        key = (when["field"], repr(values))
        item = conditions.setdefault(key, {
            "if": {"properties": {when["field"]: {"const": values[0]} if len(values) == 1
                                  else {"enum": values}},
                   "required": [when["field"]]},
            "then": {"required": []}})
        item["then"]["required"].append(field["name"])
        if when.get("pattern"):
            item["then"].setdefault("properties", {})[field["name"]] = {
                "pattern": when["pattern"]}
    if conditions:
        schema["allOf"] = list(conditions.values())
    return schema


def _text(target: dict, key: str, value: Any) -> None:
    if value not in (None, ""):
        target[key] = value


def _write_field(field: dict) -> dict:
    kind = field.get("type")
    prop: dict[str, Any] = {}
    _text(prop, "title", field.get("title"))
    _text(prop, "x-title-en", field.get("title_en"))
    _text(prop, "description", field.get("help"))
    _text(prop, "x-description-en", field.get("help_en"))
    if kind in ("text", "longtext"):
        prop["type"] = "string"
        if kind == "longtext":
            prop["x-widget"] = "textarea"
        _text(prop, "format", field.get("format") if kind == "text" else None)
    elif kind == "number":
        prop["type"] = "integer" if field.get("integer") else "number"
    elif kind == "date":
        prop.update(type="string", format="date")
    elif kind == "yesno":
        prop["type"] = "boolean"
        if field.get("must_be_yes"):
            prop["const"] = True
    elif kind == "document":
        prop.update(type="string", format="document")
    elif kind == "choice":
        options = [_write_option(o) for o in field.get("options") or []]
        if field.get("multiple"):
            prop["type"] = "array"
            if field.get("min_items") is not None:
                prop["minItems"] = field["min_items"]
            prop.update(uniqueItems=True, items={"type": "string", "oneOf": options})
        else:
            prop.update(type="string", oneOf=options)
    for setting, key in PLAIN:
        value = field.get(setting)
        if value not in (None, "", []) or value == [] and setting in KEEP_EMPTY:
            prop[key] = value
    return prop


def _write_option(option: dict) -> dict:
    out = {"const": option.get("value")}
    _text(out, "title", option.get("title"))
    _text(out, "x-title-en", option.get("title_en"))
    return out
