"""The dossier register (Sổ theo dõi hồ sơ, form 06 of Circular 01/2018/TT-VPCP).

One line per dossier an agency received in a period: code, procedure, applicant and their
address and phone, received, appointment, where the dossier went after reception, when it
had its result, and a note (status, early / on time / late, supplements). Exported as CSV
(UTF-8 with a byte-order mark, so Excel opens the Vietnamese correctly; commas) and XLSX
(openpyxl; bold header row, frozen).

Built from rows only (dossier, human_task), with one query per table for the whole period:
a register is a report, it never loads a workflow.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from . import clock
from .errors import InvalidData, PermissionDenied
from .lookup import by_code
from .models import Agency, Dossier, HumanTask
from .slip_fields import applicant_fields, date_text, role_labels, timeliness
from .vocabulary import RoleCode, Status

#: (key, Vietnamese column title of form 06), in the form's order.
COLUMNS = [
    ("stt", "STT"),
    ("code", "Mã hồ sơ"),
    ("procedure", "Tên thủ tục hành chính"),
    ("applicant", "Tên tổ chức, cá nhân"),
    ("contact", "Địa chỉ, số điện thoại"),
    ("received_at", "Ngày tiếp nhận"),
    ("due_at", "Ngày hẹn trả kết quả"),
    ("transferred_to", "Chuyển hồ sơ đến cơ quan, bộ phận giải quyết"),
    ("finished_at", "Ngày có kết quả, trả kết quả"),
    ("note", "Ghi chú"),
]
MAX_DAYS = 3 * 366  # a longer period is a statistics question, not a register


def may_read(user, agency_code: str) -> bool:
    """Staff of the agency, administrators and the province's leadership."""
    if user is None or not user.is_staff:
        return False
    return user.is_admin or user.has_role(RoleCode.LEADER) or any(
        agency == agency_code for _role, agency in user.roles)


def agencies(p) -> list[dict]:
    """Active agencies by code, for choosing whose register to read: [{code, name_vi}]."""
    with p.db.read() as session:
        return [{"code": code, "name_vi": name} for code, name in session.execute(
            select(Agency.code, Agency.name_vi).where(Agency.active.is_(True))
            .order_by(Agency.code)).all()]


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    if not isinstance(start, date) or not isinstance(end, date):
        raise InvalidData("Give the period as two dates.", vi="Hãy chọn kỳ báo cáo (hai ngày).")
    if start > end:
        raise InvalidData("The period starts after it ends.",
                          vi="Ngày bắt đầu sau ngày kết thúc.",
                          details=[{"field": "start", "message": "after the end date",
                                    "message_vi": "sau ngày kết thúc"}])
    if (end - start).days > MAX_DAYS:
        raise InvalidData("The period is longer than three years.",
                          vi="Kỳ báo cáo dài hơn ba năm.",
                          details=[{"field": "end", "message": "at most three years",
                                    "message_vi": "tối đa ba năm"}])
    low = datetime.combine(start, time.min, tzinfo=clock.VIETNAM)
    return low, datetime.combine(end + timedelta(days=1), time.min, tzinfo=clock.VIETNAM)


def _transferred_to(tasks: list[HumanTask], roles: dict[str, str]) -> str:
    """Where the dossier went after the first step: the role (and officer) of the first
    task created after a completed one in another role, with the date it was handed on."""
    for done in sorted((t for t in tasks if t.status == "completed" and t.completed_at),
                       key=lambda t: (t.completed_at, t.id)):
        for nxt in tasks:
            if (nxt.id != done.id and nxt.status != "cancelled" and nxt.created_at
                    >= done.completed_at and nxt.role_code not in (done.role_code, RoleCode.APPLICANT)):
                holder = nxt.completed_by or nxt.assignee
                who = f" — {holder.full_name}" if holder else ""
                return (f"{roles.get(nxt.role_code, nxt.role_code)}{who} "
                        f"({date_text(done.completed_at)})")
    return ""


def _note(dossier: Dossier) -> str:
    parts = [Status.label_of(dossier.status)]
    if dossier.finished_at is not None:
        parts.append(timeliness(dossier.finished_at, dossier.due_at))
    elif dossier.due_at is not None and clock.now() > dossier.due_at:
        parts.append("Đang quá hạn")
    if dossier.supplement_count:
        parts.append(f"Bổ sung {dossier.supplement_count} lần")
    return "; ".join(p for p in parts if p)


def register_rows(p, agency_code: str, start: date, end: date) -> list[dict]:
    """The lines of form 06 for dossiers ``agency_code`` received from ``start`` to ``end``
    (dates in Vietnam, both included), oldest first; values are display strings.

    Raises:
        NotFound: no such agency. InvalidData: a bad period.
    """
    low, high = _period(start, end)
    with p.db.read() as session:
        agency = by_code(session, Agency, agency_code)
        dossiers = session.execute(
            select(Dossier).where(Dossier.agency_id == agency.id, Dossier.received_at >= low,
                                  Dossier.received_at < high)
            .order_by(Dossier.received_at, Dossier.code)).scalars().all()
        tasks: dict[int, list[HumanTask]] = defaultdict(list)
        if dossiers:
            for task in session.execute(
                    select(HumanTask).where(HumanTask.dossier_id.in_([d.id for d in dossiers]))
                    .order_by(HumanTask.created_at, HumanTask.id)).scalars():
                tasks[task.dossier_id].append(task)
        roles = role_labels(session)
        rows = []
        for number, dossier in enumerate(dossiers, start=1):
            who = applicant_fields(dossier, dossier.version.meta)
            contact = ", ".join(v for v in (who["address"], who["phone"]) if v)
            rows.append({
                "stt": number, "code": dossier.code, "procedure": dossier.procedure.name_vi,
                "applicant": who["name"], "contact": contact,
                "received_at": date_text(dossier.received_at),
                "due_at": date_text(dossier.due_at),
                "transferred_to": _transferred_to(tasks[dossier.id], roles),
                "finished_at": date_text(dossier.finished_at),
                "note": _note(dossier),
            })
        return rows


#: A cell starting with one of these is a formula to a spreadsheet: an applicant could name
#: a firm ``=HYPERLINK(…)`` and have it run on an officer's machine.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


#: Control characters a spreadsheet cannot hold (XML 1.0 forbids them; openpyxl raises on
#: them). Forms refuse them now, but dossiers submitted before that may still carry some.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _printable(value):
    """The value without the characters no register file can hold."""
    return _UNSTORABLE.sub("", value) if isinstance(value, str) else value


def _inert(value):
    """The value as a spreadsheet shows it without evaluating it: text that would start a
    formula gets a leading apostrophe (the spreadsheet convention for "this is text");
    characters no file can hold are dropped (:func:`_printable`)."""
    value = _printable(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: list[dict]) -> bytes:
    """The register as CSV: UTF-8 with a BOM (Excel), commas, a header of form 06's titles;
    text that a spreadsheet would take for a formula is made inert (:func:`_inert`)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for _key, title in COLUMNS])
    for row in rows:
        writer.writerow([_inert(row.get(key, "")) for key, _title in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[dict], *, title: str = "Sổ theo dõi hồ sơ") -> bytes:
    """The register as an XLSX workbook: one sheet, bold frozen header, readable widths;
    every value is stored as a value, never as a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Sổ theo dõi hồ sơ"
    book.properties.title = title[:250]
    book.properties.creator = "Một Cửa (motcua)"
    sheet.append([column_title for _key, column_title in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for row in rows:
        sheet.append([_printable(row.get(key, "")) for key, _title in COLUMNS])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":  # openpyxl stores "=…" text as a formula: keep it text
                cell.data_type = "s"
    widths = {"stt": 6, "code": 28, "procedure": 40, "applicant": 32, "contact": 36,
              "received_at": 14, "due_at": 14, "transferred_to": 40, "finished_at": 16,
              "note": 36}
    for index, (key, _title) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = widths[key]
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(p, user, agency_code: str, start: date, end: date, fmt: str) -> tuple[str, str, bytes]:
    """The register of ``agency_code`` for the period as ``fmt`` ('csv' or 'xlsx'), for the
    agency's staff, administrators and leadership: (filename, media type, bytes).

    Raises:
        PermissionDenied, NotFound, InvalidData (bad period or format).
    """
    if not may_read(user, agency_code):
        raise PermissionDenied("You may not read this agency's register.",
                               vi="Bạn không có quyền xem sổ theo dõi hồ sơ của cơ quan này.")
    if fmt not in ("csv", "xlsx"):
        raise InvalidData(f"Unknown format {fmt!r} (csv or xlsx).",
                          vi=f"Định dạng {fmt!r} không hỗ trợ (csv hoặc xlsx).",
                          details=[{"field": "format", "message": "csv or xlsx",
                                    "message_vi": "csv hoặc xlsx"}])
    rows = register_rows(p, agency_code, start, end)
    name = f"so-theo-doi-ho-so-{agency_code}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"
    if fmt == "csv":
        return name, "text/csv; charset=utf-8", to_csv(rows)
    title = f"Sổ theo dõi hồ sơ {agency_code} {start:%d/%m/%Y}–{end:%d/%m/%Y}"
    return (name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            to_xlsx(rows, title=title))
