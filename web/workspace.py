"""The officers' workspace (không gian làm việc): the inbox and the task page.

Applicants use the same task page for their own supplement step (bổ sung hồ sơ), so the
views ask only for a signed-in user; the engine decides who may see and do each task.
"""

from __future__ import annotations

from datetime import date
from io import BytesIO

from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine import apologies, clock, dossier_search, lifecycle, register, slips, tasks
from engine import inbox as inbox_pages
from engine.errors import Conflict, InvalidData
from engine.vocabulary import STATUSES, RoleCode

from . import keptfiles, platform
from .auth import login_required, staff_required
from .formrender import (
    error_summary,
    field_errors,
    parse_form,
    render_form,
    render_values,
)
from .i18n import current_lang, due_state, error_message, format_moment
from .portal import application_html, document_names, dossier_page, end_dossier

bp = Blueprint("workspace", __name__)

_EMPTY_FORM = {"type": "object", "properties": {}}


@bp.route("/")
@login_required
def inbox():
    """Việc của tôi (tasks assigned to me) and Chờ nhận (my roles' unclaimed tasks), each a
    page of at most 50 by due date, paged on its own (``?mine=`` / ``?waiting=``: the cursor
    of the section's next page; the other section keeps its page).

    Filters, kept by every link: ``q`` (dossier code, applicant or procedure), ``due``
    (``soon``, ``overdue``) and ``show`` (``mine`` or ``waiting``: that section only)."""
    args = request.args
    filters = {"q": args.get("q", ""), "due": args.get("due", ""), "show": args.get("show", "")}
    if filters["due"] not in inbox_pages.DUE_FILTERS:
        filters["due"] = ""
    if filters["show"] not in ("mine", "waiting"):
        filters["show"] = ""
    error, status = None, 200
    try:
        search = inbox_pages.clean_search(filters["q"])
    except InvalidData as exc:
        error, status, search = error_message(exc), 422, ""
    scopes = [s for s in ("mine", "waiting") if filters["show"] in ("", s)]
    cursors = {scope: args.get(scope) or None for scope in scopes}
    sections = {}
    for scope, after in cursors.items():
        def page(after, scope=scope):
            return inbox_pages.inbox_page(platform(), g.user, scope=scope, after=after,
                                          due=filters["due"] or None, search=search)
        try:
            sections[scope] = page(after)
        except InvalidData:  # a stale or mangled link: that section's first page
            sections[scope] = page(None)
            cursors[scope] = None
        for row in sections[scope].tasks:
            # a dossier past its appointment with no apology is late whatever its step's date
            row["due_state"] = ("overdue" if row.get("dossier_late")
                                else due_state(row.get("due_at")))

    kept = {k: v for k, v in filters.items() if v}

    def link(scope: str, after: str | None) -> str:
        return url_for(".inbox", **kept, **{**{k: v for k, v in cursors.items() if v},
                                            scope: after})

    pager = {scope: {"next": link(scope, page.next) if page.next else None,
                     "first": link(scope, None) if cursors[scope] else None}
             for scope, page in sections.items()}
    return render_template("inbox.html", sections=sections, pages=pager, filters=filters,
                           filtered=bool(kept), error=error), status


@bp.route("/ho-so-co-quan")
@staff_required
def agency_dossiers():
    """Tra cứu hồ sơ của cơ quan: the dossiers of the officer's agencies, newest first, 50
    a page, searched by ``q`` (code, applicant, ID number, procedure) and ``status``;
    ``after``: the next page's cursor."""
    args = request.args
    filters = {"q": args.get("q", ""),
               "status": args.get("status", "") if args.get("status") in STATUSES else ""}
    error, status = None, 200
    try:
        page = dossier_search.search_dossiers(platform(), g.user, search=filters["q"],
                                              status=filters["status"] or None,
                                              after=args.get("after") or None)
    except InvalidData as exc:
        error, status = error_message(exc), 422
        page = dossier_search.search_dossiers(platform(), g.user,
                                              status=filters["status"] or None)
    kept = {k: v for k, v in filters.items() if v}
    return render_template(
        "agency_dossiers.html", dossiers=page.dossiers, filters=filters, statuses=STATUSES,
        error=error, filtered=bool(kept),
        next=url_for(".agency_dossiers", **kept, after=page.next) if page.next else None,
        first=url_for(".agency_dossiers", **kept) if args.get("after") else None), status


@bp.route("/tasks/<int:task_id>")
@login_required
def task(task_id: int):
    """The dossier at this step and the step's form. 404/403 from the engine."""
    return _render_task(tasks.get_task(platform(), g.user, task_id))


@bp.route("/tasks/<int:task_id>/claim", methods=("POST",))
@login_required
def claim(task_id: int):
    """Take the task so no one else works on it; a lost race goes back to the inbox."""
    try:
        tasks.claim(platform(), g.user, task_id)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return redirect(url_for(".inbox"))
    flash(_("Bạn đã nhận xử lý việc này."), "success")
    return redirect(url_for(".task", task_id=task_id))


@bp.route("/tasks/<int:task_id>/complete", methods=("POST",))
@login_required
def complete(task_id: int):
    """Complete the step with its form (and the signing passphrase when it signs).

    Invalid data shows the page again with the values kept; a step someone else already
    handled goes back to the inbox with the reason.
    """
    view = tasks.get_task(platform(), g.user, task_id)
    schema = view.get("form") or _EMPTY_FORM
    files: dict = {}
    taken: dict = {}
    try:
        data, files = parse_form(schema, request.form, request.files)
        # files a rejected submission kept (web.keptfiles) go with this one
        taken = keptfiles.take_back(platform(), g.user.id, schema, request.form, files)
        result = tasks.complete(platform(), g.user, task_id, data, files,
                                passphrase=request.form.get("passphrase") or None,
                                signs_document=_previewed(request.form.get("sign_document_id")))
    except InvalidData as exc:
        errors = field_errors(exc, current_lang())
        return _render_task(view, keptfiles.values_after_error(
            platform(), g.user.id, schema, request.form, files, taken, errors), errors)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return redirect(url_for(".inbox"))
    flash(_("Đã hoàn thành “%(title)s” của hồ sơ %(code)s.", title=view["title"],
            code=result["dossier_code"]), "success")
    if g.user.is_staff:
        return redirect(url_for(".inbox"))
    return redirect(url_for("portal.dossier", code=result["dossier_code"]))


@bp.route("/ho-so/<code>/dung-xu-ly", methods=("POST",))
@login_required
def stop(code: str):
    """The agency's head or reception stops processing the dossier (dừng xử lý) with a
    reason and a ticked confirmation; the applicant is told why."""
    return end_dossier(code, "stop", lifecycle.stop_processing,
                       _("Đã dừng xử lý hồ sơ %(code)s và thông báo cho người nộp.", code=code))


@bp.route("/ho-so/<code>/xin-loi-gia-han", methods=("POST",))
@login_required
def apologise(code: str):
    """The handler or the head issues the apology and extension (form 04) before the
    appointment: a reason and the new appointment date; the applicant receives it."""
    reason, new_date = request.form.get("reason", ""), request.form.get("new_date", "")
    try:
        result = apologies.apologise(platform(), code, g.user, reason, new_date)
    except InvalidData as exc:
        message = error_message(exc)
        field = (exc.details or [{}])[0].get("field") or "reason"
        return dossier_page(code, {"action": "apology", "reason": reason, "new_date": new_date,
                                   "errors": {field: message}}, 422)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("portal.dossier", code=code))
    flash(_("Đã ban hành văn bản xin lỗi và gia hạn hồ sơ %(code)s; ngày hẹn mới: %(due)s.",
            code=code, due=format_moment(result["due_at"])), "success")
    return redirect(url_for("portal.dossier", code=code))


@bp.route("/ho-so/<code>/phieu-kiem-soat.pdf")
@login_required
def control_slip(code: str):
    """Form 05 as the dossier stands now, signed by the agency (its staff, the applicant)."""
    pdf = slips.control_slip(platform(), code, g.user)
    return _download(pdf, "application/pdf", f"phieu-kiem-soat-{code}.pdf", inline=True)


@bp.route("/so-theo-doi-ho-so")
@staff_required
def register_book():
    """Form 06: pick a period (administrators and leadership also an agency) and download
    the register as CSV or XLSX; without ``format`` the page with the form."""
    user, args = g.user, request.args
    today = clock.local_now().date()
    values = {"agency": args.get("agency") or user.agency_code or "",
              "start": args.get("start") or today.replace(day=1).isoformat(),
              "end": args.get("end") or today.isoformat(), "format": args.get("format", "")}
    choose_agency = user.is_admin or user.has_role(RoleCode.LEADER)
    agencies = register.agencies(platform()) if choose_agency else []
    error = None
    if values["format"]:
        try:
            start, end = date.fromisoformat(values["start"]), date.fromisoformat(values["end"])
        except ValueError:
            error = _("Ngày không hợp lệ: hãy nhập theo dạng năm-tháng-ngày.")
        else:
            try:
                name, media_type, content = register.export(
                    platform(), user, values["agency"], start, end, values["format"])
            except InvalidData as exc:
                error = error_message(exc)
            else:
                return _download(content, media_type, name)
    status = 422 if error else 200
    return render_template("register.html", values=values, agencies=agencies,
                           choose_agency=choose_agency, error=error), status


def _download(content: bytes, media_type: str, filename: str, *, inline: bool = False):
    response = send_file(BytesIO(content), mimetype=media_type, download_name=filename,
                         as_attachment=not inline, max_age=0)
    # werkzeug appends "; charset=utf-8" to text types even when the type names one.
    response.headers["Content-Type"] = media_type
    response.headers["Cache-Control"] = "private, no-store"
    return response

def _render_task(view: dict, values: dict | None = None, errors: dict | None = None):
    """The task page: dossier summary, the step's form, the signing box."""
    errors = errors or {}
    lang = current_lang()
    schema = view.get("form") or _EMPTY_FORM
    dossier = view["dossier"]
    documents = document_names(dossier)
    earlier = [{**step, "html": render_values(
        step["form"], step["data"], lang=lang, documents=documents,
        document_url=lambda doc_id: url_for("portal.document", document_id=doc_id))}
        for step in view.get("earlier") or []]
    return render_template(
        "task.html", task=view, dossier=dossier, errors=errors, earlier=earlier,
        checklist=view.get("checklist"),
        application=application_html(dossier, view.get("application_form")),
        summary=error_summary(schema, errors, lang=lang),
        fields=render_form(schema, values, errors, lang=lang,
                           documents=documents),
        sign_preview=_document_to_sign(view),
        due_state=due_state(view.get("due_at")),
        token_pin=platform().signers.name == "pkcs11")  # keys in tokens: ask for the PIN


def _previewed(value: str | None) -> int | None:
    """The id of the document revision the signing form showed (None if none or garbled:
    then the engine signs the latest, as the API does)."""
    return int(value) if value and value.isdigit() else None


def _document_to_sign(view: dict) -> dict | None:
    """The latest revision of the document this step signs, if it exists yet."""
    name = view.get("sign_document")
    if not name:
        return None
    candidates = [d for d in view["dossier"].get("documents") or [] if d.get("name") == name]
    return max(candidates, key=lambda d: (d.get("revision") or 0, d["id"])) if candidates else None
