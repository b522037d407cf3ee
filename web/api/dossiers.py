"""Dossiers (hồ sơ): submitting, following, their documents, and verifying signed PDFs."""

from __future__ import annotations

import dataclasses
import io
from datetime import date, datetime

from flask import jsonify, request, send_file

from engine import apologies, documents, dossiers, lifecycle

from .common import (
    bad_request,
    bp,
    current_user,
    json_body,
    optional_auth,
    platform,
    request_body,
)


@bp.post("/dossiers")
def submit_dossier():
    """Submit a dossier: JSON ``{procedure, data, agency?}`` or multipart with ``procedure``,
    ``data`` (a JSON string), ``agency`` and one file field per file property of the
    application form. ``agency`` is the code of the receiving agency, required when the
    procedure has several (``agencies`` in GET /procedures/{code}).

    201 ``{code, status, received_at, due_at, agency}``; 422 with field errors; 404 for an
    unknown procedure.
    """
    body = request_body()
    procedure_code = body.fields.get("procedure", "")
    agency_code = body.fields.get("agency") or None
    if not isinstance(procedure_code, str) or not procedure_code.strip():
        raise bad_request("Name the procedure: 'procedure' is its code (see GET /procedures).",
                          "Hãy ghi mã thủ tục vào trường 'procedure' (xem GET /procedures).")
    if agency_code is not None and not isinstance(agency_code, str):
        raise bad_request("'agency' is the code of the receiving agency, a string.",
                          "Trường 'agency' là mã cơ quan tiếp nhận, dạng chuỗi.")
    result = dossiers.submit(platform(), current_user(), procedure_code.strip(), body.data, body.files,
                             agency_code=agency_code)
    return jsonify(_pick(result, "code", "status", "received_at", "due_at", "agency")), 201


@bp.get("/dossiers/<code>")
@optional_auth
def get_dossier(code: str):
    """A dossier's status, history, current steps, due date and documents.

    Visible to its applicant, to staff of the handling agency, or anonymously with the
    applicant's ID number as ``?id_number=``.
    """
    id_number = request.args.get("id_number", "").strip() or None
    return jsonify(dossiers.get_dossier(platform(), code, user=current_user(),
                                        id_number=id_number))


@bp.post("/dossiers/<code>/withdraw")
def withdraw_dossier(code: str):
    """The applicant withdraws the dossier: JSON ``{reason}``. 200 with the dossier's
    summary; 409 when it is already finished; 422 without a reason."""
    return jsonify(lifecycle.withdraw(platform(), code, current_user(), _reason()))


@bp.post("/dossiers/<code>/stop")
def stop_dossier(code: str):
    """The agency's head or reception stops processing the dossier: JSON ``{reason}``."""
    return jsonify(lifecycle.stop_processing(platform(), code, current_user(), _reason()))


@bp.post("/dossiers/<code>/apology")
def apologise_dossier(code: str):
    """The handler or head apologises and extends the appointment before it: JSON
    ``{reason, new_date}`` (YYYY-MM-DD, a working day). 409 once the date has passed."""
    new_date = json_body().get("new_date", "")
    if not isinstance(new_date, str):
        raise bad_request("'new_date' must be a string (YYYY-MM-DD).",
                          "'new_date' phải là chuỗi ngày dạng NNNN-TT-NN.")
    return jsonify(apologies.apologise(platform(), code, current_user(), _reason(), new_date))


def _reason() -> str:
    reason = json_body().get("reason", "")
    if not isinstance(reason, str):
        raise bad_request("'reason' must be a string.", "'reason' phải là một chuỗi ký tự.")
    return reason


@bp.get("/documents/<int:document_id>")
def get_document(document_id: int):
    """The bytes of a document the caller may see, with its media type and file name."""
    meta, content = documents.open_document(platform(), current_user(), document_id)
    return send_file(io.BytesIO(content), mimetype=meta.get("media_type") or
                     "application/octet-stream", as_attachment=True,
                     download_name=meta.get("filename") or f"document-{document_id}")


@bp.post("/verify")
def verify_signatures():
    """Verify every signature of an uploaded PDF (multipart field ``file``) against the
    platform's trust roots: ``{ok, error, signatures: [...]}``."""
    from signing import pki, verify

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise bad_request("Upload the PDF as the multipart field 'file'.",
                          "Hãy tải tệp PDF lên trong trường 'file' (multipart).")
    roots = pki.trust_roots(platform().settings.data_dir / "pki")
    report = verify.verify_pdf(upload.read(), roots)
    return jsonify(_jsonable(dataclasses.asdict(report)))


def _pick(mapping: dict, *keys: str) -> dict:
    return {key: mapping.get(key) for key in keys}


def _jsonable(value):
    """Dates as ISO 8601 (Flask would write them as HTTP dates), recursively."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
