"""The form editor: a bundle form's JSON Schema beside its live preview.

The preview is rendered by :func:`web.formrender.render_form`, the renderer citizens and
officers see, so what the analyst sees is what they will get. A schema that is not JSON,
or not a valid JSON Schema (Draft 2020-12, the dialect deploy checks), is reported beside
the text — with its line for JSON syntax errors and its path for schema errors. Saving
stages the form in the analyst's draft; deploying from the diagram editor sends it.
The page works without JavaScript (a "preview" button); with it, the preview follows the
typing.
"""

from __future__ import annotations

import json
import re

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from markupsafe import Markup

from engine import problem_texts, versions

from .. import platform
from ..formrender import render_form
from ..i18n import LANGUAGES, current_lang, localized
from ..keptfiles import PREFILL_FIELDS
from . import analyst_required, bp, catalog, drafts, formbuilder

NEW_FORM = re.compile(r"^forms/[a-z0-9][a-z0-9_-]{0,60}\.json$")
SKELETON = ('{\n  "type": "object",\n  "title": "",\n  "required": [],\n'
            '  "properties": {\n  }\n}\n')
_META = Draft202012Validator.META_SCHEMA
_MetaValidator = validator_for(_META, default=Draft202012Validator)


def check_schema(text: str) -> tuple[dict | None, list[dict]]:
    """The schema and its problems ``[{message, line, column, path}]``.

    JSON syntax errors carry their line and column; schema errors their JSON path, the
    most relevant first (the message ``Draft202012Validator.check_schema`` would raise).
    """
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [{"message": _("Không phải JSON hợp lệ: %(problem)s (dòng %(line)s, cột "
                                    "%(column)s).", problem=_in_page_language(exc.msg),
                                    line=exc.lineno, column=exc.colno),
                       "line": exc.lineno, "column": exc.colno, "path": ""}]
    validator = _MetaValidator(_META, format_checker=Draft202012Validator.FORMAT_CHECKER)
    found = list(validator.iter_errors(schema))
    if found:
        first = best_match(found)
        ordered = [first] + [e for e in found if e is not first]
        return schema, [{"message": _in_page_language(e.message), "line": None, "column": None,
                         "path": "/".join(str(p) for p in e.absolute_path) or "(root)"}
                        for e in ordered]
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return schema, [{"message": _('Một biểu mẫu phải có "type": "object" ở gốc.'),
                         "line": None, "column": None, "path": "(root)"}]
    return schema, []


def _in_page_language(message: str) -> str:
    """A library's English message (jsonschema, the JSON reader) in the page's language,
    when the catalogue of :mod:`engine.problem_texts` knows it."""
    if current_lang() != "vi":
        return message
    return problem_texts.vietnamese(message) or message


def check_and_render(text: str, lang: str) -> tuple[Markup | None, list[dict]]:
    """The form as citizens would see it (None while the schema is invalid) and the
    schema's problems."""
    schema, errors = check_schema(text)
    if errors:
        return None, errors
    try:
        return render_form(schema, None, None, lang=lang), []
    except Exception:  # a valid schema the renderer cannot draw: say so, do not crash
        return None, [{"message": _("Lược đồ hợp lệ nhưng không hiển thị được thành biểu mẫu."),
                       "line": None, "column": None, "path": "(root)"}]


def _form_path(files: dict[str, str], form: str) -> str:
    """``form`` if it names one of the bundle's forms or a new one; 404 otherwise (the
    form editor edits forms, not procedure.yaml or the diagram)."""
    if form in catalog.forms(files) or NEW_FORM.match(form):
        return form
    abort(404)


@bp.route("/procedures/<code>/versions/<int:number>/forms/<path:form>",
          methods=("GET", "POST"))
@analyst_required
def form_editor(code: str, number: int, form: str):
    """GET: the form's schema (the staged one if any) and its preview. POST with
    ``action=preview`` shows the typed text's preview; ``action=save`` stages it in the
    draft (refused with the errors shown when the schema is invalid)."""
    version = versions.get_version(platform(), code, number)
    data_dir = platform().settings.data_dir
    draft = drafts.load(data_dir, g.user.id, code)
    files = drafts.compose(version["files"], draft, number)
    form = _form_path(files, form)
    lang = request.values.get("preview_lang") if request.values.get(
        "preview_lang") in LANGUAGES else current_lang()
    text = request.form.get("schema", "") if request.method == "POST" else files.get(form, SKELETON)
    html, errors = check_and_render(text, lang)
    status = 200
    if request.method == "POST" and request.form.get("action") == "save":
        if not errors:
            drafts.save_file(data_dir, g.user.id, code, number, form, text)
            flash(_("Đã lưu %(form)s vào bản nháp. Triển khai từ trình soạn thảo sơ đồ để "
                    "áp dụng.", form=form), "success")
            return redirect(url_for(".form_editor", code=code, number=number, form=form,
                                    preview_lang=lang))
        flash(_("Chưa lưu: biểu mẫu còn lỗi."), "error")
        status = 422
    staged = bool(draft and draft.base == number and form in draft.files)
    return render_template(
        "studio/form_editor.html", code=code, version=version, form=form, text=text,
        errors=errors, preview=html,
        preview_lang=lang, staged=staged, is_new=form not in version["files"],
        builder_roles=[{"code": r["code"], "name": localized(r)}
                       for r in catalog.known_roles(platform())],
        builder_prefill=PREFILL_FIELDS,
    ), status


@bp.route("/procedures/<code>/versions/<int:number>/forms", methods=("POST",))
@analyst_required
def new_form(code: str, number: int):
    """Start a new form ``forms/<name>.json`` (staged when first saved)."""
    versions.get_version(platform(), code, number)
    name = request.form.get("name", "").strip().lower().removesuffix(".json")
    form = f"forms/{name}.json"
    if not NEW_FORM.match(form):
        flash(_("Tên tệp biểu mẫu chỉ gồm chữ thường không dấu, số, “-” và “_”, ví dụ "
                "“tham-dinh”."), "error")
        return redirect(url_for(".editor", code=code, number=number))
    return redirect(url_for(".form_editor", code=code, number=number, form=form))


@bp.route("/form-preview", methods=("POST",))
@analyst_required
def form_preview():
    """JSON ``{schema: "<text>", lang}`` → ``{valid, html, errors}``; ``html`` is None
    when the schema cannot be drawn (the page keeps the last good preview)."""
    data = request.get_json(silent=True)
    text = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return jsonify({"valid": False, "html": None, "errors": [
            {"message": _("Hãy gửi nội dung biểu mẫu."), "line": None, "column": None,
             "path": ""}]}), 400
    lang = data.get("lang") if data.get("lang") in LANGUAGES else current_lang()
    html, errors = check_and_render(text, lang)
    return jsonify({"valid": not errors, "html": str(html) if html is not None else None,
                    "errors": errors})


def schema_text(schema: dict) -> str:
    """A schema as the bundle's forms are written: two-space indent, Vietnamese as is."""
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


@bp.route("/form-builder/read", methods=("POST",))
@analyst_required
def form_builder_read():
    """JSON ``{schema: "<text>"}`` → ``{form}`` for the builder, or ``{form: null, reason}``
    when the builder cannot express the schema (it stays in the JSON view)."""
    data = request.get_json(silent=True)
    text = data.get("schema") if isinstance(data, dict) else None
    schema, errors = check_schema(text) if isinstance(text, str) else (None, [])
    if not isinstance(text, str) or errors:
        return jsonify({"form": None, "reason": _("Sửa lỗi của lược đồ trước khi dùng trình "
                                                  "dựng.")})
    try:
        return jsonify({"form": formbuilder.read(schema), "reason": None})
    except formbuilder.CannotBuild as exc:
        return jsonify({"form": None, "reason": str(exc)})


@bp.route("/form-builder/write", methods=("POST",))
@analyst_required
def form_builder_write():
    """JSON ``{form, lang}`` → ``{schema: "<text>", html, errors}``: the builder's form as
    JSON Schema and its preview; ``schema`` is None while ``errors`` lists what to fix."""
    data = request.get_json(silent=True)
    form = data.get("form") if isinstance(data, dict) else None
    if not isinstance(form, dict) or not isinstance(form.get("fields"), list) or not all(
            isinstance(f, dict) for f in form["fields"]):
        return jsonify({"schema": None, "html": None, "errors": [
            {"message": _("Hãy gửi biểu mẫu của trình dựng."), "line": None, "column": None,
             "path": ""}]}), 400
    found = formbuilder.problems(form)
    if found:
        return jsonify({"schema": None, "html": None, "errors": [
            {"message": m, "line": None, "column": None, "path": ""} for m in found]})
    text = schema_text(formbuilder.write(form))
    lang = data.get("lang") if data.get("lang") in LANGUAGES else current_lang()
    html, errors = check_and_render(text, lang)
    return jsonify({"schema": text, "html": str(html) if html is not None else None,
                    "errors": errors})
