"""Which agencies receive which procedure, and each procedure's main agency."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.admin.agencies import list_agencies
from engine.admin.procedure_agencies import (
    get_procedure_agencies,
    list_procedure_agencies,
    set_procedure_agencies,
)
from engine.errors import InvalidData

from .. import platform
from . import actor, bp, field_messages


@bp.route("/procedures")
def procedures():
    return render_template("admin/procedures.html",
                           procedures=list_procedure_agencies(platform()))


@bp.route("/procedures/<code>", methods=("GET", "POST"))
def procedure_agencies(code: str):
    """GET: tick the receiving agencies, choose the main one. POST: save them."""
    p = platform()
    view = get_procedure_agencies(p, code)
    errors: dict = {}
    if request.method == "POST":
        ticked = request.form.getlist("agencies")
        main = request.form.get("main", "")
        try:
            set_procedure_agencies(p, code, agency_codes=ticked, main_code=main,
                                         actor=actor())
        except InvalidData as exc:
            errors = field_messages(exc)
            view = {**view, "mapped": ticked, "agency_code": main}
        else:
            flash(_("Đã lưu cơ quan tiếp nhận thủ tục %(code)s.", code=code), "success")
            return redirect(url_for("admin.procedure_agencies", code=code))
    return render_template("admin/procedure_form.html", procedure=view, errors=errors,
                           agencies=list_agencies(p)), 422 if errors else 200
