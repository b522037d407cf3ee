"""Signature slots: empty signature fields named ``sig1``, ``sig2``… created at render time.

Why pre-created fields: a signature covers the document as it was. If the second signer
had to *add* a field (a new annotation on the page and a new entry in the form), pyHanko
and Acrobat would see that as a change beyond form filling, and a certified first
signature would be broken. Filling a field that already existed is "form filling", which
every signature policy allows, so the first signature stays valid. endesive 2.19.3 fills
an existing field (``signform`` + ``sigfield``) and takes the box from the field's
``/Rect``; pyHanko creates the empty fields. :func:`signing.render.render_pdf` adds them,
:func:`signing.sign.sign_pdf` finds them here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigFieldSpec, append_signature_field, enumerate_sig_fields

from signing.errors import SigningError

FIELD_PREFIX = "sig"
MAX_SLOTS = 3


@dataclass(frozen=True)
class SlotBox:
    """A signature rectangle: 0-based page index and (x1, y1, x2, y2) in PDF points."""

    page: int
    rect: tuple[float, float, float, float]


@dataclass(frozen=True)
class SlotInfo:
    """What signing needs to know about one slot of a document."""

    field: str
    page: int
    rect: tuple[float, float, float, float]
    filled: bool
    signatures_present: int


def field_name(slot: int) -> str:
    """Return the form field name of 1-based ``slot`` (``sig1``, ``sig2``…)."""
    return f"{FIELD_PREFIX}{slot}"


def add_signature_fields(pdf: bytes, boxes: list[SlotBox]) -> bytes:
    """Return ``pdf`` with an empty signature field ``sig<i>`` for each box (1-based i).

    Fields get no visible appearance until signed; the page content draws the frame.
    """
    if not boxes:
        return pdf
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for index, box in enumerate(boxes, start=1):
        x1, y1, x2, y2 = (round(v) for v in box.rect)
        spec = SigFieldSpec(field_name(index), on_page=box.page, box=(x1, y1, x2, y2))
        append_signature_field(writer, spec)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_index(reader: PdfFileReader, page_ref) -> int:
    count = int(reader.root["/Pages"]["/Count"])
    for index in range(count):
        ref, _ = reader.find_page_for_modification(index)
        if ref.idnum == page_ref.idnum:
            return index
    raise SigningError("The signature field is not on any page of the document.")


def find_slot(pdf: bytes, slot: int | str) -> SlotInfo:
    """Locate the empty-or-filled signature field of 1-based ``slot`` (or named ``slot``,
    e.g. the agency's ``seal``) in ``pdf``.

    Raises:
        SigningError: not a readable PDF, or the document has no such slot.
    """
    if isinstance(slot, str) and slot:
        pass
    elif not isinstance(slot, int) or isinstance(slot, bool) or slot < 1:
        raise SigningError(f"Signature slot must be a number from 1, not {slot!r}.")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        fields = list(enumerate_sig_fields(reader))
    except Exception as exc:  # noqa: BLE001 - any parse failure means "cannot sign this"
        raise SigningError(f"The document to sign is not a readable PDF ({exc}).") from exc
    names = [name for name, _value, _ref in fields]
    name = slot if isinstance(slot, str) else field_name(slot)
    for field, value, ref in fields:
        if field != name:
            continue
        widget = ref.get_object()
        if "/Rect" not in widget or "/P" not in widget:
            raise SigningError(f"Signature field '{name}' has no position on a page.")
        rect = tuple(float(v) for v in widget["/Rect"])
        return SlotInfo(
            field=name,
            page=_page_index(reader, widget.raw_get("/P")),
            rect=(min(rect[0], rect[2]), min(rect[1], rect[3]),
                  max(rect[0], rect[2]), max(rect[1], rect[3])),
            filled=value is not None,
            signatures_present=sum(1 for _n, v, _r in fields if v is not None),
        )
    available = ", ".join(names) or "none"
    raise SigningError(
        f"The document has no signature slot {slot} (field '{name}'; slots present: "
        f"{available}). Render it with enough signature_slots."
    )
