"""The reception desk (bộ phận tiếp nhận và trả kết quả): a reception officer receives a
dossier at the counter or by post for its applicant, and hands results over.

``/tiep-nhan`` picks the procedure, the applicant's ID number and the channel, and lists
the results waiting to be handed over; ``/tiep-nhan/<procedure>`` is the applicant's
details and the procedure's own application form with the scanned documents. Once
received, the officer goes straight to the dossier's reception step, whose acceptance
issues slip 01 to print. The applicant's fields are prefixed ``applicant_`` so that they
never meet a form's own fields.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import counter, handover, inbox, procedures
from engine.errors import Conflict, InvalidData

from . import platform
from .auth import staff_required
from .formrender import error_summary, field_errors, form_values, parse_form, render_form
from .i18n import current_lang, error_message

bp = Blueprint("counter", __name__)
APPLICANT_FIELDS = ("id_number", "full_name", "email", "phone", "kind")


@bp.route("/")
@staff_required
def desk():
    """Choose what to receive (the choice goes on to the procedure's form); the results
    waiting for their applicants."""
    chosen = request.args.get("procedure")
    if chosen:
        return redirect(url_for(".receive", procedure_code=chosen,
                                applicant_id_number=request.args.get("applicant_id_number", ""),
                                channel=request.args.get("channel", "counter")))
    return render_template("counter.html", procedures=counter.procedures_received_by(platform(), g.user),
                           waiting=counter.awaiting_hand_over(platform(), g.user),
                           channels=counter.CHANNELS)


@bp.route("/<procedure_code>", methods=("GET", "POST"))
@staff_required
def receive(procedure_code: str):
    """The applicant (found by ID number, or new) and the application form; POST receives."""
    procedure = procedures.get_procedure(platform(), procedure_code)
    schema = procedure["form"]
    source = request.form if request.method == "POST" else request.args
    applicant = {f: source.get(f"applicant_{f}", "").strip() for f in APPLICANT_FIELDS}
    channel = source.get("channel", "counter")
    values, errors, found = None, {}, None
    try:
        found = counter.find_applicant(platform(), applicant["id_number"])
    except InvalidData as exc:
        errors = _applicant_errors(exc)
    if request.method == "POST" and not errors:
        try:
            data, files = parse_form(schema, request.form, request.files)
            result = counter.receive(platform(), g.user, procedure_code, applicant, data, files,
                                     channel=channel)
        except InvalidData as exc:
            values = form_values(schema, request.form)
            errors = {**field_errors(exc, current_lang()), **_applicant_errors(exc)}
        else:
            flash(_("Đã tiếp nhận hồ sơ %(code)s. Kiểm tra và tiếp nhận để in giấy tiếp nhận "
                    "(mẫu 01).", code=result["code"]), "success")
            return redirect(_next_step(result["code"]))
    elif request.method == "POST":
        values = form_values(schema, request.form)
    lang = current_lang()
    status = 422 if request.method == "POST" and errors else 200
    return render_template("counter_form.html", procedure=procedure, applicant=applicant,
                           found=found, channel=channel, errors=errors,
                           summary=error_summary(schema, errors, lang=lang),
                           fields=render_form(schema, values, errors, lang=lang)), status


@bp.route("/tra-ket-qua/<code>", methods=("POST",))
@staff_required
def hand_over(code: str):
    """Record that the result was handed over at the counter or sent by post."""
    try:
        handover.hand_over(platform(), g.user, code, request.form.get("method", ""))
    except (Conflict, InvalidData) as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Đã ghi nhận trả kết quả hồ sơ %(code)s.", code=code), "success")
    return redirect(url_for(".desk"))


def _applicant_errors(exc: InvalidData) -> dict:
    lang = current_lang()
    out = {}
    for detail in exc.details or []:
        field = detail.get("field") if isinstance(detail, dict) else None
        if field in APPLICANT_FIELDS or field == "channel":
            text = detail.get("message_vi") if lang == "vi" else detail.get("message")
            out["channel" if field == "channel" else f"applicant_{field}"] = text or error_message(exc)
    return out


def _next_step(code: str) -> str:
    """The dossier's reception step if the officer may do it, else the dossier's page."""
    steps = inbox.tasks_of_dossier(platform(), g.user, code)
    if steps:
        return url_for("workspace.task", task_id=steps[0]["id"])
    return url_for("portal.dossier", code=code)
