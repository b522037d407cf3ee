"""Platform settings an administrator sets: the close of the working day, the afternoon
cut-off for receiving dossiers, and the form set (legal basis of the slips) in force."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import settings as platform_settings
from engine.errors import InvalidData

from .. import platform
from . import actor, bp, field_messages


@bp.route("/settings", methods=("GET", "POST"))
def settings():
    """GET: the settings. POST: change them, all or nothing, then back here."""
    page = platform_settings.view(platform())
    errors: dict = {}
    values = dict(page["values"])
    if request.method == "POST":
        keys = ["close_of_day", "afternoon_cutoff", "form_set"] + [
            platform_settings.FORM_SET_FROM + s["code"] for s in page["form_sets"]]
        submitted = {key: request.form.get(key, "") for key in keys}
        try:
            platform_settings.update(platform(), submitted, actor=actor())
        except InvalidData as exc:
            errors = field_messages(exc)
            values.update(submitted)
        else:
            flash(_("Đã lưu cài đặt."), "success")
            return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", page=page, values=values,
                           errors=errors, prefix=platform_settings.FORM_SET_FROM), \
        422 if errors else 200
