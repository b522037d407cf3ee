"""Verify the signatures of a PDF with pyHanko, trusting only the roots we are given.

endesive's own verifier trusts the public web CA bundle and does not notice content
appended after signing, so validation uses pyHanko: cryptographic check, chain to *our*
roots (no fetching, no system store; revocation "soft-fail": the certificates name no CRL
or OCSP address), and pyHanko's difference analysis of every incremental update made after
each signature. Each valid signature also gets its PAdES level (B-B, B-T, B-LT) and
timestamp time (:mod:`signing.levels`): B-LT is where revocation *is* required, from the
CRLs embedded in the document's DSS (:mod:`signing.ltv`).

"Modified after signing" is stricter than pyHanko's default policy: only filling
signature fields (and signature maintenance such as adding validation data) is allowed
after a signature. New annotations count as a modification, because on a public-service
document a "comment" can draw over the text just as well as a content change.

Like ``pdfsig``, the report lists **every signature field, signed or not**, and **every
revision no signature covers**: a licence cut back to its first signature's revision still
has its second, empty field (the head's signature is gone), and an incremental update made
after the last signature — even one that only adds ``/Info`` metadata, which pyHanko's
difference analysis lets through — is a modification of every signature before it. Either
makes the report fail: a document the platform issues has exactly the fields its signers
fill, each in a revision of its own; the one exception is a revision that only adds
validation data (a DSS: :func:`signing.levels.validation_data_only`).

pyHanko logs what it rejects (an untrusted chain, a damaged CMS) with full tracebacks;
those records are kept out of stderr and logged here in one line at debug level, because
the report already says what was wrong.
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
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signing import levels

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
_ALLOWED_AFTER = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES,
                  ModificationLevel.FORM_FILLING)
log = logging.getLogger(__name__)


class _OneLine(logging.Handler):
    """Takes pyHanko's records (no traceback, no stderr) and logs them here at debug level."""

    def emit(self, record: logging.LogRecord) -> None:
        log.debug("%s: %s", record.name, record.getMessage())


for _name in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_name).addHandler(_OneLine())
    logging.getLogger(_name).propagate = False


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
    #: False for an empty signature field (then every other flag is False too).
    signed: bool = True
    #: The 1-based revision of the file this signature signed (None when unsigned).
    revision: int | None = None
    #: PAdES baseline level: "B-B", "B-T", "B-LT" ("" for none: legacy or not valid).
    level: str = ""
    #: The time of the signature timestamp (TSA's clock, Vietnam time), if any.
    timestamp: datetime | None = None


@dataclass
class VerificationReport:
    """Every signature field of a PDF, in file order; ``ok`` only if there is a signature,
    every field is signed, every signature holds and no revision follows the last one."""

    signatures: list[SignatureReport] = field(default_factory=list)
    ok: bool = False
    error: str = ""
    #: How many revisions the file has (the first is the document as rendered).
    revisions: int = 0
    #: The 1-based revisions after the first signature that no signature made.
    unsigned_revisions: list[int] = field(default_factory=list)


def _anchors(roots: list[x509.Certificate]) -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
            for cert in roots]


def _context(roots: list[x509.Certificate]) -> ValidationContext:
    """Return a validation context that trusts exactly ``roots`` and never fetches."""
    return ValidationContext(
        trust_roots=_anchors(roots), allow_fetching=False, revocation_mode="soft-fail"
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


def _check_one(embedded, context: ValidationContext, reader=None,
               anchors=()) -> SignatureReport:
    """Validate one embedded signature (or document timestamp); never raises."""
    name = embedded.field_name or "?"
    signer = _signer_name(embedded)
    is_timestamp = embedded.sig_object_type == "/DocTimeStamp"
    try:
        revision = embedded.signed_revision + 1
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
        revision=revision,
    )
    if not is_timestamp:
        try:
            report.level, when = levels.level(embedded, status, reader, list(anchors))
        except Exception as exc:  # noqa: BLE001 - no level is a report, not a crash
            log.info("level of %s not determined: %s", name, exc)
            when = None
        report.timestamp = when.astimezone(VIETNAM_TZ) if when is not None else None
    report.summary = _summary(report)
    return report


def _unsigned_field(name: str) -> SignatureReport:
    return SignatureReport(name, "", None, False, False, False, False,
                           "Trường chữ ký chưa được ký / Signature field not signed",
                           signed=False)


def _unsigned_revisions(reader: PdfFileReader, reports: list[SignatureReport]) -> list[int]:
    """The 1-based revisions after the first signature that no signature made; every
    signature made before one of them is marked modified after signing."""
    made = {r.revision for r in reports if r.revision is not None}
    if not made:
        return []
    later = [n for n in range(min(made) + 1, reader.xrefs.total_revisions + 1)
             if n not in made and not levels.validation_data_only(reader, n)]
    for report in reports:
        if report.revision is not None and any(n > report.revision for n in later):
            report.modified_after = True
            report.summary = _summary(report)
    return later


def _fields(reader: PdfFileReader, embedded: list) -> list:
    """The embedded signatures in the order they were made, then the name of every empty
    signature field in form order."""
    empty = [name for name, value, _ref in enumerate_sig_fields(reader) if value is None]
    return [*embedded, *empty]


def verify_pdf(pdf: bytes, roots: list[x509.Certificate]) -> VerificationReport:
    """Check every signature field of ``pdf`` against ``roots`` (and nothing else), and
    every revision of the file after the first signature.

    Never raises on bad input: a non-PDF, a damaged or an unsigned PDF gives ``ok=False``
    with ``error`` saying why.
    """
    if not isinstance(pdf, bytes | bytearray) or b"%PDF-" not in bytes(pdf[:1024]):
        return VerificationReport(error="Không phải tệp PDF / Not a PDF")
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False)
        embedded = list(reader.embedded_signatures)
        fields = _fields(reader, embedded)
        revisions = reader.xrefs.total_revisions
    except Exception as exc:  # noqa: BLE001 - damaged input must give a report
        return VerificationReport(error=f"Tệp PDF hỏng / Damaged PDF: {exc}")
    if not embedded:
        return VerificationReport(error="Không có chữ ký / No signatures", revisions=revisions,
                                  signatures=[_unsigned_field(f) for f in fields])
    if not roots:
        return VerificationReport(error="Chưa cấu hình chứng thư gốc / No trust roots configured")
    context = _context(list(roots))
    anchors = _anchors(list(roots))
    reports = [_unsigned_field(item) if isinstance(item, str)
               else _check_one(item, context, reader, anchors) for item in fields]
    try:
        later = _unsigned_revisions(reader, reports)
    except Exception as exc:  # noqa: BLE001 - damaged input must give a report
        return VerificationReport(error=f"Tệp PDF hỏng / Damaged PDF: {exc}")
    problems = []
    if not all(r.intact and r.valid and r.trusted and not r.modified_after
               for r in reports if r.signed):
        problems.append("Một hoặc nhiều chữ ký không hợp lệ / One or more signatures failed")
    empty = [r.field for r in reports if not r.signed]
    if empty:
        problems.append("Trường chữ ký chưa được ký / Unsigned signature field(s): "
                        + ", ".join(empty))
    last = max((r.revision for r in reports if r.revision is not None), default=None)
    after_last = [n for n in later if last is not None and n > last]
    if after_last:
        problems.append(f"Tệp đã được sửa sau chữ ký cuối cùng ({len(after_last)} phiên bản) / "
                        f"{len(after_last)} revision(s) after the last signature")
    return VerificationReport(signatures=reports, ok=not problems, error="; ".join(problems),
                              revisions=revisions, unsigned_revisions=later)


def _yes_no(value: bool) -> str:
    return "có / yes" if value else "không / no"


def format_report(report: VerificationReport) -> str:
    """Return the text ``motcua verify FILE.pdf`` prints: a block per signature field
    (signed or not), the revisions no signature covers, then a final line starting with
    "OK:" or "FAILED:"."""
    blocks = []
    for sig in report.signatures:
        if not sig.signed:
            blocks.append(f"Chữ ký / Signature: {sig.field}\n  {sig.summary}")
            continue
        when = sig.signed_at.isoformat() if sig.signed_at else "?"
        stamped = (sig.timestamp.isoformat() if sig.timestamp
                   else "không có / none (giờ của người ký / signer's clock)")
        blocks.append(
            "\n".join(
                [
                    f"Chữ ký / Signature: {sig.field}",
                    f"  Người ký / Signer: {sig.signer}",
                    f"  Thời gian ký / Signed at: {when}",
                    f"  Dấu thời gian / Timestamp: {stamped}",
                    f"  Mức PAdES / PAdES level: {sig.level or '—'}",
                    f"  Phiên bản / Revision: {sig.revision or '?'} / {report.revisions}",
                    f"  Nguyên vẹn / Intact: {_yes_no(sig.intact)}",
                    f"  Tin cậy / Trusted: {_yes_no(sig.trusted)}",
                    f"  Sửa đổi sau khi ký / Modified after signing: "
                    f"{_yes_no(sig.modified_after)}",
                    f"  {sig.summary}",
                ]
            )
        )
    if report.unsigned_revisions:
        numbers = ", ".join(str(n) for n in report.unsigned_revisions)
        blocks.append(f"Phiên bản không có chữ ký / Revisions not signed: {numbers} "
                      f"/ {report.revisions}")
    count = sum(1 for sig in report.signatures if sig.signed)
    if report.ok:
        final = f"OK: {count} chữ ký hợp lệ / {count} valid signature(s)"
    else:
        final = f"FAILED: {report.error or 'verification failed'}"
    return "\n\n".join([*blocks, final])
