"""Verify the signatures of a PDF with pyHanko, trusting only the roots we are given.

endesive's own verifier trusts the public web CA bundle and does not notice content
appended after signing, so validation uses pyHanko: cryptographic check, chain to *our*
roots (no fetching, no system store; revocation is not checked because the demo CA
publishes no CRL or OCSP), and pyHanko's difference analysis of every incremental update
made after each signature.

"Modified after signing" is stricter than pyHanko's default policy: only filling
signature fields (and signature maintenance such as adding validation data) is allowed
after a signature. New annotations count as a modification, because on a public-service
document a "comment" can draw over the text just as well as a content change.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
_ALLOWED_AFTER = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES,
                  ModificationLevel.FORM_FILLING)
log = logging.getLogger(__name__)


@dataclass
class SignatureReport:
    """What one signature of a PDF proves."""

    field: str
    signer: str
    signed_at: datetime | None
    intact: bool
    valid: bool
    trusted: bool
    modified_after: bool
    summary: str


@dataclass
class VerificationReport:
    """The signatures of a PDF; ``ok`` only if there is one and all of them hold."""

    signatures: list[SignatureReport] = field(default_factory=list)
    ok: bool = False
    error: str = ""


def _context(roots: list[x509.Certificate]) -> ValidationContext:
    """Return a validation context that trusts exactly ``roots`` and never fetches."""
    anchors = [
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        for cert in roots
    ]
    return ValidationContext(
        trust_roots=anchors, allow_fetching=False, revocation_mode="soft-fail"
    )


def _signer_name(embedded) -> str:
    """Return the CN of a signature's signing certificate, or "?"."""
    try:
        return str(embedded.signer_cert.subject.native.get("common_name", "")) or "?"
    except Exception:  # noqa: BLE001 - a mangled certificate still gets a report line
        return "?"


def _summary(report: SignatureReport) -> str:
    """Return the one-line Vietnamese / English verdict of a signature."""
    if report.intact and report.valid and report.trusted and not report.modified_after:
        return f"Chữ ký hợp lệ / Signature valid: {report.signer}"
    problems = []
    if not report.intact:
        problems.append("tài liệu bị thay đổi / document altered")
    elif not report.valid:
        problems.append("chữ ký sai / signature invalid")
    if not report.trusted:
        problems.append("chứng thư không tin cậy / certificate not trusted")
    if report.modified_after:
        problems.append("sửa đổi sau khi ký / modified after signing")
    return "Chữ ký KHÔNG hợp lệ / Signature NOT valid: " + "; ".join(problems)


def _modified_after(status) -> bool:
    """Return whether the file changed after this signature beyond filling signature fields."""
    if status.coverage not in (
        SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION
    ):
        return True
    if status.docmdp_ok is False:
        return True
    return status.modification_level not in _ALLOWED_AFTER


def _check_one(embedded, context: ValidationContext) -> SignatureReport:
    """Validate one embedded signature (or document timestamp); never raises."""
    name = embedded.field_name or "?"
    signer = _signer_name(embedded)
    is_timestamp = embedded.sig_object_type == "/DocTimeStamp"
    try:
        if is_timestamp:  # added by archiving (LTV) tools: judged like a signature
            status = validate_pdf_timestamp(embedded, validation_context=context)
        else:
            status = validate_pdf_signature(embedded, signer_validation_context=context)
    except Exception as exc:  # noqa: BLE001 - a broken signature is a report, not a crash
        log.info("signature %s could not be validated: %s", name, exc)
        report = SignatureReport(name, signer, None, False, False, False, True, "")
        report.summary = f"Không kiểm tra được chữ ký / Cannot validate signature: {exc}"
        return report
    signed_at = status.timestamp if is_timestamp else status.signer_reported_dt
    if signed_at is not None and signed_at.tzinfo is not None:
        signed_at = signed_at.astimezone(VIETNAM_TZ)
    report = SignatureReport(
        field=name,
        signer=signer,
        signed_at=signed_at,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        modified_after=_modified_after(status),
        summary="",
    )
    report.summary = _summary(report)
    return report


def verify_pdf(pdf: bytes, roots: list[x509.Certificate]) -> VerificationReport:
    """Check every signature of ``pdf`` against ``roots`` (and nothing else).

    Never raises on bad input: a non-PDF, a damaged or an unsigned PDF gives ``ok=False``
    with ``error`` saying why.
    """
    if not isinstance(pdf, bytes | bytearray) or b"%PDF-" not in bytes(pdf[:1024]):
        return VerificationReport(error="Không phải tệp PDF / Not a PDF")
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001 - damaged input must give a report
        return VerificationReport(error=f"Tệp PDF hỏng / Damaged PDF: {exc}")
    if not embedded:
        return VerificationReport(error="Không có chữ ký / No signatures")
    if not roots:
        return VerificationReport(error="Chưa cấu hình chứng thư gốc / No trust roots configured")
    context = _context(list(roots))
    reports = [_check_one(sig, context) for sig in embedded]
    ok = all(
        r.intact and r.valid and r.trusted and not r.modified_after for r in reports
    )
    failed = "" if ok else "Một hoặc nhiều chữ ký không hợp lệ / One or more signatures failed"
    return VerificationReport(signatures=reports, ok=ok, error=failed)


def _yes_no(value: bool) -> str:
    return "có / yes" if value else "không / no"


def format_report(report: VerificationReport) -> str:
    """Return the text ``motcua verify FILE.pdf`` prints: a block per signature, then a
    final line starting with "OK:" or "FAILED:"."""
    blocks = []
    for sig in report.signatures:
        when = sig.signed_at.isoformat() if sig.signed_at else "?"
        blocks.append(
            "\n".join(
                [
                    f"Chữ ký / Signature: {sig.field}",
                    f"  Người ký / Signer: {sig.signer}",
                    f"  Thời gian ký / Signed at: {when}",
                    f"  Nguyên vẹn / Intact: {_yes_no(sig.intact)}",
                    f"  Tin cậy / Trusted: {_yes_no(sig.trusted)}",
                    f"  Sửa đổi sau khi ký / Modified after signing: "
                    f"{_yes_no(sig.modified_after)}",
                    f"  {sig.summary}",
                ]
            )
        )
    count = len(report.signatures)
    if report.ok:
        final = f"OK: {count} chữ ký hợp lệ / {count} valid signature(s)"
    else:
        final = f"FAILED: {report.error or 'verification failed'}"
    return "\n\n".join([*blocks, final])
