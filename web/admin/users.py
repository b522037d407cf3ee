"""Users: search, create (with a one-time password), edit, roles per agency, deactivate,
reset the password, and CSV import."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import accounts, sessions
from engine.admin.agencies import list_agencies
from engine.admin.imports import import_users
from engine.admin.roles import list_roles
from engine.admin.users import (
    USER_COLUMNS,
    USER_KINDS,
    get_user,
    list_users,
    reset_password,
    save_user,
    set_user_active,
)
from engine.errors import Conflict, InvalidData

from .. import platform
from ..i18n import error_message
from . import actor, bp, field_messages, uploaded_csv

FIELDS = ("username", "full_name", "kind", "email", "phone", "id_number", "title",
          "agency_code", "password", "active")
NEW_ROLE_ROWS = 3  # empty "add a role" rows under the held ones


@bp.route("/users")
def users():
    query = request.args.get("q", "").strip()
    return render_template("admin/users.html", users=list_users(platform(), query),
                           query=query)


def _values() -> dict:
    """The form's fields; ``roles`` = the ticked held roles + the filled "add" rows."""
    values = {k: request.form.get(k, "") for k in FIELDS}
    roles = request.form.getlist("roles")
    for i in range(1, NEW_ROLE_ROWS + 1):
        role = request.form.get(f"new_role_{i}", "").strip()
        agency = request.form.get(f"new_agency_{i}", "").strip()
        if role or agency:
            roles.append(f"{role}@{agency}")
    values["roles"] = roles
    return values


def _form(values: dict, errors: dict, *, username: str | None, status: int = 200):
    p = platform()
    open_sessions = sessions.count_for(p, username) if username else 0
    return render_template("admin/user_form.html", values=values, errors=errors,
                           username=username, kinds=USER_KINDS,
                           open_sessions=open_sessions,
                           agencies=list_agencies(p), roles=list_roles(p),
                           new_rows=range(1, NEW_ROLE_ROWS + 1)), status


@bp.route("/users/new", methods=("GET", "POST"))
def user_new():
    if request.method == "GET":
        return _form({"kind": "staff", "roles": [], "active": True}, {}, username=None)
    values = _values()
    try:
        result = save_user(platform(), values, actor=actor())
    except InvalidData as exc:
        values["password"] = ""  # never echoed back into the page
        return _form(values, field_messages(exc), username=None, status=422)
    if result["password"]:
        return render_template("admin/passwords.html", user=result["user"],
                               passwords=[{"username": result["user"]["username"],
                                           "password": result["password"]}])
    flash(_("Đã tạo tài khoản %(username)s.", username=result["user"]["username"]), "success")
    return redirect(url_for("admin.user_edit", username=result["user"]["username"]))


@bp.route("/users/<username>", methods=("GET", "POST"))
def user_edit(username: str):
    if request.method == "GET":
        return _form(get_user(platform(), username), {}, username=username)
    values = _values()
    try:
        save_user(platform(), values, actor=actor(), username=username)
    except InvalidData as exc:
        values.update(username=username, active=bool(values["active"]))
        return _form(values, field_messages(exc), username=username, status=422)
    flash(_("Đã lưu tài khoản %(username)s.", username=username), "success")
    return redirect(url_for("admin.user_edit", username=username))


@bp.route("/users/<username>/active", methods=("POST",))
def user_active(username: str):
    """Deactivate (``active=0``) or reactivate (``active=1``) an account."""
    active = request.form.get("active") == "1"
    try:
        set_user_active(platform(), username, active, actor=actor())
    except Conflict as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Đã mở lại tài khoản %(username)s.", username=username) if active else
              _("Đã khóa tài khoản %(username)s.", username=username), "success")
    return redirect(url_for("admin.user_edit", username=username))


@bp.route("/users/<username>/password", methods=("POST",))
def user_password(username: str):
    """A new one-time password, shown once on the answer page."""
    password = reset_password(platform(), username, actor=actor())
    return render_template("admin/passwords.html", user=get_user(platform(), username),
                           passwords=[{"username": username, "password": password}], reset=True)


@bp.route("/users/<username>/sessions", methods=("POST",))
def user_sessions(username: str):
    """Sign the user out everywhere: every browser session and API token ends."""
    ended = accounts.sign_out_everywhere(platform(), username, actor=actor())
    flash(_("Đã đăng xuất %(username)s khỏi %(num)s phiên.", username=username, num=ended),
          "success")
    return redirect(url_for("admin.user_edit", username=username))


@bp.route("/users/import", methods=("GET", "POST"))
def user_import():
    """Upload a CSV file; all rows are checked before any is written; generated passwords
    are shown once."""
    page = dict(kind="users", columns=USER_COLUMNS)
    if request.method == "GET":
        return render_template("admin/import.html", **page)
    data = uploaded_csv()
    if data is None:
        return render_template("admin/import.html", missing=True, **page), 422
    try:
        result = import_users(platform(), data, actor=actor())
    except InvalidData as exc:
        return render_template("admin/import.html", error=exc, **page), 422
    return render_template("admin/import.html", result=result, **page)


@bp.app_template_global("is_me")
def is_me(username: str) -> bool:
    return g.get("user") is not None and g.user.username == username
