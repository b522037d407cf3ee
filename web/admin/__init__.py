"""The administrators' pages (quản trị) under ``/admin``: the organisation as data.

Agencies (with CSV import), users and the roles they hold in agencies (with CSV import),
role names, the working-day calendar's overrides, and which agencies receive which
procedure. Only users holding the ``admin`` role get in; anyone else signed in gets a 403
page saying so, anonymous visitors the login page.

Views stay thin: each parses the form, calls one :mod:`engine.admin` function and renders.
A rejected form is rendered again with what was typed and each message beside its field
(status 422); the engine audits every change.

Modules: :mod:`.agencies`, :mod:`.users`, :mod:`.roles`, :mod:`.calendar`,
:mod:`.procedures`, :mod:`.incidents` (the operations console, /admin/su-co).
"""

from __future__ import annotations

from flask import Blueprint, Flask, g, redirect, render_template, url_for

from engine.admin.overview import counts
from engine.errors import PermissionDenied

from .. import platform
from ..auth import _here
from ..i18n import current_lang

bp = Blueprint("admin", __name__)


@bp.before_request
def _administrators_only():
    """Every admin page: sign in first; then the ``admin`` role or a clear 403."""
    if g.get("user") is None:
        return redirect(url_for("auth.login", next=_here()))
    if not g.user.is_admin:
        raise PermissionDenied(
            "The administration pages are for administrators (the admin role) only. Ask an "
            "administrator if you need access.",
            vi="Trang quản trị chỉ dành cho người có vai trò Quản trị hệ thống (admin). "
               "Hãy liên hệ quản trị viên nếu bạn cần quyền truy cập.")
    return None


@bp.after_request
def _no_store(response):
    """Admin pages show passwords once and data that changes: never cached."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def actor() -> str:
    return g.user.username


def detail_message(item: dict) -> str:
    return (item.get("message_vi") if current_lang() == "vi" else item.get("message")) or ""


@bp.route("/")
def index():
    """The administrator's start page: what there is to manage."""
    return render_template("admin/index.html", counts=counts(platform()))


def init_app(app: Flask) -> None:
    """Register the blueprint at ``/admin`` with its views."""
    from . import agencies, calendar, incidents, procedures, roles, settings, users  # noqa: F401

    app.jinja_env.globals.setdefault("admin_detail_message", detail_message)
    app.register_blueprint(bp, url_prefix="/admin")


def field_messages(error) -> dict[str, str]:
    """``{field: message}`` of a rejected form, in the reader's language."""
    from ..formparse import field_errors

    return field_errors(error, current_lang())


def uploaded_csv() -> bytes | None:
    """The bytes of the form's ``file`` upload, or None when no file was chosen."""
    from flask import request

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    return upload.read()
