"""The rating page (đánh giá, ``/danh-gia/<code>``): the applicant rates an ended dossier
on the national criteria, signed in or with the dossier's code and their ID number (the
tablet at the counter); :mod:`engine.ratings` decides what is allowed."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import ratings
from engine.errors import Conflict, InvalidData

from . import platform
from .i18n import error_message

bp = Blueprint("rating", __name__)


@bp.route("/danh-gia/<code>", methods=("GET", "POST"))
def rate(code: str):
    """The form; POST gives or changes the rating. 404 for anyone but the applicant."""
    source = request.form if request.method == "POST" else request.args
    id_number = source.get("id_number", "").strip() or None
    who = {"user": g.get("user"), "id_number": id_number}
    error, status = None, 200
    if request.method == "POST":
        scores = {key: request.form.get(key, "") for key in ratings.CRITERIA}
        try:
            ratings.rate(platform(), code, scores, comment=request.form.get("comment", ""),
                         place=request.form.get("place", "online"), **who)
        except (InvalidData, Conflict) as exc:
            error, status = error_message(exc), exc.status
        else:
            flash(_("Cảm ơn bạn đã đánh giá hồ sơ %(code)s.", code=code), "success")
            return redirect(url_for(".rate", code=code, id_number=id_number))
    view = ratings.get_rating(platform(), code, **who)
    return render_template("rating.html", view=view, criteria=ratings.CRITERIA,
                           levels=ratings.LEVELS, id_number=id_number, error=error), status
