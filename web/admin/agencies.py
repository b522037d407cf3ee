"""Agencies: the hierarchy, search, create, edit, close or delete, and CSV import."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.admin.agencies import (
    AGENCY_COLUMNS,
    agency_kinds,
    get_agency,
    list_agencies,
    remove_agency,
    save_agency,
)
from engine.admin.imports import import_agencies
from engine.errors import InvalidData

from .. import platform
from . import actor, bp, field_messages, uploaded_csv

FIELDS = ("code", "name_vi", "name_en", "kind", "parent_code", "email", "address", "active")


@bp.route("/agencies")
def agencies():
    """Every agency under its parent, or those whose code or name contains ``q``."""
    query = request.args.get("q", "").strip()
    return render_template("admin/agencies.html", agencies=list_agencies(platform(), query),
                           query=query)


def _form(values: dict, errors: dict, *, code: str | None, status: int = 200, references=None):
    p = platform()
    return render_template("admin/agency_form.html", values=values, errors=errors, code=code,
                           kinds=agency_kinds(p), parents=list_agencies(p),
                           references=references or {}), status


@bp.route("/agencies/new", methods=("GET", "POST"))
def agency_new():
    if request.method == "GET":
        return _form({"kind": "department", "active": True}, {}, code=None)
    values = {k: request.form.get(k, "") for k in FIELDS}
    try:
        saved = save_agency(platform(), values, actor=actor())
    except InvalidData as exc:
        return _form(values, field_messages(exc), code=None, status=422)
    flash(_("Đã tạo cơ quan %(code)s.", code=saved["code"]), "success")
    return redirect(url_for("admin.agencies", q=saved["code"]))


@bp.route("/agencies/<code>", methods=("GET", "POST"))
def agency_edit(code: str):
    current = get_agency(platform(), code)
    if request.method == "GET":
        return _form(current, {}, code=code, references=current["references"])
    values = {k: request.form.get(k, "") for k in FIELDS}
    values["code"] = code
    try:
        saved = save_agency(platform(), values, actor=actor(), code=code)
    except InvalidData as exc:
        values["active"] = bool(values["active"])
        return _form(values, field_messages(exc), code=code, status=422,
                     references=current["references"])
    flash(_("Đã lưu cơ quan %(code)s.", code=saved["code"]), "success")
    return redirect(url_for("admin.agency_edit", code=code))


@bp.route("/agencies/<code>/remove", methods=("POST",))
def agency_remove(code: str):
    """Delete an unreferenced agency; close a referenced one (its history keeps it)."""
    result = remove_agency(platform(), code, actor=actor())
    if result["deleted"]:
        flash(_("Đã xóa cơ quan %(code)s.", code=code), "success")
        return redirect(url_for("admin.agencies"))
    flash(_("Cơ quan %(code)s đang được sử dụng (hồ sơ, người dùng, thủ tục…) nên đã được "
            "chuyển sang ngừng hoạt động thay vì xóa.", code=code), "info")
    return redirect(url_for("admin.agency_edit", code=code))


@bp.route("/agencies/import", methods=("GET", "POST"))
def agency_import():
    """Upload a CSV file; all rows are checked before any is written."""
    if request.method == "GET":
        return render_template("admin/import.html", kind="agencies",
                               columns=AGENCY_COLUMNS)
    data = uploaded_csv()
    if data is None:
        return render_template("admin/import.html", kind="agencies", columns=AGENCY_COLUMNS,
                               missing=True), 422
    try:
        result = import_agencies(platform(), data, actor=actor())
    except InvalidData as exc:
        return render_template("admin/import.html", kind="agencies", columns=AGENCY_COLUMNS,
                               error=exc), 422
    return render_template("admin/import.html", kind="agencies", columns=AGENCY_COLUMNS,
                           result=result)
