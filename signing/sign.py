"""Sign a rendered PDF in one of its pre-created signature slots, with endesive.

Each signature is an incremental update (the original bytes stay untouched) that fills
the empty field ``sig<slot>`` with a CMS signature (SHA-256, RSA, detached) and a visible
appearance: "Ký bởi: <name>", title, agency and "Thời gian ký: <ISO 8601, +07:00>" in
blue, drawn with DejaVu as an image (see :mod:`signing.appearance` for why not text).

The first signature placed on a document *certifies* it (DocMDP P=2: only form filling
and signing allowed afterwards); later ones are approval signatures. This is safe only
because the fields were pre-created at render time: filling an existing field counts as
form filling, so the certification stays valid (adding a new field would break it).

The signature is reserved at a fixed 16 KiB (``aligned``) so endesive builds the CMS once.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

from cryptography import x509
from cryptography.x509.oid import NameOID
from endesive.pdf import cms
from PIL import Image

from signing.appearance import appearance_lines, render_appearance
from signing.errors import SigningError
from signing.pki import Signer
from signing.slots import find_slot
from signing.template import nfc

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")  # no DST in Vietnam since 1975
SIGNATURE_BYTES = 16384


def _name_attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return nfc(values[0].value) if values else ""


def _local_time(signing_time: datetime | None) -> datetime:
    """Return the signing time in Vietnam time; naive datetimes are taken as UTC."""
    moment = signing_time or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM_TZ).replace(microsecond=0)


def _pdf_date(moment: datetime) -> str:
    """Return ``moment`` (Vietnam time) as a PDF date string."""
    return moment.strftime("D:%Y%m%d%H%M%S+07'00'")


def sign_pdf(
    pdf: bytes,
    signer: Signer,
    *,
    slot: int,
    reason: str = "Phê duyệt",
    location: str = "Thanh Hóa",
    signing_time: datetime | None = None,
    agency: str = "",
    title: str = "",
) -> bytes:
    """Sign ``pdf`` in signature slot ``slot`` (1-based) and return the new PDF bytes.

    The result is ``pdf`` followed by an incremental update. ``agency`` and ``title``
    default to the O and title of the signer's certificate. ``signing_time`` (default now;
    naive means UTC) is shown in the appearance and written as the signature dictionary's
    /M; the CMS signingTime attribute, which validators report, is always the real clock.

    Raises:
        SigningError: not a PDF, no such slot, slot already signed, or signing failed.
    """
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf[:1024]).lstrip().startswith(
        b"%PDF-"
    ):
        raise SigningError("Only PDF documents can be signed (the data is not a PDF).")
    pdf = bytes(pdf)
    info = find_slot(pdf, slot)
    if info.filled:
        raise SigningError(f"Signature slot {slot} of this document is already signed.")
    cert = signer.certificate
    moment = _local_time(signing_time)
    full_name = _name_attr(cert, NameOID.COMMON_NAME) or signer.username
    lines = appearance_lines(
        full_name,
        nfc(title) or _name_attr(cert, NameOID.TITLE),
        nfc(agency) or _name_attr(cert, NameOID.ORGANIZATION_NAME),
        moment,
    )
    x1, y1, x2, y2 = info.rect
    picture = Image.open(io.BytesIO(render_appearance(lines, x2 - x1, y2 - y1)))
    certify = info.signatures_present == 0
    udct = {
        "aligned": SIGNATURE_BYTES,
        "sigfield": info.field,
        "signform": True,
        "sigpage": info.page,
        "signaturebox": info.rect,
        "sigandcertify": certify,
        # endesive uses "sigflags" both for /SigFlags (ORed in) and for DocMDP /P:
        # 2 = "form filling and signing only" when certifying; 3 otherwise.
        "sigflags": 2 if certify else 3,
        "signature_img": picture,
        "signature_img_distort": False,
        "signature_img_centred": True,
        "name": full_name,
        "reason": nfc(reason),
        "location": nfc(location),
        "contact": _name_attr(cert, NameOID.EMAIL_ADDRESS),
        "signingdate": _pdf_date(moment),
        "application": "motcua",
    }
    try:
        update = cms.sign(pdf, udct, signer.key, cert, list(signer.chain), "sha256")
    except Exception as exc:  # noqa: BLE001 - endesive raises bare asserts and IndexErrors
        raise SigningError(
            f"Signing slot {slot} failed ({type(exc).__name__}: {exc}); the document may be "
            "damaged or not produced by render_pdf."
        ) from exc
    return pdf + update

