"""The application form of a procedure as a blank paper form to print and fill by hand
(mẫu đơn, tờ khai), read from the same JSON Schema as the online form: each field's label,
whether it is required, its help and example, the choices to tick, and the documents to
attach. Nothing here is per procedure."""

from __future__ import annotations

from collections.abc import Mapping

from .formschema import choices, description_of, field_kind, properties, title_of

#: How a field is drawn on paper, by its kind on the screen (anything else: one line).
PAPER = {"object": "group", "textarea": "lines", "lines": "lines", "choice": "choice",
         "multi": "multi", "boolean": "boolean"}


def blank_fields(schema: Mapping, lang: str, depth: int = 0) -> list[dict]:
    """The fields to fill by hand, in the form's order (a group's own fields after its
    heading, ``depth`` deeper): ``{label, required, hint, example, kind, choices, depth}``,
    ``kind`` one of ``text``, ``lines`` (several lines to write), ``choice`` (tick one),
    ``multi`` (tick any), ``boolean`` or ``group``. Documents are in
    :func:`blank_documents`."""
    rows: list[dict] = []
    for path, prop, required in properties(schema):
        kind = field_kind(prop)
        if kind == "document":
            continue
        options = choices(prop.get("items", {}) if kind == "multi" else prop, lang) or []
        examples = prop.get("examples") or []
        rows.append({"label": title_of(prop, path, lang), "required": required,
                     "hint": description_of(prop, lang), "kind": PAPER.get(kind, "text"),
                     "example": str(examples[0]) if examples else "", "depth": depth,
                     "choices": [label for _value, label in options]})
        if kind == "object":
            rows += blank_fields(prop, lang, depth + 1)
    return rows


def blank_documents(schema: Mapping, lang: str) -> list[dict]:
    """The documents the form asks to attach: ``{label, required}``, in the form's order."""
    return [{"label": title_of(prop, path, lang), "required": required}
            for path, prop, required in properties(schema) if field_kind(prop) == "document"]
