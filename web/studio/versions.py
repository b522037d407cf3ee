"""The versions of one procedure and what changed between two of them.

Versions are immutable and content-hashed (``engine.procedures.deploy_bundle``); the
diff (``engine.versions.diff_versions``) lists elements and files added, removed and
changed, and the page draws the newer diagram with those elements marked.
"""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import lazy_gettext

from engine import versions

from .. import platform
from ..i18n import localized
from . import analyst_required, assets_installed, bp, catalog, drafts

# BPMN element types in the analysts' words (others are shown as they are).
ELEMENT_TYPES = {
    "userTask": lazy_gettext("Nhiệm vụ người dùng"),
    "serviceTask": lazy_gettext("Nhiệm vụ tự động"),
    "scriptTask": lazy_gettext("Nhiệm vụ kịch bản"),
    "task": lazy_gettext("Nhiệm vụ"),
    "subProcess": lazy_gettext("Tiến trình con"),
    "callActivity": lazy_gettext("Gọi tiến trình"),
    "exclusiveGateway": lazy_gettext("Cổng rẽ nhánh"),
    "parallelGateway": lazy_gettext("Cổng song song"),
    "inclusiveGateway": lazy_gettext("Cổng bao hàm"),
    "eventBasedGateway": lazy_gettext("Cổng sự kiện"),
    "startEvent": lazy_gettext("Sự kiện bắt đầu"),
    "endEvent": lazy_gettext("Sự kiện kết thúc"),
    "boundaryEvent": lazy_gettext("Sự kiện biên"),
    "intermediateCatchEvent": lazy_gettext("Sự kiện chờ"),
    "intermediateThrowEvent": lazy_gettext("Sự kiện phát"),
    "sequenceFlow": lazy_gettext("Luồng"),
    "lane": lazy_gettext("Làn (vai trò)"),
    "participant": lazy_gettext("Bể (pool)"),
    "process": lazy_gettext("Quy trình"),
    "message": lazy_gettext("Thông điệp"),
}


def element_type(kind: str | None) -> str:
    """``bpmn:UserTask``, ``UserTask`` or ``userTask`` as words."""
    name = (kind or "").split(":")[-1]
    name = name[:1].lower() + name[1:]
    return str(ELEMENT_TYPES.get(name, kind or ""))


@bp.route("/procedures/<code>")
@analyst_required
def procedure(code: str):
    """The versions of ``code``, newest first, and a form to compare two of them."""
    rows = versions.list_versions(platform(), code)
    if not rows:
        abort(404)
    current = versions.get_version(platform(), code)
    draft = drafts.load(platform().settings.data_dir, g.user.id, code)
    return render_template("studio/procedure.html", code=code, versions=rows, current=current,
                           draft=draft)


@bp.route("/procedures/<code>/diff")
@analyst_required
def diff(code: str):
    """What changed from version ``a`` to version ``b`` (query string; by default the
    version before the newest, and the newest)."""
    rows = versions.list_versions(platform(), code)
    numbers = [r["number"] for r in rows]
    if not numbers:
        abort(404)
    b = request.args.get("b", type=int) or numbers[0]
    a = request.args.get("a", type=int) or (numbers[1] if len(numbers) > 1 else numbers[0])
    changes = versions.diff_versions(platform(), code, a, b)
    elements = changes.get("elements") or {}
    markers = {}
    for kind in ("added", "changed"):
        for item in elements.get(kind) or []:
            markers[item["id"]] = f"studio-diff-{kind}"
    return render_template(
        "studio/diff.html", code=code, a=a, b=b, numbers=numbers, elements=elements,
        files=_file_rows(changes.get("files") or {}), element_type=element_type,
        markers=markers, assets=assets_installed(),
        roles={r["code"]: localized(r) for r in catalog.known_roles(platform())})


def _file_rows(files: dict) -> list[dict]:
    """``[{change, path}]`` from the diff's files, whether listed as paths or records."""
    rows = []
    for change in ("added", "removed", "changed"):
        for item in files.get(change) or []:
            path = item if isinstance(item, str) else item.get("path") or item.get("name")
            rows.append({"change": change, "path": path})
    return rows
