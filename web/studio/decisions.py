"""The decision-table editor: a bundle's DMN table (``*.dmn``) in dmn-js.

``static/studio/decision.js`` runs dmn-js's modeler on the page, opens the file's
decision table, and posts the table's XML back here. Saving stages the file in the
analyst's draft (:mod:`.drafts`), as the form editor does with forms; deploying from the
diagram editor sends it with the diagram, and deploy checks every table as it always does
(``engine.decisions``: each cell an expression the sandbox accepts, each decision a
business rule task names present). A save is answered with what that check says of the
bundle as it now stands, so the analyst sees a bad cell before going back to deploy.

dmn-js is installed from the npm registry like bpmn-js (``package.json``) and served from
``node_modules/dmn-js/dist`` by :func:`vendor_dmn`.
"""

from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, g, jsonify, render_template, request, send_from_directory
from flask_babel import gettext as _
from lxml import etree

from engine import procedures, versions
from engine.errors import InvalidBundle

from .. import platform
from . import analyst_required, bp, drafts
from .editor import localized

DMN_ASSETS = Path(__file__).resolve().parents[2] / "node_modules" / "dmn-js" / "dist"
DMN_MODELER = "dmn-modeler.production.min.js"
# DMN 1.1 to 1.3: SpiffWorkflow reads each; dmn-js opens 1.3 and migrates the older ones.
DMN_NAMESPACES = {"http://www.omg.org/spec/DMN/20151101/dmn.xsd",
                  "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "https://www.omg.org/spec/DMN/20191111/MODEL/"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def dmn_assets_dir() -> Path:
    """Where dmn-js's ``dist/`` is: the app's ``DMN_ASSETS_DIR``, else the setting
    ``dmn_assets_dir`` (``MOTCUA_DMN_ASSETS_DIR``), else ``node_modules/dmn-js/dist``."""
    return Path(current_app.config.get("DMN_ASSETS_DIR")
                or platform().settings.dmn_assets_dir or DMN_ASSETS)


def tables(files: dict[str, str]) -> list[str]:
    """The bundle's decision tables, by file name."""
    return sorted(name for name in files if name.endswith(".dmn"))


@bp.route("/dmn-vendor/<path:filename>")
def vendor_dmn(filename: str):
    """A file of dmn-js's ``dist/`` (library code and styles: served to anyone)."""
    if not (dmn_assets_dir() / DMN_MODELER).is_file():
        abort(404, description=_("Chưa cài dmn-js: chạy “make setup” (npm ci) rồi tải lại trang."))
    response = send_from_directory(dmn_assets_dir(), filename, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _table(code: str, number: int, name: str) -> tuple[dict, dict[str, str]]:
    """Version ``number`` and the analyst's working files; 404 unless ``name`` is one of
    their decision tables."""
    version = versions.get_version(platform(), code, number)
    draft = drafts.load(platform().settings.data_dir, g.user.id, code)
    files = drafts.compose(version["files"], draft, number)
    if name not in tables(files):
        abort(404)
    return version, files


@bp.route("/procedures/<code>/versions/<int:number>/decisions/<path:name>")
@analyst_required
def decision_editor(code: str, number: int, name: str):
    """The table ``name`` in dmn-js's decision-table editor."""
    version, files = _table(code, number, name)
    draft = drafts.load(platform().settings.data_dir, g.user.id, code)
    staged = bool(draft and draft.base == number and name in draft.files)
    return render_template(
        "studio/decision_editor.html", code=code, version=version, name=name, staged=staged,
        assets=(dmn_assets_dir() / DMN_MODELER).is_file(), tables=tables(files))


@bp.route("/procedures/<code>/versions/<int:number>/decision-xml/<path:name>")
@analyst_required
def decision_xml(code: str, number: int, name: str):
    """The table's XML as the analyst is working on it (the staged one if any)."""
    _version, files = _table(code, number, name)
    return current_app.response_class(files[name], mimetype="application/xml",
                                      headers={"Cache-Control": "no-store"})


def dmn_problem(text: str) -> str | None:
    """Why ``text`` is no DMN file (None when it is one): what a save refuses outright."""
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        return _("Không phải XML hợp lệ: %(problem)s", problem=str(exc))
    if etree.QName(root).localname != "definitions" or \
            etree.QName(root).namespace not in DMN_NAMESPACES:
        return _("Không phải bảng quyết định DMN (phần tử gốc phải là definitions của DMN).")
    return None


@bp.route("/procedures/<code>/versions/<int:number>/decision-xml/<path:name>",
          methods=("POST",))
@analyst_required
def save_decision(code: str, number: int, name: str):
    """Stage the posted table (JSON ``{xml}``) in the draft, then check the bundle as
    deploy would. 200 ``{saved, message, errors}``: ``errors`` are what deploy would
    refuse (the table is saved all the same, as a diagram draft is); 422 when the text is
    no DMN file (nothing saved)."""
    _version, files = _table(code, number, name)
    data = request.get_json(silent=True)
    text = data.get("xml") if isinstance(data, dict) else None
    problem = dmn_problem(text) if isinstance(text, str) else _("Hãy gửi nội dung bảng.")
    if problem:
        return jsonify({"saved": False, "message": problem, "errors": []}), 422
    drafts.save_file(platform().settings.data_dir, g.user.id, code, number, name, text)
    try:
        procedures.deploy_bundle(platform(), {**files, name: text}, actor=g.user.username,
                                 check_only=True)
    except InvalidBundle as exc:
        errors = [p["message"] for p in localized(list(exc.details or []))] or [str(exc)]
        return jsonify({"saved": True, "errors": errors, "message": _(
            "Đã lưu vào bản nháp, nhưng gói còn lỗi nên chưa triển khai được:")})
    return jsonify({"saved": True, "errors": [], "message": _(
        "Đã lưu %(name)s vào bản nháp. Triển khai từ trình soạn thảo sơ đồ để áp dụng.",
        name=name)})
