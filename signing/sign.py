"""Sign a rendered PDF in one of its pre-created signature slots, with endesive.

Each signature is an incremental update (the original bytes stay untouched) that fills
the empty field ``sig<slot>`` (or the agency's ``seal``, :mod:`signing.seal`) with a PAdES
baseline signature — SubFilter ``ETSI.CAdES.detached``, a CMS (SHA-256, RSA, detached)
with signing-certificate-v2 and, given a timestamp provider, an RFC 3161 signature
timestamp (B-T; :mod:`signing.cms`, :mod:`signing.timestamps`) — and a visible
appearance: "Ký bởi: <name>", title, agency and "Thời gian ký: <ISO 8601, +07:00>" in
blue beside the officer's handwritten-signature picture, drawn with DejaVu as an image
(see :mod:`signing.appearance` for why not text); the seal's appearance is its picture.

The first signature placed on a document *certifies* it (DocMDP P=2: only form filling
and signing allowed afterwards); later ones are approval signatures. This is safe only
because the fields were pre-created at render time: filling an existing field counts as
form filling, so the certification stays valid (adding a new field would break it).

The signature is reserved at a fixed 16 KiB (``aligned``) so endesive builds the CMS once.

Speed (measured with ``python -m bench.signing``; endesive's own path took ~75 ms a
signature, of which ~30 ms was building the CMS and ~30 ms copying the stamp's pixels):

- :func:`prepare` gives a signer its CMS template once (:mod:`signing.cms`: endesive's
  SignedData with the digest and signature value filled in per signature, checked to be
  byte-identical to endesive's); :func:`sign_pdf` calls it on first use, and
  the signer cache (:mod:`signing.keycache`) keeps unlocked signers (and so their
  templates) for a short while;
- the stamp (frame, name, title, agency) is drawn once per signer and box
  (:func:`signing.appearance.stamp`); only the signing time is drawn per signature;
- endesive 2.19 turns an RGB image into bytes one pixel at a time in Python
  (``Image.get_raw_image_bytes``); :func:`_install_fast_image_bytes` replaces that with
  Pillow's ``tobytes()`` for RGB and L images, which gives the same bytes (tested).
"""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta, timezone

from cryptography import x509
from cryptography.x509.oid import NameOID
from endesive.pdf import cms
from endesive.pdf.PyPDF2_annotate.annotations.image import Image as EndesiveImage
from PIL import Image

from signing import cms as cms_template
from signing.appearance import appearance_lines, seal_png, stamp
from signing.errors import SigningError
from signing.keyfiles import Signer
from signing.slots import find_slot
from signing.template import nfc
from signing.timestamps import TimestampProvider

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")  # no DST in Vietnam since 1975
#: Room for the CMS: ~3 KB for an officer with the CA certificate, plus the timestamp
#: token (~4 KB from the stand-in, typically 5–8 KB from a public TSA with its chain).
SIGNATURE_BYTES = 16384


_ORIGINAL_RAW_IMAGE_BYTES = EndesiveImage.get_raw_image_bytes


def _raw_image_bytes(image) -> bytes:
    """Return the samples of an RGB or L image as endesive's ``get_raw_image_bytes`` does
    (its per-pixel Python loop for RGB costs ~30 ms a stamp; ``tobytes()`` ~0.1 ms)."""
    if image.mode in ("RGB", "L"):
        return image.tobytes()
    return _ORIGINAL_RAW_IMAGE_BYTES(image)


def _install_fast_image_bytes() -> None:
    EndesiveImage.get_raw_image_bytes = staticmethod(_raw_image_bytes)


_install_fast_image_bytes()
_prepare_lock = threading.Lock()


def prepare(signer: Signer) -> Signer:
    """Build what every signature of ``signer`` shares, once: its CMS template (see
    :mod:`signing.cms`; ~60 ms, two CMS builds by endesive). Idempotent; returns ``signer``,
    which is any signer object (:mod:`signing.providers`: a key file's or a token's).

    :func:`sign_pdf` calls this on first use, so calling it is only a way to pay the cost
    ahead (e.g. right after the passphrase is checked). A signer whose key cannot be
    templated (not RSA) signs through endesive's own path, just more slowly.
    """
    if signer.prepared is None or not _template_fits(signer.prepared, signer):
        with _prepare_lock:
            if signer.prepared is None or not _template_fits(signer.prepared, signer):
                template = cms_template.build(signer)
                signer.prepared = template or False
    return signer


def _template_fits(template, signer: Signer) -> bool:
    return template is False or (
        template.signer is signer and template.chain == tuple(signer.chain))


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
    slot: int | str,
    reason: str = "Phê duyệt",
    location: str = "Thanh Hóa",
    signing_time: datetime | None = None,
    agency: str = "",
    title: str = "",
    timestamper: TimestampProvider | None = None,
    image: bytes | None = None,
    seal: bool = False,
) -> bytes:
    """Sign ``pdf`` in signature slot ``slot`` (1-based) and return the new PDF bytes.

    The result is ``pdf`` followed by an incremental update. ``agency`` and ``title``
    default to the O and title of the signer's certificate. With ``timestamper`` the
    signature carries an RFC 3161 timestamp (PAdES B-T; one round trip to the TSA),
    without it it is PAdES B-B. ``image`` (PNG) is the officer's handwritten signature or
    the agency's seal (with ``seal``: the appearance is the seal picture alone), drawn in
    the appearance (:mod:`signing.appearance`). ``slot`` may also name a field (``"seal"``). ``signing_time`` (default now;
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
    shown_title = nfc(title) or _name_attr(cert, NameOID.TITLE)
    shown_agency = nfc(agency) or _name_attr(cert, NameOID.ORGANIZATION_NAME)
    lines = appearance_lines(full_name, shown_title, shown_agency, moment)
    x1, y1, x2, y2 = info.rect
    if seal:
        if not image:
            raise SigningError("A seal is drawn from the agency's seal picture: none given.")
        picture = Image.open(io.BytesIO(seal_png(image or b"", x2 - x1, y2 - y1)))
    else:
        # The frame and fixed lines are drawn once per signer and box; the time per call.
        prepared_stamp = stamp(full_name, shown_title, shown_agency, x2 - x1, y2 - y1,
                               image)
        picture = Image.open(io.BytesIO(prepared_stamp.png(lines[-1])))
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
    prepare(signer)
    template = signer.prepared or None
    # The key never reaches endesive: it asks the signer to sign, through its HSM hook.
    hook = template.hook if template else cms_template.EndesiveHook(signer)
    try:
        with cms_template.use(template, timestamper):
            update = cms.sign(pdf, udct, None, cert, list(signer.chain), "sha256", hook)
    except SigningError:
        raise  # the timestamp authority's failure, already explained
    except Exception as exc:  # noqa: BLE001 - endesive raises bare asserts and IndexErrors
        raise SigningError(
            f"Signing slot {slot} failed ({type(exc).__name__}: {exc}); the document may be "
            "damaged or not produced by render_pdf."
        ) from exc
    return pdf + update

