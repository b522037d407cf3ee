"""A submitted form (``request.form``, ``request.files``) back into data and uploads."""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from engine.errors import InvalidData
from engine.storage import Upload

from .formschema import choices, field_kind, properties, ui_text


def _clean(text: str) -> str:
    """NFC (some browsers send decomposed Vietnamese), trimmed."""
    return unicodedata.normalize("NFC", text).strip()


def read_form(schema: Mapping, form, files) -> tuple[dict, dict[str, Upload], list[dict]]:
    """A submitted form as data, uploads and the ``{field, message, message_vi}`` of each
    value that cannot be read (a bad number), without raising: the caller reports those
    with the engine's own problems, all at once."""
    data: dict = {}
    uploads: dict[str, Upload] = {}
    problems: list[dict] = []
    _parse_object(schema, form, files, "", data, uploads, problems)
    return data, uploads, problems


def parse_form(schema: Mapping, form, files) -> tuple[dict, dict[str, Upload]]:
    """Turn a submitted form (``request.form``, ``request.files``) into data and uploads.

    Values are coerced by the schema's types; empty inputs are left out so the engine's
    validation reports missing required fields. Raises :class:`InvalidData` with one
    ``{field, message, message_vi}`` per value that cannot be read (a bad number).
    """
    data, uploads, problems = read_form(schema, form, files)
    if problems:
        raise InvalidData(ui_text("bad_fields", "en"), vi=ui_text("bad_fields", "vi"),
                          details=problems)
    return data, uploads


def _parse_object(schema, form, files, prefix, data, uploads, problems) -> None:
    for path, prop, _required in properties(schema, prefix):
        name = path[len(prefix):]
        if prop.get("readOnly"):
            continue
        kind = field_kind(prop)
        if kind == "object":
            inner: dict = {}
            _parse_object(prop, form, files, path + ".", inner, uploads, problems)
            if inner:
                data[name] = inner
        elif kind == "document":
            upload = _upload(files.get(path) if files else None)
            if upload:
                uploads[path] = upload
        elif kind == "boolean":
            # An unticked checkbox sends nothing at all.
            data[name] = path in form and form.get(path) not in ("false", "0", "off")
        elif kind in ("multi", "lines"):
            raw = form.getlist(path)
            if kind == "lines":
                raw = [line for text in raw for line in text.splitlines()]
            items = [_coerce_choice(prop.get("items", {}), _clean(v)) for v in raw if _clean(v)]
            if items:
                data[name] = items
        else:
            text = _clean(form.get(path, ""))
            if not text:
                continue
            try:
                data[name] = _coerce(prop, kind, text)
            except ValueError:
                key = "not_integer" if kind == "integer" else "not_number"
                problems.append({"field": path, "message": ui_text(key, "en"),
                                 "message_vi": ui_text(key, "vi")})


def _coerce(prop: Mapping, kind: str, text: str) -> Any:
    if kind == "choice":
        return _coerce_choice(prop, text)
    if kind == "integer":
        number = float(text.replace(" ", ""))
        if not number.is_integer():
            raise ValueError(text)
        return int(number)
    if kind == "number":
        number = float(text.replace(" ", "").replace(",", "."))
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(text)
        return number
    return text


def _coerce_choice(prop: Mapping, text: str) -> Any:
    """The choice's own constant (an int stays an int); unknown text is kept for validation."""
    for const, _label in choices(prop) or []:
        if str(const) == text:
            return const
    return text


def _upload(storage) -> Upload | None:
    """An :class:`Upload` from a werkzeug FileStorage, or None for an empty file input."""
    if storage is None or not storage.filename:
        return None
    content = storage.read()
    filename = _clean(re.split(r"[\\/]", storage.filename)[-1])
    media_type = storage.mimetype
    if not media_type or media_type == "application/octet-stream":
        media_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return Upload(filename=filename, media_type=media_type, content=content)


def form_values(schema: Mapping, form, prefix: str = "") -> dict:
    """The submitted values as typed, for showing a rejected form again (nothing coerced)."""
    values: dict = {}
    for path, prop, _required in properties(schema, prefix):
        name = path[len(prefix):]
        kind = field_kind(prop)
        if kind == "object":
            values[name] = form_values(prop, form, path + ".")
        elif kind == "multi":
            values[name] = form.getlist(path)
        elif kind == "boolean":
            values[name] = path in form
        elif kind != "document" and path in form:
            values[name] = form.get(path)
    return values


def field_errors(error: InvalidData | Mapping | list, lang: str = "vi") -> dict[str, str]:
    """``{field path: message}`` in ``lang`` from an InvalidData (first message per field).

    Messages without a field go under the key ``""``.
    """
    details = getattr(error, "details", error)
    if isinstance(details, Mapping):
        details = [{"field": k, "message": v} for k, v in details.items()]
    details = [item for item in details or [] if isinstance(item, Mapping)]
    overall = ""
    if isinstance(error, InvalidData):
        overall = error.vi if lang == "vi" else error.message
    result: dict[str, str] = {}
    for item in details:
        field = str(item.get("field") or "").strip("/").replace("/", ".").removeprefix("$.")
        message = item.get(f"message_{lang}")
        if not message and lang == "vi" and len(details) == 1 and overall:
            # A lone detail with only an English message: the error's own Vietnamese
            # message says the same thing.
            message = overall
        result.setdefault(field, message or item.get("message") or "")
    if not result and overall:
        result[""] = overall
    return result
