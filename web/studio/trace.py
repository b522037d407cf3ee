"""Where is this dossier (hồ sơ đang ở đâu): its diagram with the path it took.

``engine.inspect.trace`` says which elements are completed, which flows were taken, which
tasks are open (who holds them, by when) and which timers wait; the page draws that on
the dossier's own version of the diagram with bpmn-js's viewer, and lists it as a table
for readers without JavaScript. Analysts see every dossier; officers see their agency's
(the engine decides).
"""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import inspect as inspection
from engine import procedures
from engine.errors import NotFound

from .. import platform
from ..auth import staff_required
from ..i18n import format_moment, localized
from . import assets_installed, bp, catalog


@bp.route("/dossiers/<code>")
@staff_required
def trace(code: str):
    """The dossier on its diagram. 403 for citizens; the engine refuses other agencies'
    officers (403) and unknown codes (404)."""
    view = inspection.trace(platform(), code, g.user)
    roles = {r["code"]: localized(r) for r in catalog.known_roles(platform())}
    active = [{**item, "due_label": format_moment(item.get("due_at")),
               "role_label": roles.get(item.get("role"), item.get("role") or ""),
               "holder": item.get("assignee_name") or item.get("assignee") or ""}
              for item in view.get("active") or []]
    timers = [{**item, "due_label": format_moment(item.get("due_at"))}
              for item in view.get("timers") or []]
    procedure_code, procedure_name = _procedure(view.get("procedure"))
    drawing = {
        "bpmn": view.get("bpmn") or "",
        "completed": view.get("completed") or [],
        "taken_flows": view.get("taken_flows") or [],
        "active": active,
        "timers": timers,
        "labels": {"holder": _("Người xử lý:"), "role": _("Vai trò:"), "due": _("Hạn:"),
                   "unclaimed": _("chưa có người nhận"), "timer": _("Hẹn giờ:"),
                   "unknown_role": _("không phải vai trò đã biết")},
        "roles": roles,
    }
    return render_template("studio/trace.html", trace=view, procedure_code=procedure_code,
                           procedure_name=procedure_name,
                           active=active, timers=timers, drawing=drawing,
                           assets=assets_installed())


@bp.route("/dossiers")
@staff_required
def find_dossier():
    """The look-up box of the studio pages: go to the dossier with the typed code."""
    code = request.args.get("code", "").strip()
    if not code:
        return redirect(url_for(".index") if g.user.is_analyst else url_for("workspace.inbox"))
    return redirect(url_for(".trace", code=code))


def _procedure(procedure) -> tuple[str, str]:
    """(code, name in the page's language) of the trace's procedure, given as a code or a record."""
    if isinstance(procedure, dict):
        return procedure.get("code") or "", localized(procedure)
    code = procedure or ""
    try:
        return code, localized(procedures.get_procedure(platform(), code))
    except NotFound:
        return code, code
