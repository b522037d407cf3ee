"""Roles: their names, which procedures' diagrams use them as lanes, create and delete."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.admin.roles import delete_role, get_role, list_roles, save_role
from engine.errors import Conflict, InvalidData

from .. import platform
from ..i18n import error_message
from . import actor, bp, field_messages


@bp.route("/roles")
def roles():
    return render_template("admin/roles.html", roles=list_roles(platform()))


@bp.route("/roles/new", methods=("GET", "POST"))
def role_new():
    values = {k: request.form.get(k, "") for k in ("code", "name_vi", "name_en")}
    if request.method == "GET":
        return render_template("admin/role_form.html", values=values, errors={}, role=None)
    try:
        saved = save_role(platform(), values, actor=actor())
    except InvalidData as exc:
        return render_template("admin/role_form.html", values=values,
                               errors=field_messages(exc), role=None), 422
    flash(_("Đã tạo vai trò %(code)s.", code=saved["code"]), "success")
    return redirect(url_for("admin.roles"))


@bp.route("/roles/<code>", methods=("GET", "POST"))
def role_edit(code: str):
    role = get_role(platform(), code)
    if request.method == "GET":
        return render_template("admin/role_form.html", values=role, errors={}, role=role)
    values = {"code": code, **{k: request.form.get(k, "") for k in ("name_vi", "name_en")}}
    try:
        save_role(platform(), values, actor=actor(), code=code)
    except InvalidData as exc:
        return render_template("admin/role_form.html", values=values,
                               errors=field_messages(exc), role=role), 422
    flash(_("Đã lưu vai trò %(code)s.", code=code), "success")
    return redirect(url_for("admin.roles"))


@bp.route("/roles/<code>/delete", methods=("POST",))
def role_delete(code: str):
    """Delete a role no deployed diagram and no user uses; otherwise say who does."""
    try:
        delete_role(platform(), code, actor=actor())
    except Conflict as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("admin.role_edit", code=code))
    flash(_("Đã xóa vai trò %(code)s.", code=code), "success")
    return redirect(url_for("admin.roles"))
