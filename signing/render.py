"""Render result documents and slips to A4 PDF with correct Vietnamese.

The layout follows the administrative style of Decree 30/2020: the two-column national
header, a bold centred title, body paragraphs, an optional label/value table, then the
signature block (label, title, signature space, name) at the end of the last page.
Every string is NFC-normalised and drawn with DejaVu (embedded TrueType subsets, so the
text extracts back as Unicode).

The signature spaces become empty signature fields ``sig1``, ``sig2``… (see
:mod:`signing.slots`), which :func:`signing.sign.sign_pdf` later fills by slot number.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from signing.errors import SigningError
from signing.fonts import font_path
from signing.slots import MAX_SLOTS, SlotBox, add_signature_fields
from signing.template import fill, nfc

FONT = "DejaVu"
MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM = 30.0, 20.0, 15.0, 20.0  # mm
BODY_SIZE = 12.0
LINE_H = 6.5  # mm, body line height
SIG_BOX_H = 30.0  # mm, the signature space of a slot
QR_SIZE = 20.0  # mm
VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # no DST in Vietnam since 1975


def _new_pdf(title: str) -> FPDF:
    regular, bold = font_path(bold=False), font_path(bold=True)  # may raise: before opening
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(FONT, "", str(regular))
    pdf.add_font(FONT, "B", str(bold))
    pdf.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
    pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)
    pdf.set_title(title)
    pdf.set_lang("vi")
    pdf.set_creator("Một Cửa (motcua)")
    pdf.add_page()
    return pdf


def _fit_size(pdf: FPDF, text: str, width: float, size: float, bold: bool) -> float:
    """Return the largest size <= ``size`` at which ``text`` fits ``width`` (min 7 pt)."""
    pdf.set_font(FONT, "B" if bold else "", size)
    while size > 7 and pdf.get_string_width(text) > width:
        size -= 0.5
        pdf.set_font(FONT, "B" if bold else "", size)
    return size


def _issued_on(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(VIETNAM_TZ).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise SigningError(f"issued_on {value!r} is not an ISO date (YYYY-MM-DD).") from exc
        return _issued_on(parsed)
    return dt.datetime.now(VIETNAM_TZ).date()


def vietnamese_date(place: str, day: dt.date) -> str:
    """Return "{place}, ngày dd tháng mm năm yyyy" as Decree 30/2020 writes it.

    Days below 10 and the months 1 and 2 take a leading zero ("ngày 05 tháng 02"); other
    months do not ("tháng 11").
    """
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return nfc(f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}")


def _draw_qr(pdf: FPDF, qr_text: str) -> float:
    """Draw the QR code at the top right, its text below; return the y below them (mm)."""
    buffer = io.BytesIO()
    segno.make(qr_text, error="m").save(buffer, kind="png", scale=8, border=1)
    buffer.seek(0)
    x = pdf.w - MARGIN_RIGHT - QR_SIZE
    pdf.image(buffer, x=x, y=6, w=QR_SIZE, h=QR_SIZE)
    caption_w = 100.0
    pdf.set_font(FONT, "", 6.5)
    pdf.set_xy(pdf.w - MARGIN_RIGHT - caption_w, 6 + QR_SIZE + 0.5)
    pdf.multi_cell(caption_w, 3, nfc(qr_text), align="R", wrapmode=WrapMode.CHAR,
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf.get_y() + 3


def _draw_national_header(
    pdf: FPDF, spec: Mapping[str, Any], context: Mapping[str, Any], issued: dt.date
) -> None:
    """Draw agency / number on the left, the national motto and date on the right."""
    top = pdf.get_y()
    left_w = pdf.epw * 0.42
    right_x, right_w = MARGIN_LEFT + left_w, pdf.epw - left_w
    # Left column: (parent agency), agency in bold, a short rule, "Số: …".
    pdf.set_xy(MARGIN_LEFT, top)
    parent = nfc(context.get("parent_agency_name", "")).upper()
    if parent:
        pdf.set_font(FONT, "", _fit_size(pdf, parent, left_w, 11, False))
        pdf.multi_cell(left_w, 5.5, parent, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    agency = nfc(context.get("agency_name", "")).upper()
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(left_w, 5.5, agency or " ", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rule_y = pdf.get_y() + 0.8
    pdf.line(MARGIN_LEFT + left_w / 3, rule_y, MARGIN_LEFT + 2 * left_w / 3, rule_y)
    left_bottom = rule_y + 1
    number = nfc(context.get("number", ""))
    if number:
        pdf.set_xy(MARGIN_LEFT, rule_y + 2)
        pdf.set_font(FONT, "", 11)
        pdf.multi_cell(left_w, 5.5, f"Số: {number}", align="C")
        left_bottom = pdf.get_y()
    # Right column: motto, underlined slogan, place and date.
    motto = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    slogan = "Độc lập - Tự do - Hạnh phúc"
    pdf.set_xy(right_x, top)
    pdf.set_font(FONT, "B", _fit_size(pdf, motto, right_w, 11.5, True))
    pdf.cell(right_w, 5.5, motto, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", _fit_size(pdf, slogan, right_w, 12, True))
    pdf.cell(right_w, 6, slogan, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    slogan_w = pdf.get_string_width(slogan)
    rule_y = pdf.get_y() + 0.5
    pdf.line(right_x + (right_w - slogan_w) / 2, rule_y, right_x + (right_w + slogan_w) / 2, rule_y)
    place = fill(spec.get("place", "Thanh Hóa"), context)
    dateline = vietnamese_date(place, issued)
    pdf.set_xy(right_x, rule_y + 3)
    pdf.set_font(FONT, "", _fit_size(pdf, dateline, right_w, 11.5, False))
    pdf.cell(right_w, 6, dateline, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)


def _as_list(spec: Mapping[str, Any], key: str) -> list:
    """Return ``spec[key]`` as a list (a lone string counts as one item)."""
    value = spec.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list | tuple):
        raise SigningError(f"'{key}' in a document spec must be a list, not {value!r}.")
    return list(value)


def _draw_body(pdf: FPDF, spec: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    """Draw title, subtitle, paragraphs and the label/value table."""
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(0, 7.5, fill(spec["title"], context), align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if spec.get("subtitle"):
        pdf.set_font(FONT, "", BODY_SIZE)
        pdf.multi_cell(0, LINE_H, fill(spec["subtitle"], context), align="C",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(5)
    pdf.set_font(FONT, "", BODY_SIZE)
    for paragraph in _as_list(spec, "paragraphs"):
        pdf.multi_cell(0, LINE_H, fill(paragraph, context), align="J",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)
    fields = _as_list(spec, "fields")
    if fields:
        pdf.ln(2)
        pdf.set_font(FONT, "", 11)
        bold = FontFace(family=FONT, emphasis="BOLD")
        with pdf.table(col_widths=(38, 62), first_row_as_headings=False, line_height=5.5,
                       text_align="LEFT", padding=1.5, align="LEFT") as table:
            for item in fields:
                row = table.row()
                row.cell(fill(item.get("label", ""), context), style=bold)
                row.cell(fill(item.get("value", ""), context))
        pdf.ln(3)


def _lines_height(pdf: FPDF, width: float, line_h: float, text: str) -> float:
    return len(pdf.multi_cell(width, line_h, text, dry_run=True, output="LINES")) * line_h


def _slot_head(pdf: FPDF, slot: Mapping[str, Any], width: float) -> tuple[str, str, float]:
    """Return a slot's label (upper case), title and the height they take (mm)."""
    label, title = nfc(slot.get("label", "")).upper(), nfc(slot.get("title", ""))
    height = 0.0
    if label:
        pdf.set_font(FONT, "B", 11)
        height += _lines_height(pdf, width, 5.5, label)
    if title:
        pdf.set_font(FONT, "", 11)
        height += _lines_height(pdf, width, 5.5, title)
    return label, title, height


def _draw_signature_block(
    pdf: FPDF, slots: Sequence[Mapping[str, Any]], footer: list[str]
) -> list[SlotBox]:
    """Draw label, title, signature space and name per slot, side by side; return the boxes.

    One slot takes the right half of the line (where Vietnamese documents sign); two or
    three share the width. The block and the footer are kept together on the last page.
    """
    count = len(slots)
    col_w = pdf.epw / 2 if count == 1 else pdf.epw / count
    first_x = MARGIN_LEFT + (pdf.epw / 2 if count == 1 else 0)
    xs = [first_x + i * col_w for i in range(count)]
    heads = [_slot_head(pdf, slot, col_w) for slot in slots]
    head_h = max(height for _label, _title, height in heads)
    pdf.set_font(FONT, "", 9)
    footer_h = sum(_lines_height(pdf, 0, 4.5, line) for line in footer)
    if pdf.get_y() + 4 + head_h + SIG_BOX_H + 8 + footer_h > pdf.h - MARGIN_BOTTOM:
        pdf.add_page()
    top = pdf.get_y() + 4
    box_top = top + head_h + 1
    boxes = []
    for x, slot, (label, title, _height) in zip(xs, slots, heads, strict=True):
        pdf.set_xy(x, top)
        if label:
            pdf.set_font(FONT, "B", 11)
            pdf.multi_cell(col_w, 5.5, label, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        if title:
            pdf.set_font(FONT, "", 11)
            pdf.multi_cell(col_w, 5.5, title, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_xy(x, box_top + SIG_BOX_H + 1)
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(col_w, 5.5, nfc(slot.get("name", "")) or " ", align="C")
        inset = 3.0  # mm between neighbouring boxes
        x1, x2 = (x + inset) * pdf.k, (x + col_w - inset) * pdf.k
        y1, y2 = (pdf.h - box_top - SIG_BOX_H) * pdf.k, (pdf.h - box_top) * pdf.k
        boxes.append(SlotBox(page=pdf.page_no() - 1, rect=(x1, y1, x2, y2)))
    pdf.set_xy(MARGIN_LEFT, box_top + SIG_BOX_H + 8)
    return boxes


def _draw_footer(pdf: FPDF, footer: list[str]) -> None:
    pdf.set_font(FONT, "", 9)
    for line in footer:
        pdf.multi_cell(0, 4.5, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(
    spec: dict,
    context: dict,
    *,
    signature_slots: Sequence[dict] = (),
    qr_text: str | None = None,
) -> bytes:
    """Render a result document or slip described by ``spec`` to A4 PDF bytes.

    ``spec`` (from a procedure bundle): ``title`` (required), ``subtitle``,
    ``national_header`` (default true), ``place`` (default "Thanh Hóa"), ``paragraphs``,
    ``fields`` ([{label, value}]), ``footer`` — all templates filled from ``context``
    (see :func:`signing.template.fill`). ``context`` also supplies ``agency_name``,
    optional ``parent_agency_name``, ``number`` ("Số: …") and ``issued_on`` (date,
    datetime or ISO string; default today in Vietnam).

    Each of ``signature_slots`` ({label, name, title}; at most 3) gets a signature space
    at the end of the last page, pre-created as the empty signature field ``sig<i>``.
    ``qr_text`` draws a QR code of it at the top right with the text below.

    Raises:
        SigningError: no title, a list-valued key that is not a list, too many slots,
            bad ``issued_on`` or no usable font.
    """
    if not isinstance(spec, Mapping) or not str(spec.get("title") or "").strip():
        raise SigningError("A document spec needs a 'title'.")
    slots = list(signature_slots or ())
    if any(not isinstance(slot, Mapping) for slot in slots):
        raise SigningError("Each signature slot is a mapping {label, name, title}.")
    if len(slots) > MAX_SLOTS:
        raise SigningError(f"At most {MAX_SLOTS} signature slots fit on a page, not {len(slots)}.")
    # Validate everything before fpdf2 opens a font file (an exception later would leak it).
    if any(not isinstance(item, Mapping) for item in _as_list(spec, "fields")):
        raise SigningError("Each of 'fields' in a document spec needs a label and a value.")
    _as_list(spec, "paragraphs")
    context = dict(context or {})
    issued = _issued_on(context.get("issued_on"))
    footer = [fill(line, context) for line in _as_list(spec, "footer")]
    pdf = _new_pdf(fill(spec["title"], context))
    if qr_text:
        pdf.set_y(max(MARGIN_TOP, _draw_qr(pdf, str(qr_text))))
    if spec.get("national_header", True):
        _draw_national_header(pdf, spec, context, issued)
    _draw_body(pdf, spec, context)
    boxes = _draw_signature_block(pdf, slots, footer) if slots else []
    _draw_footer(pdf, footer)
    return add_signature_fields(bytes(pdf.output()), boxes)
