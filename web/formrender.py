"""JSON Schema forms (biểu mẫu) as HTML: input fields, an error summary, read-only data.

One renderer serves the citizen's application form, every officer's task form and the
analysts' live preview, so everything here is a pure function of its arguments: no
Flask, no request, no database. Parsing a submitted form back into data is in
:mod:`web.formparse` and re-exported here. Conventions: :mod:`web.formschema`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

from .formparse import field_errors, form_values, parse_form
from .formschema import (
    RADIO_LIMIT,
    choices,
    description_of,
    document_id,
    field_id,
    field_kind,
    lookup,
    properties,
    same_value,
    title_of,
    ui_text,
    walk,
)

__all__ = ["error_summary", "field_errors", "form_values", "parse_form", "render_form",
           "render_values"]


_STAR = Markup(' <span class="req" aria-hidden="true">*</span>')
_HINT = Markup('<p class="hint" id="{}-hint">{}</p>')
_ERROR = Markup('<p class="field-error" id="{}-error">'
                '<span class="visually-hidden">{}</span>{}</p>')
_INPUT_TYPES = {"email": "email", "date": "date", "uri": "url"}  # by JSON Schema "format"
_FIELDSET = Markup('<fieldset class="{}" id="{}"{}><legend>{}</legend>{}{}</fieldset>')


def _attrs(**attrs: Any) -> Markup:
    """HTML attributes; True gives a bare attribute, None and False are left out."""
    parts = []
    for key, value in attrs.items():
        name = key.rstrip("_").replace("_", "-")
        if value is True:
            parts.append(Markup(" ") + name)
        elif value is not None and value is not False:
            parts.append(Markup(' {}="{}"').format(name, value))
    return Markup("").join(parts)


def _as_text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    return str(value)


def html_pattern(pattern: str | None) -> str | None:
    """A JSON Schema ``pattern`` as an HTML ``pattern`` attribute.

    JSON Schema searches (``\\S`` means "contains a non-space"), HTML matches the whole
    value; an unanchored pattern is widened so the browser checks what the engine checks.
    """
    if not pattern:
        return None
    if pattern.startswith("^") and pattern.endswith("$"):
        return pattern
    return f"[\\s\\S]*(?:{pattern})[\\s\\S]*"


def render_form(schema: Mapping, values: Mapping | None = None,
                errors: Mapping[str, str] | None = None, *, lang: str = "vi",
                documents: Mapping[int, str] | None = None,
                prefill: Mapping[str, Any] | None = None) -> Markup:
    """The fields of ``schema`` as HTML: labels, inputs, hints and each field's error.

    ``values`` fills the inputs (when it is None: ``prefill``, the values from the account
    by field path, then the schema defaults); ``errors`` maps a field path to its message;
    ``documents`` maps a document id found in ``values`` to its file name, shown next to
    the file input. A file kept from a rejected submission is ``{"filename", "token"}``
    in ``values``: shown as attached, its token sent back in a hidden input.
    """
    ctx = _Context(values, dict(errors or {}), lang, documents or {}, values is None)
    ctx.prefill = dict(prefill or {})
    return Markup("\n").join(ctx.field(path, prop, req) for path, prop, req in properties(schema))


class _Context:
    """What every field of one rendering needs; keeps the argument lists short."""

    def __init__(self, values, errors, lang, documents, use_defaults):
        self.values, self.errors, self.lang = values, errors, lang
        self.documents, self.use_defaults = documents, use_defaults
        self.prefill: dict = {}

    def value(self, path: str, prop: Mapping) -> Any:
        """The value shown in a field: on a blank form, the account's or the default."""
        if self.use_defaults:
            return self.prefill.get(path, prop.get("default"))
        return lookup(self.values, path)

    def field(self, path: str, prop: Mapping, required: bool) -> Markup:
        """One field: label (or legend), hint, error, control."""
        kind = field_kind(prop)
        fid = field_id(path)
        title = title_of(prop, path.rsplit(".", 1)[-1], self.lang)
        hint_text = description_of(prop, self.lang)
        examples = prop.get("examples")
        if isinstance(examples, list) and examples and str(examples[0]) not in hint_text:
            hint_text = " ".join(filter(None, [hint_text, ui_text("example", self.lang)
                                               + str(examples[0])]))
        if kind == "document":
            hint_text = self._document_hint(prop, hint_text, path)
        if kind == "boolean":
            # JSON Schema "required" only asks for a value; ticking is required by const.
            required = prop.get("const") is True
        error = self.errors.get(path)
        described = " ".join(i for i, present in ((fid + "-hint", hint_text),
                                                   (fid + "-error", error)) if present) or None
        label = Markup("{}{}").format(title, _STAR if required else "")
        extra = Markup("{}{}").format(
            _HINT.format(fid, hint_text) if hint_text else "",
            _ERROR.format(fid, ui_text("error", self.lang), error) if error else "")
        classes = "field field--error" if error else "field"
        common = {"id": fid, "aria_describedby": described,
                  "aria_invalid": "true" if error else None}
        value = self.value(path, prop)

        if kind == "object":
            inner = Markup("\n").join(self.field(p, s, r)
                                      for p, s, r in properties(prop, path + "."))
            return _FIELDSET.format("group", fid, "", title, extra, inner)
        if kind in ("choice", "multi") and self._as_radios(prop, kind):
            control = self._group(path, prop, kind, value, required)
            return _FIELDSET.format(classes, fid, _attrs(aria_describedby=described), label,
                                    extra, control)
        if kind == "boolean":
            ticked = bool(value) and value not in ("false", "0")
            box = Markup('<input type="checkbox" name="{}" value="true"{}>').format(
                path, _attrs(checked=ticked, required=required, **common))
            return Markup('<div class="{} field--checkbox">{}<label for="{}">{}</label>{}</div>'
                          ).format(classes, box, fid, label, extra)
        control = self._control(path, prop, kind, value, required, common)
        return Markup('<div class="{}"><label for="{}">{}</label>{}{}</div>').format(
            classes, fid, label, extra, control)

    def _as_radios(self, prop: Mapping, kind: str) -> bool:
        options = choices(prop["items"] if kind == "multi" else prop) or []
        return kind == "multi" or len(options) <= RADIO_LIMIT

    def _document_hint(self, prop: Mapping, hint: str, path: str) -> str:
        parts = [hint] if hint else []
        accept = prop.get("x-accept")
        if accept:
            parts.append(ui_text("accept", self.lang) + ", ".join(accept))
        if self.errors and not self._document_name(path):
            parts.append(ui_text("rechoose", self.lang))
        return " ".join(parts)

    def _document_name(self, path: str) -> str:
        value = lookup(self.values, path)
        if isinstance(value, Mapping):
            return str(value.get("filename") or "")
        doc_id = document_id(value)
        if doc_id is not None:
            return self.documents.get(doc_id) or ui_text("document", self.lang) + str(doc_id)
        return ""

    def _group(self, path: str, prop: Mapping, kind: str, value: Any, required: bool) -> Markup:
        """Radio buttons for a short choice, checkboxes for a multiple choice."""
        options = choices(prop["items"] if kind == "multi" else prop, self.lang) or []
        selected = value if isinstance(value, list) else [value]
        input_type = "checkbox" if kind == "multi" else "radio"
        items = []
        for index, (const, label) in enumerate(options):
            oid = f"{field_id(path)}-{index}"
            box = Markup('<input type="{}" name="{}" value="{}"{}>').format(
                input_type, path, const, _attrs(
                    id=oid, checked=any(same_value(const, s) for s in selected),
                    required=required and input_type == "radio"))
            items.append(Markup('<div class="choice">{}<label for="{}">{}</label></div>').format(
                box, oid, label))
        return Markup('<div class="choices">{}</div>').format(Markup("").join(items))

    def _control(self, path, prop, kind, value, required, common) -> Markup:
        if kind == "choice":
            blank = Markup('<option value="">{}</option>').format(ui_text("choose", self.lang))
            opts = [blank] + [
                Markup("<option{}>{}</option>").format(
                    _attrs(value=const, selected=same_value(const, value)), label)
                for const, label in choices(prop, self.lang) or []]
            return Markup('<select name="{}"{}>{}</select>').format(
                path, _attrs(required=required, **common), Markup("").join(opts))
        if kind == "document":
            current = self._document_name(path)
            kept = value.get("token") if isinstance(value, Mapping) else None
            note = (Markup('<p class="current-file">{}<strong>{}</strong> {}</p>').format(
                ui_text("attached_file" if kept else "current_file", self.lang), current,
                ui_text("replace_file", self.lang)) if current else "")
            if kept:
                note += Markup('<input type="hidden" name="{}__kept" value="{}">').format(
                    path, kept)
            accept = ",".join(prop.get("x-accept", [])) or None
            return note + Markup('<input type="file" name="{}"{}>').format(
                path, _attrs(accept=accept, required=required and not current, **common))
        if kind in ("textarea", "lines"):
            text = "\n".join(map(str, value)) if isinstance(value, list) else _as_text(value)
            return Markup('<textarea name="{}" rows="{}"{}>{}</textarea>').format(
                path, 5 if kind == "textarea" else 3,
                _attrs(required=required, maxlength=prop.get("maxLength"), **common), text)
        if kind in ("integer", "number"):
            return Markup('<input type="number" name="{}" value="{}"{}>').format(
                path, _as_text(value), _attrs(
                    step="1" if kind == "integer" else "any", min=prop.get("minimum"),
                    max=prop.get("maximum"), inputmode="numeric" if kind == "integer" else
                    "decimal", required=required, **common))
        input_type = _INPUT_TYPES.get(prop.get("format"), "text")
        return Markup('<input type="{}" name="{}" value="{}"{}>').format(
            input_type, path, _as_text(value), _attrs(
                pattern=html_pattern(prop.get("pattern")), maxlength=prop.get("maxLength"),
                minlength=prop.get("minLength"), required=required, **common))


def error_summary(schema: Mapping, errors: Mapping[str, str] | None, *, lang: str = "vi") -> Markup:
    """A box listing every error with a link to its field (GOV.UK's error summary)."""
    if not errors:
        return Markup("")
    titles = {path: title_of(prop, path.rsplit(".", 1)[-1], lang)
              for path, prop in walk(schema)}
    items = []
    for path, message in errors.items():
        if path in titles:
            items.append(Markup('<li><a href="#{}">{}: {}</a></li>').format(
                field_id(path), titles[path], message))
        else:
            items.append(Markup("<li>{}</li>").format(message))
    return Markup('<div class="error-summary" role="alert" tabindex="-1"><h2>{}</h2><ul>{}</ul>'
                  '</div>').format(ui_text("summary", lang), Markup("").join(items))



def render_values(schema: Mapping, values: Mapping | None, *, lang: str = "vi",
                  documents: Mapping[int, str] | None = None,
                  document_url: Callable[[int], str] | None = None) -> Markup:
    """Submitted data, read-only, as a description list labelled from ``schema``.

    Values the schema does not describe are listed after, under their key.
    """
    values = values or {}
    documents = documents or {}
    rows = []
    known = set()
    for path, prop, _required in properties(schema):
        known.add(path)
        if path not in values:
            continue
        if field_kind(prop) == "object":
            shown = render_values(prop, values[path], lang=lang, documents=documents,
                                  document_url=document_url)
        else:
            shown = _display(prop, values[path], lang, documents, document_url)
        rows.append((title_of(prop, path, lang), shown))
    rows += [(key, _display({}, value, lang, documents, None))
             for key, value in values.items() if key not in known]
    body = Markup("").join(Markup("<dt>{}</dt><dd>{}</dd>").format(k, v) for k, v in rows)
    return Markup('<dl class="summary-list">{}</dl>').format(body)


def _display(prop, value, lang, documents, document_url) -> Markup | str:
    kind = field_kind(prop)
    doc_id = document_id(value) if kind == "document" else None
    if doc_id is not None:
        name = documents.get(doc_id) or ui_text("document", lang) + str(doc_id)
        if document_url:
            return Markup('<a href="{}">{}</a>').format(document_url(doc_id), name)
        return name
    if isinstance(value, bool):
        return ui_text("yes" if value else "no", lang)
    if kind in ("choice", "multi"):
        labels = dict((str(c), label) for c, label in
                      choices(prop["items"] if kind == "multi" else prop, lang) or [])
        items = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in items)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return render_values({}, value, lang=lang, documents=documents, document_url=document_url)
    return "" if value is None else str(value)
