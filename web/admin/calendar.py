"""The working-day calendar of a year: the legal holidays the engine knows, and the
administrator's announced days off and make-up working days."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import clock
from engine.admin.calendar import add_override, calendar_year, remove_override
from engine.errors import InvalidData

from .. import platform
from ..i18n import current_lang
from . import actor, bp, field_messages


def _year() -> int:
    raw = request.values.get("year", "")
    if not raw:
        return clock.local_now().year
    try:
        year = int(raw)
    except ValueError:
        abort(404)
    if not 1900 <= year <= 2200:
        abort(404)
    return year


@bp.route("/calendar", methods=("GET", "POST"))
def calendar():
    """GET: the year. POST: add an override, then back to its year."""
    year = _year()
    values = {k: request.form.get(k, "") for k in ("day", "kind", "note")}
    errors: dict = {}
    if request.method == "POST":
        try:
            added = add_override(platform(), values, actor=actor())
        except InvalidData as exc:
            errors = field_messages(exc)
        else:
            flash(_("Đã thêm điều chỉnh ngày %(day)s.",
                    day=date.fromisoformat(added["day"]).strftime("%d/%m/%Y")), "success")
            return redirect(url_for("admin.calendar", year=added["day"][:4]))
    return render_template("admin/calendar.html",
                           year=calendar_year(platform(), year, lang=current_lang()),
                           values=values, errors=errors), 422 if errors else 200


@bp.route("/calendar/<day>/remove", methods=("POST",))
def calendar_remove(day: str):
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    remove_override(platform(), when, actor=actor())
    flash(_("Đã xóa điều chỉnh ngày %(day)s.", day=when.strftime("%d/%m/%Y")), "success")
    return redirect(url_for("admin.calendar", year=when.year))
