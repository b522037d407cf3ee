"""The public verify page (xác minh văn bản điện tử): anyone uploads a PDF and reads, in
plain words, who signed it, for which agency, when, whether it is intact, whether the
signature chains to the portal's trusted roots, whether it changed after signing, which
signature fields were left unsigned, and each signature's PAdES level (B-B, B-T, B-LT)
with the time its timestamp authority vouches for.

Built on :func:`signing.verify.verify_pdf`; the page reads the fields of its result
defensively (``getattr``), so a report that carries more (the agency, unsigned fields,
later revisions) shows more, and one that carries less still renders. Only the size and
type of the upload are checked here; throttling is the portal's limiter's.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from . import platform

bp = Blueprint("verify", __name__)


@bp.route("/xac-minh", methods=("GET", "POST"))
def verify_page():
    """GET: the upload form. POST: the report of the uploaded PDF (field ``file``), or the
    form again with what was wrong (422)."""
    from signing import pki
    from signing.verify import verify_pdf

    code = request.values.get("code", "").strip()
    if request.method == "GET":
        return render_template("verify.html", report=None, error=None, code=code)
    upload = request.files.get("file")
    content = upload.read() if upload is not None and upload.filename else b""
    limit = platform().settings.max_upload_bytes
    error = None
    if not content:
        error = _("Hãy chọn tệp PDF cần xác minh.")
    elif len(content) > limit:
        error = _("Tệp lớn hơn %(size)s MB: hãy chọn tệp nhỏ hơn.", size=limit // (1024 * 1024))
    elif b"%PDF-" not in content[:1024]:
        error = _("Tệp này không phải PDF. Chỉ văn bản điện tử dạng PDF có chữ ký số mới "
                  "xác minh được.")
    if error:
        return render_template("verify.html", report=None, error=error, code=code), 422
    report = verify_pdf(content, pki.trust_roots(platform().settings.data_dir / "pki"))
    shown = describe(report)
    if not hasattr(report, "unsigned_fields"):  # a verifier that does not report them yet
        shown["unsigned"] = unsigned_fields(content)
        shown["ok"] = shown["ok"] and not shown["unsigned"]
    if any(not sig["agency"] for sig in shown["signatures"]):  # nor the signer's agency
        agencies = signer_agencies(content)
        for sig in shown["signatures"]:
            sig["agency"] = sig["agency"] or agencies.get(sig["field"], "")
    return render_template("verify.html", report=shown, error=None, code=code,
                           filename=upload.filename)


def signer_agencies(content: bytes) -> dict[str, str]:
    """``{signature field: organisation}`` named in each signing certificate ({} if
    unreadable): the officer's agency, or the agency itself for its seal."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        return {str(sig.field_name): str(sig.signer_cert.subject.native.get(
                    "organization_name") or "") for sig in reader.embedded_signatures}
    except Exception:  # noqa: BLE001 - a damaged file is already reported as such
        return {}


def unsigned_fields(content: bytes) -> list[str]:
    """The names of the PDF's signature fields nobody has signed ([] if unreadable)."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    try:
        reader = PdfFileReader(io.BytesIO(content), strict=False)
        return [str(name) for name, _value, _ref in
                enumerate_sig_fields(reader, filled_status=False)]
    except Exception:  # noqa: BLE001 - a damaged file is already reported as such
        return []


def describe(report) -> dict:
    """The report as the page shows it: a verdict, one entry per signature, the unsigned
    fields and any revision after the last signature."""
    signatures = []
    for sig in getattr(report, "signatures", None) or []:
        signatures.append({
            "field": getattr(sig, "field", ""),
            "signer": getattr(sig, "signer", "") or "?",
            "agency": getattr(sig, "agency", "") or getattr(sig, "organization", "") or "",
            "signed_at": getattr(sig, "signed_at", None),
            "intact": bool(getattr(sig, "intact", False)),
            "valid": bool(getattr(sig, "valid", False)),
            "trusted": bool(getattr(sig, "trusted", False)),
            "modified_after": bool(getattr(sig, "modified_after", True)),
            "level": getattr(sig, "level", "") or "",
            "timestamp": getattr(sig, "timestamp", None),
        })
    unsigned = [str(name) for name in getattr(report, "unsigned_fields", None) or []]
    later = getattr(report, "later_revisions", None) or getattr(report, "revisions_after", None)
    error = getattr(report, "error", "") or ""
    if not signatures:
        reason = "damaged" if "hỏng" in error or "Damaged" in error else "unsigned"
    else:
        reason = ""
    return {"ok": bool(getattr(report, "ok", False)) and not unsigned,
            "signatures": signatures, "unsigned": unsigned,
            "later_revisions": int(later) if isinstance(later, int) else len(later or []),
            "reason": reason}
