"""Moving running dossiers (chuyển hồ sơ đang giải quyết) to another version.

A dossier keeps the version it was submitted on until it is moved. The page lists, from
``engine.migration.preview``, which dossiers can move to the chosen version and why the
others cannot; the analyst ticks those to move and ``engine.migration.migrate`` moves
them (each in its own transaction), and the results are shown on the same page.
"""

from __future__ import annotations

from flask import abort, g, render_template, request
from flask_babel import gettext as _

from engine import migration, versions

from .. import platform
from ..i18n import current_lang
from . import analyst_required, bp


@bp.route("/procedures/<code>/migrate", methods=("GET", "POST"))
@analyst_required
def migrate(code: str):
    """GET: the preview for ``?to=N`` (default: the active version). POST: move the ticked
    dossiers (``dossier`` fields) to ``to``, then show the results and the new preview."""
    rows = versions.list_versions(platform(), code)
    if not rows:
        abort(404)
    active = next((r["number"] for r in rows if r["active"]), rows[0]["number"])
    to = request.values.get("to", type=int) or active
    if to not in {r["number"] for r in rows}:
        abort(404)
    results = None
    if request.method == "POST":
        chosen = [c for c in request.form.getlist("dossier") if c]
        if chosen:
            results = migration.migrate(platform(), code, dossier_codes=chosen, to_version=to,
                                        actor=g.user.username)
        else:
            results = []
    preview = migration.preview(platform(), code, to_version=to)
    lang = current_lang()
    for row in preview:
        row["reason_text"] = (row.get("reason_vi") if lang == "vi" else row.get("reason")) or \
            row.get("reason") or ""
    moved = sum(1 for r in results or [] if r.get("moved"))
    return render_template(
        "studio/migrate.html", code=code, versions=rows, to=to, preview=preview,
        movable=[r for r in preview if r.get("can_move")],
        blocked=[r for r in preview if not r.get("can_move")], results=results, moved=moved,
        nothing_chosen=results == [] and request.method == "POST",
        summary=_("Đã chuyển %(moved)s/%(total)s hồ sơ sang phiên bản %(to)s.", moved=moved,
                  total=len(results or []), to=to) if results else "")
