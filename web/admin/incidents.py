"""The operations console (bảng sự cố) at ``/admin/su-co``: background work that failed —
timers, messages, jobs, e-mails — with the error, the dossier and the element; retry, skip
(with a reason) and cancel each; suspend and resume a dossier's processing. Every action is
one :mod:`engine.incidents` call, audited there."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import incidents
from engine.errors import EngineError

from .. import platform
from ..i18n import error_message
from . import actor, bp


@bp.route("/su-co")
def incidents_page():
    """What failed finally, what is being retried, and the suspended dossiers."""
    return render_template("admin/incidents.html", view=incidents.overview(platform()))


@bp.route("/su-co/<kind>/<int:row_id>/<action>", methods=("POST",))
def incident_action(kind: str, row_id: int, action: str):
    """Retry, skip (the form's ``reason`` required) or cancel one item."""
    p, who = platform(), actor()
    try:
        if action == "retry":
            incidents.retry(p, kind, row_id, actor=who)
            flash(_("Đã đặt lại để chạy lại."), "success")
        elif action == "skip":
            incidents.skip(p, kind, row_id, reason=request.form.get("reason", ""), actor=who)
            flash(_("Đã bỏ qua; lý do được ghi vào nhật ký."), "success")
        elif action == "cancel":
            incidents.cancel(p, kind, row_id, actor=who)
            flash(_("Đã hủy."), "success")
        else:
            flash(_("Thao tác không hợp lệ."), "error")
    except EngineError as exc:
        flash(error_message(exc), "error")
    return redirect(url_for("admin.incidents_page"))


@bp.route("/su-co/ho-so", methods=("POST",))
def dossier_processing():
    """Suspend (with an optional reason) or resume the dossier whose code is given."""
    p, who = platform(), actor()
    code = request.form.get("code", "").strip()
    try:
        if request.form.get("action") == "resume":
            incidents.resume(p, code, actor=who)
            flash(_("Đã tiếp tục xử lý hồ sơ %(code)s.", code=code), "success")
        else:
            incidents.suspend(p, code, actor=who, reason=request.form.get("reason", ""))
            flash(_("Đã tạm dừng xử lý hồ sơ %(code)s.", code=code), "success")
    except EngineError as exc:
        flash(error_message(exc), "error")
    return redirect(url_for("admin.incidents_page"))
