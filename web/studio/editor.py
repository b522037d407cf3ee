"""The procedures, and the diagram editor: open a version in bpmn-js, save a draft,
validate, deploy.

The page is rendered here with everything the properties panel offers (roles, operators,
forms, documents); ``static/studio/editor.js`` runs the modeler and sends the diagram's
XML back as JSON. Validate and deploy send the version's other files with it — with the
analyst's staged forms on top (:mod:`.drafts`) — to ``engine.procedures.deploy_bundle``.
"""

from __future__ import annotations

from flask import Response, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from lxml import etree

from engine import procedures, versions
from engine.errors import InvalidBundle

from .. import platform
from ..errors import ApiError
from ..i18n import current_lang
from . import analyst_required, assets_installed, bp, catalog, drafts
from .problems import PARSER as _PARSER
from .problems import locate
from .versions import ELEMENT_TYPES


def diagram_name(version: dict) -> str:
    """The bundle's diagram file (``process:`` of procedure.yaml, else its only .bpmn)."""
    named = (version.get("meta") or {}).get("process")
    if named:
        return named
    return next((n for n in sorted(version["files"]) if n.endswith(".bpmn")), "process.bpmn")


def editor_urls(code: str, number: int) -> dict[str, str]:
    """The endpoints the editor page calls while it works on version ``number``."""
    return {
        "xml_url": url_for(".diagram", code=code, number=number, draft=1),
        "validate_url": url_for(".validate", code=code, number=number),
        "deploy_url": url_for(".deploy", code=code, number=number),
        "draft_url": url_for(".save_draft", code=code, number=number),
        "form_url": url_for(".form_editor", code=code, number=number,
                            form="forms/__FORM__.json"),
    }


def working_copy(code: str, number: int) -> tuple[dict, drafts.Draft | None, dict[str, str]]:
    """Version ``number`` of ``code``, the analyst's draft, and the files they are working
    on (the version's, with the draft's on top when it starts from this version)."""
    version = versions.get_version(platform(), code, number)
    draft = drafts.load(platform().settings.data_dir, g.user.id, code)
    return version, draft, drafts.compose(version["files"], draft, number)


@bp.route("/")
@analyst_required
def index():
    """Every procedure with its versions: who deployed each, when, how many dossiers."""
    rows = []
    for procedure in procedures.list_procedures(platform()):
        rows.append({"procedure": procedure,
                     "versions": versions.list_versions(platform(), procedure["code"])})
    return render_template("studio/index.html", rows=rows)


@bp.route("/procedures/<code>/versions/<int:number>/edit")
@analyst_required
def editor(code: str, number: int):
    """Version ``number`` in the modeler, with the properties panel and the bundle's forms."""
    version, draft, files = working_copy(code, number)
    staged = sorted(draft.files) if draft and draft.base == number else []
    roles = roles_by_name()
    return render_template(
        "studio/editor.html", code=code, version=version, files=files, staged=staged,
        other_draft=draft.base if draft and draft.base != number else None,
        diagram=diagram_name(version), roles=roles,
        role_names={r["code"]: r["name"] for r in roles},
        operators=catalog.operators(), forms=catalog.forms(files),
        documents=catalog.documents(version.get("meta") or {}),
        parameter_types=catalog.PARAMETER_TYPES, helpers=catalog.HELPERS,
        type_labels={kind: str(label) for kind, label in ELEMENT_TYPES.items()},
        urls=editor_urls(code, number),
        assets=assets_installed())


def roles_by_name() -> list[dict]:
    """The roles for the lane picker: the applicant first, then by name in the page's
    language, each with ``name`` (what lanes show instead of the code)."""
    lang = current_lang()
    roles = [{**r, "name": r.get(f"name_{lang}") or r.get("name_vi") or r["code"]}
             for r in catalog.known_roles(platform())]
    return roles[:1] + sorted(roles[1:], key=lambda r: r["name"].casefold())


def localized(problems: list[dict]) -> list[dict]:
    """Problems (or warnings) with ``message`` in the page's language (``message_en`` keeps
    the English)."""
    vi = current_lang() == "vi"
    return [{**p, "message_en": p.get("message"),
             "message": (p.get("message_vi") or p.get("message")) if vi else p.get("message")}
            for p in problems]


@bp.route("/procedures/<code>/versions/<int:number>/diagram.bpmn")
@analyst_required
def diagram(code: str, number: int):
    """The version's diagram; ``?draft=1`` gives the analyst's staged one if there is one."""
    if request.args.get("draft"):
        version, _draft, files = working_copy(code, number)
    else:
        version = versions.get_version(platform(), code, number)
        files = version["files"]
    return Response(files[diagram_name(version)], mimetype="application/xml",
                    headers={"Cache-Control": "no-store"})


@bp.route("/procedures/<code>/versions/<int:number>/draft", methods=("POST",))
@analyst_required
def save_draft(code: str, number: int):
    """Stage the modeler's diagram (JSON ``{xml}``) in the analyst's draft."""
    version = versions.get_version(platform(), code, number)
    name = diagram_name(version)
    drafts.save_file(platform().settings.data_dir, g.user.id, code, number, name,
                     _diagram_for([version["files"].get(name)], _posted_xml()))
    return jsonify({"saved": True, "message": _("Đã lưu bản nháp.")})


@bp.route("/procedures/<code>/draft/discard", methods=("POST",))
@analyst_required
def discard_draft(code: str):
    """Forget the analyst's staged diagram and forms of this procedure."""
    drafts.discard(platform().settings.data_dir, g.user.id, code)
    flash(_("Đã bỏ bản nháp."), "info")
    number = request.form.get("number", type=int)
    if number:
        return redirect(url_for(".editor", code=code, number=number))
    return redirect(url_for(".procedure", code=code))


@bp.route("/procedures/<code>/versions/<int:number>/validate", methods=("POST",))
@analyst_required
def validate(code: str, number: int):
    """Check the posted diagram with the bundle's other files, as deploy would.

    Always 200: ``{valid, message, errors: [{file, element, message, element_id,
    related}]}`` — an invalid diagram is the answer, not a failed request.
    """
    version, _draft, files = working_copy(code, number)
    name = diagram_name(version)
    xml = _diagram_for([version["files"].get(name), files.get(name)], _posted_xml())
    try:
        result = procedures.deploy_bundle(platform(), {**files, name: xml},
                                          actor=g.user.username, check_only=True)
    except InvalidBundle as exc:
        return jsonify(_invalid(exc, name, xml))
    warnings = localized(locate(result.get("warnings") or [], name, xml))
    message = ngettext("Hợp lệ, có %(num)s cảnh báo nên xem lại.",
                       "Hợp lệ, có %(num)s cảnh báo nên xem lại.",
                       len(warnings)) if warnings else _("Hợp lệ: không có lỗi.")
    return jsonify({"valid": True, "message": message, "errors": [], "warnings": warnings})


@bp.route("/procedures/<code>/versions/<int:number>/deploy", methods=("POST",))
@analyst_required
def deploy(code: str, number: int):
    """Deploy the posted diagram with the bundle's other files (staged forms included) as
    a new version, deployed by the analyst. 201 with the new number; 200 when the content
    is that of an existing version (nothing created); 422 with the errors if invalid."""
    version, _draft, files = working_copy(code, number)
    name = diagram_name(version)
    xml = _diagram_for([version["files"].get(name), files.get(name)], _posted_xml())
    try:
        result = procedures.deploy_bundle(platform(), {**files, name: xml},
                                          actor=g.user.username)
    except InvalidBundle as exc:
        return jsonify(_invalid(exc, name, xml)), 422
    new = result["version"]
    if result["created"]:
        drafts.discard(platform().settings.data_dir, g.user.id, code)
        message = _("Đã triển khai phiên bản %(number)s. Hồ sơ nộp từ bây giờ chạy theo "
                    "phiên bản này; hồ sơ đang giải quyết vẫn theo phiên bản cũ cho đến khi "
                    "được chuyển.", number=new)
    else:
        message = _("Không có gì thay đổi: nội dung giống hệt phiên bản %(number)s nên không "
                    "tạo phiên bản mới.", number=new)
    # The page goes on from the version now holding this content, so that its next
    # deploy starts from these files (forms staged and deployed included).
    body = {"valid": True, "created": result["created"], "version": new, "message": message,
            "warnings": localized(locate(result.get("warnings") or [], name, xml)),
            "editor_url": url_for(".editor", code=code, number=new),
            "versions_url": url_for(".procedure", code=code),
            "urls": editor_urls(code, new)}
    return jsonify(body), 201 if result["created"] else 200


def _diagram_for(texts: list[str | None], posted: str) -> str:
    """The posted diagram, or the first of ``texts`` (the version's, the draft's) that says
    the same: bpmn-js writes XML its own way (quotes, indentation), and a diagram opened
    and deployed untouched must be recognised as unchanged (same content hash)."""
    wanted = _canonical(posted)
    if wanted is not None:
        for text in texts:
            if text is not None and _canonical(text) == wanted:
                return text
    return posted


BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
# Attributes bpmn-js writes on its own (the marker it always draws on exclusive gateways).
_WRITTEN_BY_MODELER = ("isMarkerVisible",)


def _canonical(xml: str) -> tuple | None:
    """What a diagram says, whoever wrote its XML: the model in canonical XML, and its
    drawing (shapes and edges) as a set — bpmn-js reorders shapes when it saves."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    for el in root.iter():
        if el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    drawing = []
    for diagram in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        for plane in diagram:
            for item in plane:
                for name in _WRITTEN_BY_MODELER:
                    item.attrib.pop(name, None)
                drawing.append(etree.tostring(item, method="c14n"))
            drawing.append(etree.tostring(etree.Element(plane.tag, plane.attrib), method="c14n"))
        root.remove(diagram)
    return etree.tostring(root, method="c14n"), tuple(sorted(drawing))


def _posted_xml() -> str:
    data = request.get_json(silent=True)
    xml = data.get("xml") if isinstance(data, dict) else None
    if not isinstance(xml, str) or not xml.strip():
        raise ApiError(400, "Send the diagram as JSON {\"xml\": \"<bpmn:definitions …>\"}.",
                       vi="Hãy gửi sơ đồ dạng JSON {\"xml\": \"<bpmn:definitions …>\"}.")
    return xml


def _invalid(exc: InvalidBundle, name: str, xml: str) -> dict:
    errors = localized(locate(list(exc.details or []), name, xml))
    return {"valid": False, "errors": errors,
            "message": ngettext("Có %(num)s lỗi cần sửa.", "Có %(num)s lỗi cần sửa.",
                                len(errors))}
