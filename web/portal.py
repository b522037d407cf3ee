"""Pages for citizens and firms (công dân, doanh nghiệp): the procedure catalogue,
applying online, following one's dossiers, the public look-up, downloading documents."""

from __future__ import annotations

from io import BytesIO

import segno
from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup

from engine import (
    apologies,
    documents,
    dossiers,
    forms,
    identity,
    inbox,
    lifecycle,
    procedures,
    sms,
)
from engine.errors import Conflict, InvalidData, NotFound

from . import keptfiles, platform
from .auth import login_required
from .blankform import blank_documents, blank_fields
from .formparse import read_form
from .formrender import (
    error_summary,
    field_errors,
    render_form,
    render_values,
)
from .formschema import title_of, walk
from .i18n import current_lang, error_message, format_day

bp = Blueprint("portal", __name__)

# Media types a browser may show in the page; anything else is downloaded, never rendered
# (an uploaded HTML file must not run in our origin).
_INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})

#: The applicant's plain steps (engine.progress.timeline).
PROGRESS_STEPS = {
    "received": lazy_gettext("Đã nhận hồ sơ"),
    "processing": lazy_gettext("Đang giải quyết"),
    "supplement_requested": lazy_gettext("Yêu cầu bổ sung hồ sơ"),
    "supplemented": lazy_gettext("Đã bổ sung hồ sơ"),
    "result": lazy_gettext("Có kết quả"),
    "returned": lazy_gettext("Đã trả kết quả"),
    "refused": lazy_gettext("Từ chối giải quyết"),
    "stopped": lazy_gettext("Cơ quan dừng xử lý"),
    "withdrawn": lazy_gettext("Đã rút hồ sơ"),
}


@bp.app_context_processor
def _progress_labels() -> dict:
    return {"progress_steps": PROGRESS_STEPS}


@bp.route("/")
def catalogue():
    """The catalogue of procedures (danh mục thủ tục), searched by ``q`` (words of a
    procedure's name, field or agency, with or without diacritics), and the look-up box."""
    search = request.args.get("q", "").strip()[:100]
    return render_template("catalogue.html", search=search,
                           procedures=procedures.list_procedures(platform(), search))


@bp.route("/thu-tuc/<code>")
def procedure(code: str):
    """One procedure: documents to prepare, legal basis, deadline, fee. 404 if unknown."""
    return render_template("procedure.html", procedure=procedures.get_procedure(platform(), code))


@bp.route("/thu-tuc/<code>/mau-don")
def blank_form(code: str):
    """The procedure's application form to print and fill by hand (mẫu đơn), for those who
    file at the desk or by post: built from the online form's schema."""
    view = procedures.get_procedure(platform(), code)
    lang = current_lang()
    return render_template("blank_form.html", procedure=view,
                           fields=blank_fields(view["form"], lang),
                           documents=blank_documents(view["form"], lang))


@bp.route("/thu-tuc/<code>/nop", methods=("GET", "POST"))
@login_required
def apply(code: str):
    """The application form; POST submits the dossier and goes to its receipt.

    A blank form is filled from the account where the form asks (``x-prefill``), and from
    the claims of its national identity first (:mod:`engine.identity`). A
    rejected submission shows the form again with every problem at once, in the order of
    the form, every typed value kept and every accepted file kept as attached
    (:mod:`web.keptfiles`). When several agencies receive the procedure (the district
    offices), the applicant chooses one (``receiving_agency``; a name no application form
    uses).
    """
    procedure_view = procedures.get_procedure(platform(), code)
    schema = procedure_view["form"]
    values, errors = None, {}
    prefilled = keptfiles.prefill(schema, g.user, identity.prefill_values(platform(), g.user.id))
    chosen = request.form.get("receiving_agency", "") if request.method == "POST" else ""
    if request.method == "POST":
        data, files, problems = read_form(schema, request.form, request.files)
        kept = keptfiles.take_back(platform(), g.user.id, schema, request.form, files)
        try:
            if problems:  # numbers that cannot be read: with every other problem
                raise forms.invalid(schema, problems + forms.problems(
                    schema, {**data, **{path: "0" for path in files}}))
            result = dossiers.submit(platform(), g.user, code, data, files,
                                     agency_code=chosen or None)
        except InvalidData as exc:
            errors = field_errors(exc, current_lang())
            values = keptfiles.values_after_error(platform(), g.user.id, schema, request.form,
                                                  files, kept, errors)
        else:
            flash(_("Đã nộp hồ sơ. Mã hồ sơ %(code)s — ngày hẹn trả kết quả %(date)s.",
                    code=result["code"], date=format_day(result["due_at"])), "success")
            session["submitted"] = result["code"]  # the dossier page offers its receipt
            return redirect(url_for(".dossier", code=result["code"]))
    lang = current_lang()
    return render_template(
        "apply.html", procedure=procedure_view, errors=errors, chosen_agency=chosen,
        summary=error_summary(schema, errors, lang=lang),
        fields=render_form(schema, values, errors, lang=lang, prefill=prefilled))


@bp.route("/ho-so")
@login_required
def my_dossiers():
    """The signed-in applicant's dossiers, newest first."""
    return render_template("my_dossiers.html",
                           dossiers=dossiers.list_my_dossiers(platform(), g.user))


@bp.route("/ho-so/<code>")
@login_required
def dossier(code: str):
    """A dossier as its applicant (or its agency's staff) sees it, with what to do next."""
    return dossier_page(code)


def dossier_page(code: str, ending: dict | None = None, status: int = 200):
    """The dossier page; ``ending`` re-opens the withdraw, stop or apology form
    (``{action, reason, new_date?, errors}``) that was rejected, with what was typed. Right
    after an online submission it offers the receipt to print."""
    view = dossiers.get_dossier(platform(), code, user=g.user)
    actionable = inbox.tasks_of_dossier(platform(), g.user, code)
    just_submitted = session.pop("submitted", None) == view["code"]
    return render_template("dossier.html", dossier=view, actionable=actionable,
                           just_submitted=just_submitted,
                           application=application_html(view),
                           public=False,
                           can_withdraw=lifecycle.can_withdraw(g.user, view),
                           can_stop=lifecycle.can_stop(g.user, view),
                           can_apologise=apologies.can_apologise(g.user, view),
                           ending=ending), status


@bp.route("/ho-so/<code>/bien-nhan")
@login_required
def receipt(code: str):
    """The receipt of an online submission (biên nhận), to print: code, procedure, agency,
    applicant, when it was received, the appointment, the files received and a QR code of
    the public look-up and verify page."""
    view = dossiers.get_dossier(platform(), code, user=g.user)
    try:
        schema = procedures.get_procedure(platform(), view["procedure"]["code"])["form"]
    except NotFound:
        schema = {}
    titles = {path: title_of(prop, path, current_lang()) for path, prop in walk(schema)}
    files = [{"title": titles.get(doc["name"], doc["name"]), "filename": doc["filename"]}
             for doc in view["documents"] if doc["kind"] != "generated"]
    link = documents.check_url(platform().settings, view["code"])
    qr = Markup(segno.make(link, error="m").svg_inline(scale=3, title=view["code"]))
    return render_template("receipt.html", dossier=view, files=files, qr=qr, link=link)


@bp.route("/ho-so/<code>/rut-ho-so", methods=("POST",))
@login_required
def withdraw(code: str):
    """The applicant withdraws the dossier (rút hồ sơ) with a reason and a ticked
    confirmation. A missing reason or confirmation shows the form again, reason kept; a
    dossier already finished comes back to its page with why."""
    return end_dossier(code, "withdraw", lifecycle.withdraw,
                       _("Đã rút hồ sơ %(code)s. Các bước đang xử lý đã được hủy.",
                         code=code))


def end_dossier(code: str, action: str, engine_call, done: str):
    """Withdraw or stop (``engine_call``) from a page form, with the page's answers."""
    reason = request.form.get("reason", "")
    try:
        if not request.form.get("confirm"):
            raise InvalidData("Tick the confirmation.", vi="Hãy đánh dấu ô xác nhận.",
                              details=[{"field": "confirm"}])
        engine_call(platform(), code, g.user, reason)
    except InvalidData as exc:
        message = error_message(exc)
        field = (exc.details or [{}])[0].get("field") or "reason"
        return dossier_page(code, {"action": action, "reason": reason,
                                   "errors": {field: message}}, 422)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("portal.dossier", code=code))
    flash(done, "success")
    return redirect(url_for("portal.dossier", code=code))


@bp.route("/tai-khoan/thong-bao", methods=("GET", "POST"))
@login_required
def notice_channels():
    """The applicant chooses how notices reach them: e-mail, SMS or both (and the mobile
    number for SMS)."""
    account = sms.choice_of(platform(), g.user)
    errors: dict = {}
    if request.method == "POST":
        account = {"channels": request.form.getlist("channels"),
                   "phone": request.form.get("phone", "")}
        try:
            sms.set_channels(platform(), g.user, account["channels"], account["phone"])
        except InvalidData as exc:
            item = (exc.details or [{}])[0]
            errors[item.get("field") or "channels"] = (
                error_message(exc))
        else:
            flash(_("Đã lưu cách nhận thông báo."), "success")
            return redirect(url_for("portal.notice_channels"))
    return render_template("notice_channels.html", account=account, errors=errors), \
        422 if errors else 200


@bp.route("/tra-cuu")
def lookup():
    """Public look-up by dossier code and the applicant's ID number (CCCD / tax code).

    The QR code of every slip and result opens it with the code alone: the page then asks
    for the ID number and offers to verify the document (:mod:`web.verify`)."""
    code = request.args.get("code", "").strip()
    id_number = request.args.get("id_number", "").strip()
    view, error = None, None
    if code and id_number:
        try:
            view = dossiers.get_dossier(platform(), code, id_number=id_number)
        except NotFound:
            error = _("Không tìm thấy hồ sơ có mã và số giấy tờ này. Hãy kiểm tra lại mã hồ sơ "
                      "trên giấy tiếp nhận và số CCCD hoặc mã số thuế của người nộp.")
    elif id_number:
        error = _("Hãy nhập cả mã hồ sơ và số giấy tờ của người nộp.")
    return render_template("lookup.html", dossier=view, error=error, code=code,
                           id_number=id_number, public=True)


@bp.route("/tai-lieu/<int:document_id>")
@login_required
def document(document_id: int):
    """A document of a dossier the user may see; PDFs and images open in the browser."""
    info, content = documents.open_document(platform(), g.user, document_id)
    inline = info["media_type"] in _INLINE_TYPES and not request.args.get("download")
    if inline and info["media_type"] == "application/pdf":
        # Files stored before uploads were checked for scripts are not opened here.
        inline = not documents.pdf_has_active_content(content)
    response = send_file(BytesIO(content), mimetype=info["media_type"],
                         download_name=info["filename"], as_attachment=not inline,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def document_names(view: dict) -> dict[int, str]:
    """``{document id: file name}`` for a dossier view's documents."""
    return {doc["id"]: doc["filename"] for doc in view.get("documents") or []}


def application_html(view: dict, schema: dict | None = None):
    """A dossier's submitted application, read-only, labelled from the procedure's form
    (``schema``, else the procedure's current one), with links to its files."""
    if schema is None:
        try:
            schema = procedures.get_procedure(platform(), view["procedure"]["code"])["form"]
        except NotFound:
            schema = {}
    return render_values(schema or {}, view.get("data") or {}, lang=current_lang(),
                         documents=document_names(view),
                         document_url=lambda doc_id: url_for("portal.document",
                                                             document_id=doc_id))
