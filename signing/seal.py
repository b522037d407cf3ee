"""The agency's seal on a result, after its officers' signatures, and the long-term data.

Decree 30/2020 Appendix I: the agency's red seal at real size overlaps about a third of the
(last) signature, on its left. On a signed PDF the seal is the agency's own signature with
its seal certificate (the platform's key provider, :meth:`signing.providers.FileKeys.agency` or :meth:`signing.providers.Pkcs11Keys.agency`), in a field ``seal`` that
:func:`add_seal_field` pre-creates at render time over the left third of the last
officer's box (pre-created like every slot, see :mod:`signing.slots`), and whose
appearance is the seal picture (:mod:`signing.images`).

:func:`finish` runs after each officer's signature: once every officer slot is signed it
seals (the seal is therefore always the **last** signature, timestamped like the others)
and then, when signatures are timestamped, adds the validation data of every signature
(:func:`signing.ltv.add_validation_data`: B-LT). Before that it returns the document
unchanged.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigFieldSpec, append_signature_field, enumerate_sig_fields

from signing.errors import SigningError
from signing.slots import FIELD_PREFIX, find_slot

SEAL_FIELD = "seal"
SEAL_PT = 100.0  # ~35 mm: the usual diameter of an agency's seal
MARGIN_PT = 8.0


def _fields(pdf: bytes) -> dict[str, bool]:
    """``{field name: signed}`` of every signature field of ``pdf``."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        return {str(name): value is not None for name, value, _ref in enumerate_sig_fields(reader)}
    except Exception as exc:  # noqa: BLE001 - any parse failure means "cannot seal this"
        raise SigningError(f"The document to seal is not a readable PDF ({exc}).") from exc


def _officer_slots(fields: dict[str, bool]) -> list[str]:
    return [name for name in fields
            if name.startswith(FIELD_PREFIX) and name[len(FIELD_PREFIX):].isdigit()]


def add_seal_field(pdf: bytes) -> bytes:
    """Return ``pdf`` with an empty ``seal`` field over the left third of the last officer
    slot (unchanged if it has no slot or already a seal field)."""
    fields = _fields(pdf)
    slots = _officer_slots(fields)
    if not slots or SEAL_FIELD in fields:
        return pdf
    last = find_slot(pdf, len(slots))
    x1, y1, _x2, y2 = last.rect
    side = min(SEAL_PT, max(60.0, (y2 - y1) * 1.3))
    left = max(MARGIN_PT, x1 - side * 2 / 3)
    bottom = max(MARGIN_PT, (y1 + y2) / 2 - side / 2)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    append_signature_field(writer, SigFieldSpec(
        SEAL_FIELD, on_page=last.page,
        box=(round(left), round(bottom), round(left + side), round(bottom + side))))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def finish(pdf: bytes, *, pki_dir: Path, seal_signer, agency_code: str, agency_name: str,
           timestamper=None, signing_time: datetime | None = None) -> bytes:
    """Seal ``pdf`` and add its validation data if every officer slot is signed; else
    return it unchanged. ``seal_signer`` is a zero-argument callable returning a context
    manager that lends the agency's signer (:meth:`signing.providers.FileKeys.agency` or :meth:`signing.providers.Pkcs11Keys.agency`;
    called only when sealing)."""
    from signing.images import seal_image
    from signing.ltv import add_validation_data
    from signing.sign import sign_pdf

    fields = _fields(pdf)
    if not all(fields[name] for name in _officer_slots(fields)):
        return pdf
    if fields.get(SEAL_FIELD) is False:
        with seal_signer() as signer:
            pdf = sign_pdf(pdf, signer, slot=SEAL_FIELD, seal=True, reason="Đóng dấu",
                           image=seal_image(pki_dir, agency_code, agency_name),
                           signing_time=signing_time, timestamper=timestamper,
                           agency=f"Mã định danh: {agency_code}")
    # Validation data serve a timestamped signature (B-T → B-LT); without a TSA there is
    # no level to raise and the document stays as signed.
    return pdf if timestamper is None else add_validation_data(pdf, pki_dir)
