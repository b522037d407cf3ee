"""Render result documents and slips to A4 or A5 PDF with correct Vietnamese.

The layout follows the administrative style of Decree 30/2020: the two-column national
header, a bold centred title, body paragraphs, an optional label/value table, tables of
rows (the hand-overs of a control slip, the documents received), an optional Code 39
barcode, closing paragraphs, then the signature block (label, title, signature space,
name) at the end of the last page. Every string is NFC-normalised and drawn with DejaVu
(embedded TrueType subsets, so the text extracts back as Unicode).

The signature spaces become empty signature fields ``sig1``, ``sig2``… (see
:mod:`signing.slots`), which :func:`signing.sign.sign_pdf` later fills by slot number.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from signing.errors import SigningError
from signing.fonts import add_cached_font, font_path
from signing.slots import MAX_SLOTS, SlotBox, add_signature_fields
from signing.template import fill, nfc

FONT = "DejaVu"
MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM = 30.0, 20.0, 15.0, 20.0  # mm, A4
BODY_SIZE = 12.0
LINE_H = 6.5  # mm, body line height
SIG_BOX_H = 30.0  # mm, the signature space of a slot
QR_SIZE = 20.0  # mm
VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # no DST in Vietnam since 1975
#: Code 39 alphabet (fpdf2's FPDF.code39 draws it; '*' is the start/stop character).
CODE39_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")
BARCODE_NARROW = 0.33  # mm, the narrow bar (X-dimension); wide bars are 3 times as wide
BARCODE_MIN_NARROW = 0.19  # mm, below which common scanners fail


@dataclass(frozen=True)
class Page:
    """Paper size and the measures that follow from it (mm; font sizes scaled in pt).

    A4 is the size of results (Decree 30/2020); the slips of Circular 01/2018 (forms 01–05)
    are A5, with narrower margins and every font and line scaled by ``scale``.
    """

    format: str = "A4"
    size: tuple[float, float] = (210.0, 297.0)  # mm, portrait (fpdf2 2.8 warns on "A5")
    orientation: str = "portrait"
    margins: tuple[float, float, float, float] = (MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT,
                                                  MARGIN_BOTTOM)
    scale: float = 1.0
    line_height: float = LINE_H  # mm, body line height
    paragraph_gap: float = 1.5  # mm after each paragraph
    header_gap: float = 8.0  # mm below the national header
    signature_height: float = SIG_BOX_H  # mm, the signature space of a slot

    def pt(self, size: float) -> float:
        return round(size * self.scale * 2) / 2  # half points keep fpdf2's font cache small

    def mm(self, length: float) -> float:
        return length * self.scale


PAGES = {
    "A4": Page(),
    "A5": Page("A5", (148.0, 210.0), margins=(16.0, 10.0, 10.0, 10.0), scale=0.76,
               line_height=4.3, paragraph_gap=0.4, header_gap=4.0, signature_height=18.0),
}


def _page(spec: Mapping[str, Any]) -> Page:
    name = str(spec.get("page") or "A4").upper()
    if name not in PAGES:
        raise SigningError(f"'page' in a document spec must be one of {', '.join(PAGES)}, "
                           f"not {spec.get('page')!r}.")
    orientation = str(spec.get("orientation") or "portrait").lower()
    if orientation not in ("portrait", "landscape"):
        raise SigningError("'orientation' in a document spec must be portrait or landscape.")
    page = PAGES[name]
    return page if orientation == page.orientation else replace(page, orientation=orientation)


def _new_pdf(title: str, page: Page) -> FPDF:
    regular, bold = font_path(bold=False), font_path(bold=True)  # may raise: before opening
    pdf = FPDF(orientation=page.orientation, unit="mm", format=page.size)
    add_cached_font(pdf, FONT, "", regular)  # parsed once per process, not per document
    add_cached_font(pdf, FONT, "B", bold)
    left, top, right, bottom = page.margins
    pdf.set_margins(left, top, right)
    pdf.set_auto_page_break(True, margin=bottom)
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


def _draw_qr(pdf: FPDF, page: Page, qr_text: str, qr_url: str | None = None) -> float:
    """Draw the QR code (of ``qr_url`` when given, else of ``qr_text``) at the top right,
    ``qr_text`` below it; return the y below them (mm)."""
    buffer = io.BytesIO()
    segno.make(qr_url or qr_text, error="m").save(buffer, kind="png", scale=8, border=1)
    buffer.seek(0)
    size, top = page.mm(QR_SIZE), page.mm(6)
    x = pdf.w - pdf.r_margin - size
    pdf.image(buffer, x=x, y=top, w=size, h=size)
    caption_w = min(100.0, pdf.epw)
    pdf.set_font(FONT, "", 6.5)
    pdf.set_xy(pdf.w - pdf.r_margin - caption_w, top + size + 0.5)
    pdf.multi_cell(caption_w, 3, nfc(qr_text), align="R", wrapmode=WrapMode.CHAR,
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf.get_y() + page.mm(3)


def _draw_national_header(
    pdf: FPDF, page: Page, spec: Mapping[str, Any], context: Mapping[str, Any], issued: dt.date
) -> None:
    """Draw agency / number on the left, the national motto and date on the right."""
    top = pdf.get_y()
    left_x = pdf.l_margin
    left_w = pdf.epw * 0.42
    right_x, right_w = left_x + left_w, pdf.epw - left_w
    line = page.mm(5.5)
    # Left column: (parent agency), agency in bold, a short rule, "Số: …".
    pdf.set_xy(left_x, top)
    parent = nfc(context.get("parent_agency_name", "")).upper()
    if parent:
        pdf.set_font(FONT, "", _fit_size(pdf, parent, left_w - 2 * pdf.c_margin, page.pt(11),
                                         False))
        pdf.multi_cell(left_w, line, parent, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    agency = nfc(context.get("agency_name", "")).upper()
    pdf.set_font(FONT, "B", page.pt(11))
    pdf.multi_cell(left_w, line, agency or " ", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rule_y = pdf.get_y() + 0.8
    pdf.line(left_x + left_w / 3, rule_y, left_x + 2 * left_w / 3, rule_y)
    left_bottom = rule_y + 1
    number = nfc(context.get("number", ""))
    if number:
        pdf.set_xy(left_x, rule_y + 2)
        pdf.set_font(FONT, "", page.pt(11))
        pdf.multi_cell(left_w, line, f"Số: {number}", align="C")
        left_bottom = pdf.get_y()
    # Right column: motto, underlined slogan, place and date.
    motto = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    slogan = "Độc lập - Tự do - Hạnh phúc"
    pdf.set_xy(right_x, top)
    pdf.set_font(FONT, "B", _fit_size(pdf, motto, right_w, page.pt(11.5), True))
    pdf.cell(right_w, line, motto, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", _fit_size(pdf, slogan, right_w, page.pt(12), True))
    pdf.cell(right_w, page.mm(6), slogan, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    slogan_w = pdf.get_string_width(slogan)
    rule_y = pdf.get_y() + 0.5
    pdf.line(right_x + (right_w - slogan_w) / 2, rule_y, right_x + (right_w + slogan_w) / 2, rule_y)
    place = fill(spec.get("place", "Thanh Hóa"), context)
    dateline = vietnamese_date(place, issued)
    pdf.set_xy(right_x, rule_y + page.mm(3))
    pdf.set_font(FONT, "", _fit_size(pdf, dateline, right_w, page.pt(11.5), False))
    pdf.cell(right_w, page.mm(6), dateline, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_bottom, pdf.get_y()) + page.header_gap)


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


def _tables(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the spec's ``table`` (one mapping or a list of them), checked."""
    value = spec.get("table")
    tables = [] if value is None else [value] if isinstance(value, Mapping) else value
    if not isinstance(tables, list | tuple):
        raise SigningError("'table' in a document spec must be a mapping or a list of them.")
    for table in tables:
        if not isinstance(table, Mapping) or not isinstance(table.get("rows"), str):
            raise SigningError("Each 'table' needs 'rows': the name of a list in the context.")
        columns = table.get("columns")
        if not isinstance(columns, list | tuple) or not columns or any(
                not isinstance(c, Mapping) for c in columns):
            raise SigningError("Each 'table' needs 'columns': a list of {title, value, width}.")
        for column in columns:
            width = column.get("width", 1)
            if not isinstance(width, int | float) or isinstance(width, bool) or width <= 0:
                raise SigningError(f"A table column's width must be a positive number, "
                                   f"not {width!r}.")
    return list(tables)


#: How many rows of ``fields`` go over to the signatures' page when they would stand alone.
KEEP_ROWS = 2


def _draw_body(pdf: FPDF, page: Page, spec: Mapping[str, Any], context: Mapping[str, Any],
               keep_rows: int = 0) -> None:
    """Draw title, subtitle, paragraphs and the label/value table (its last ``keep_rows``
    rows on a new page)."""
    line = page.line_height
    pdf.set_font(FONT, "B", page.pt(14))
    pdf.multi_cell(0, page.mm(7.5), fill(spec["title"], context), align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if spec.get("subtitle"):
        pdf.set_font(FONT, "", page.pt(BODY_SIZE))
        pdf.multi_cell(0, line, fill(spec["subtitle"], context), align="C",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(page.mm(5))
    _draw_paragraphs(pdf, page, _as_list(spec, "paragraphs"), context)
    fields = _as_list(spec, "fields")
    if fields:
        pdf.ln(page.mm(2))
        pdf.set_font(FONT, "", page.pt(11))
        bold = FontFace(family=FONT, emphasis="BOLD")
        split = len(fields) - min(keep_rows, len(fields))
        for index, part in enumerate((fields[:split], fields[split:])):
            if not part:
                continue
            if index == 1 and split:
                pdf.add_page()
            with pdf.table(col_widths=(38, 62), first_row_as_headings=False,
                           line_height=page.mm(5.5), text_align="LEFT", padding=page.mm(1.5),
                           align="LEFT") as table:
                for item in part:
                    row = table.row()
                    row.cell(fill(item.get("label", ""), context), style=bold)
                    row.cell(fill(item.get("value", ""), context))
        pdf.ln(page.mm(3))


def _draw_paragraphs(pdf: FPDF, page: Page, paragraphs: list, context: Mapping[str, Any]) -> None:
    pdf.set_font(FONT, "", page.pt(BODY_SIZE))
    for paragraph in paragraphs:
        pdf.multi_cell(0, page.line_height, fill(paragraph, context), align="J",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(page.paragraph_gap)


def _table_rows(table: Mapping[str, Any], context: Mapping[str, Any]) -> list[dict]:
    """Return the context rows a table draws, each merged over the context with ``stt``
    (số thứ tự, 1-based); a missing or non-list value counts as no rows."""
    rows = context.get(table["rows"])
    if not isinstance(rows, list | tuple):
        return []
    return [{**context, **(row if isinstance(row, Mapping) else {"value": row}), "stt": index}
            for index, row in enumerate(rows, start=1)]


def _draw_table(pdf: FPDF, page: Page, table: Mapping[str, Any],
                context: Mapping[str, Any]) -> None:
    """Draw one table of rows: bold column titles (repeated on a new page), one line per
    row of the context list ``rows``, each cell the column's ``value`` template filled
    from the row (then the document's context); ``empty`` is drawn when there are none."""
    if table.get("title"):
        pdf.set_font(FONT, "B", page.pt(11))
        pdf.multi_cell(0, page.line_height, fill(table["title"], context), align="L",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    columns = list(table["columns"])
    rows = _table_rows(table, context)
    size = float(table.get("font_size") or 10)
    pdf.set_font(FONT, "", page.pt(size))
    headings = FontFace(family=FONT, emphasis="BOLD", fill_color=(235, 235, 235))
    with pdf.table(col_widths=tuple(float(c.get("width", 1)) for c in columns),
                   headings_style=headings, line_height=page.mm(size * 0.5),
                   text_align="LEFT", padding=page.mm(1.2), align="LEFT") as drawn:
        head = drawn.row()
        for column in columns:
            head.cell(fill(column.get("title", ""), context), align="CENTER")
        for values in rows:
            row = drawn.row()
            for column in columns:
                row.cell(fill(column.get("value", ""), values),
                         align=str(column.get("align", "LEFT")).upper())
    if not rows and table.get("empty"):
        pdf.set_font(FONT, "", page.pt(size))
        pdf.multi_cell(0, page.line_height, fill(table["empty"], context), align="C",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(page.mm(3))


def barcode_text(text: Any) -> str:
    """Return ``text`` as Code 39 data (upper case), or raise :class:`SigningError` naming
    the first character Code 39 cannot encode (Vietnamese letters, '{', '_'…)."""
    data = nfc(text).strip().upper()
    for char in data:
        if char not in CODE39_CHARS:
            raise SigningError(
                f"The barcode text {data!r} has {char!r}, which Code 39 cannot encode "
                "(digits, A-Z, space and - . $ / + % only).")
    return data


def _draw_barcode(pdf: FPDF, page: Page, data: str) -> None:
    """Draw ``data`` as a centred Code 39 barcode with the text below it (human-readable).

    Each character takes 16 narrow-bar widths (3 wide bars of 3, 6 narrow, 1 gap); the
    narrow bar shrinks from 0.33 mm to fit 80 % of the line, never below 0.19 mm.
    """
    encoded = f"*{data}*"
    narrow = min(BARCODE_NARROW, pdf.epw * 0.8 / (16 * len(encoded)))
    if narrow < BARCODE_MIN_NARROW:
        raise SigningError(f"The barcode text {data!r} is too long to print legibly "
                           f"({len(data)} characters).")
    width, height = 16 * narrow * len(encoded) - narrow, page.mm(12)
    caption_h = page.mm(5)
    if pdf.get_y() + height + caption_h > pdf.h - pdf.b_margin:
        pdf.add_page()
    x, y = pdf.l_margin + (pdf.epw - width) / 2, pdf.get_y() + page.mm(2)
    pdf.set_fill_color(0, 0, 0)
    pdf.code39(encoded, x=x, y=y, w=3 * narrow, h=height)
    pdf.set_xy(pdf.l_margin, y + height + 0.5)
    pdf.set_font(FONT, "", page.pt(10))
    pdf.cell(pdf.epw, caption_h - 0.5, data, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(page.mm(3))


def _lines_height(pdf: FPDF, width: float, line_h: float, text: str) -> float:
    return len(pdf.multi_cell(width, line_h, text, dry_run=True, output="LINES")) * line_h


def _slot_head(pdf: FPDF, page: Page, slot: Mapping[str, Any],
               width: float) -> tuple[str, str, float]:
    """Return a slot's label (upper case), title and the height they take (mm)."""
    label, title = nfc(slot.get("label", "")).upper(), nfc(slot.get("title", ""))
    height = 0.0
    if label:
        pdf.set_font(FONT, "B", page.pt(11))
        height += _lines_height(pdf, width, page.mm(5.5), label)
    if title:
        pdf.set_font(FONT, "", page.pt(11))
        height += _lines_height(pdf, width, page.mm(5.5), title)
    return label, title, height


def _draw_signature_block(
    pdf: FPDF, page: Page, slots: Sequence[Mapping[str, Any]], footer: list[str]
) -> list[SlotBox]:
    """Draw label, title, signature space and name per slot, side by side; return the boxes.

    One slot takes the right half of the line (where Vietnamese documents sign); two or
    three share the width. The block and the footer are kept together on the last page.
    """
    count = len(slots)
    col_w = pdf.epw / 2 if count == 1 else pdf.epw / count
    first_x = pdf.l_margin + (pdf.epw / 2 if count == 1 else 0)
    xs = [first_x + i * col_w for i in range(count)]
    heads = [_slot_head(pdf, page, slot, col_w) for slot in slots]
    head_h = max(height for _label, _title, height in heads)
    box_h, line = page.signature_height, page.mm(5.5)
    pdf.set_font(FONT, "", page.pt(9))
    footer_h = sum(_lines_height(pdf, 0, page.mm(4.5), text) for text in footer)
    name_h = line + 1  # the name below the box
    after = page.mm(8) + footer_h if footer else 0.0
    if pdf.get_y() + page.mm(4) + head_h + 1 + box_h + name_h + after > pdf.h - pdf.b_margin:
        pdf.add_page()
    top = pdf.get_y() + page.mm(4)
    box_top = top + head_h + 1
    boxes = []
    for x, slot, (label, title, _height) in zip(xs, slots, heads, strict=True):
        pdf.set_xy(x, top)
        if label:
            pdf.set_font(FONT, "B", page.pt(11))
            pdf.multi_cell(col_w, line, label, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        if title:
            pdf.set_font(FONT, "", page.pt(11))
            pdf.multi_cell(col_w, line, title, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_xy(x, box_top + box_h + 1)
        pdf.set_font(FONT, "B", page.pt(11))
        pdf.multi_cell(col_w, line, nfc(slot.get("name", "")) or " ", align="C")
        inset = 3.0  # mm between neighbouring boxes
        x1, x2 = (x + inset) * pdf.k, (x + col_w - inset) * pdf.k
        y1, y2 = (pdf.h - box_top - box_h) * pdf.k, (pdf.h - box_top) * pdf.k
        boxes.append(SlotBox(page=pdf.page_no() - 1, rect=(x1, y1, x2, y2)))
    pdf.set_xy(pdf.l_margin, box_top + box_h + page.mm(8))
    return boxes


def _draw_footer(pdf: FPDF, page: Page, footer: list[str]) -> None:
    pdf.set_font(FONT, "", page.pt(9))
    for line in footer:
        pdf.multi_cell(0, page.mm(4.5), line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(
    spec: dict,
    context: dict,
    *,
    signature_slots: Sequence[dict] = (),
    qr_text: str | None = None,
    qr_url: str | None = None,
) -> bytes:
    """Render a result document or slip described by ``spec`` to PDF bytes.

    ``spec`` (from a procedure bundle or :mod:`signing.layouts`), drawn in this order:

    - ``page``: ``A4`` (default) or ``A5`` (the slips of Circular 01/2018: narrower margins,
      every size scaled down); ``orientation``: ``portrait`` (default) or ``landscape``;
    - ``national_header`` (default true) with ``place`` (default "Thanh Hóa");
    - ``title`` (required), ``subtitle``, ``paragraphs``;
    - ``fields``: a label/value table, [{label, value}];
    - ``table``: a table of rows, or a list of them — ``{title?, rows, columns, empty?,
      font_size?}``: ``rows`` names a list of mappings in ``context``; each column is
      ``{title, value, width?, align?}``, ``value`` a template filled from the row merged
      over the context, plus ``{stt}`` (the row's 1-based number); ``width`` is relative
      (default 1); ``empty`` is drawn when the list is empty or absent;
    - ``barcode``: a template whose text is drawn as a Code 39 barcode, centred, with the
      text below it (e.g. ``barcode: "{budget_code}"``); Code 39 encodes digits, A–Z,
      space and ``- . $ / + %`` (lower case is upper-cased); text that fills to nothing
      draws no barcode; any other character raises :class:`SigningError`;
    - ``closing``: paragraphs after the tables and barcode;
    - the signature block, then ``footer``.

    Every text is a template filled from ``context`` (see :func:`signing.template.fill`).
    ``context`` also supplies ``agency_name``, optional ``parent_agency_name``, ``number``
    ("Số: …") and ``issued_on`` (date, datetime or ISO string; default today in Vietnam).

    Each of ``signature_slots`` ({label, name, title}; at most 3) gets a signature space
    at the end of the last page, pre-created as the empty signature field ``sig<i>``.
    ``qr_text`` draws a QR code of it at the top right with the text below; with
    ``qr_url`` the QR code holds that address instead (a page that checks the document)
    and ``qr_text`` is the caption.

    Raises:
        SigningError: no title, a list-valued key that is not a list, a bad table, page or
            barcode, too many slots, bad ``issued_on`` or no usable font.
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
    closing = _as_list(spec, "closing")
    tables = _tables(spec)
    page = _page(spec)
    context = dict(context or {})
    barcode = barcode_text(fill(spec["barcode"], context)) if spec.get("barcode") else ""
    issued = _issued_on(context.get("issued_on"))
    footer = [fill(line, context) for line in _as_list(spec, "footer")]

    def draw(keep: bool) -> tuple[FPDF, list[SlotBox], bool]:
        """The document; ``keep`` moves the text just before the signatures (the last
        closing paragraph, else the last rows of ``fields``) to the signatures' page.
        Also says whether the signatures had to start a page of their own."""
        pdf = _new_pdf(fill(spec["title"], context), page)
        if qr_text:
            pdf.set_y(max(pdf.t_margin, _draw_qr(pdf, page, str(qr_text), qr_url)))
        if spec.get("national_header", True):
            _draw_national_header(pdf, page, spec, context, issued)
        last_text = "closing" if closing else "" if tables or barcode else "fields"
        _draw_body(pdf, page, spec, context, keep_rows=KEEP_ROWS if keep and
                   last_text == "fields" else 0)
        for table in tables:
            _draw_table(pdf, page, table, context)
        if barcode:
            _draw_barcode(pdf, page, barcode)
        if keep and last_text == "closing":
            _draw_paragraphs(pdf, page, closing[:-1], context)
            pdf.add_page()
            _draw_paragraphs(pdf, page, closing[-1:], context)
        else:
            _draw_paragraphs(pdf, page, closing, context)
        before = pdf.page_no()
        boxes = _draw_signature_block(pdf, page, slots, footer) if slots else []
        _draw_footer(pdf, page, footer)
        return pdf, boxes, bool(slots) and pdf.page_no() > before and bool(last_text)

    # Signature boxes are kept with the text they sign: when they would stand alone at
    # the top of a page, the last text before them goes over with them.
    pdf, boxes, alone = draw(keep=False)
    if alone:
        pdf, boxes, _alone = draw(keep=True)
    return add_signature_fields(bytes(pdf.output()), boxes)
