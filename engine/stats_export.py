"""The leaders' figures as tables to download: CSV (the tables one after the other) or XLSX
(one sheet per table). The same numbers as the page and ``GET /api/v1/stats``; text a
spreadsheet would run as a formula is made inert as in the register."""

from __future__ import annotations

import csv
import io

from .errors import InvalidData
from .register import _inert
from .vocabulary import Channel

Table = tuple[str, list[str], list[list]]


def tables(indicators: dict, report: dict, steps: list[dict]) -> list[Table]:
    """The page's tables: ``(title, header, rows)``."""
    i = indicators
    summary = [["Tiếp nhận (tổng)", i["received"]], ["Kỳ trước chuyển qua", i["carried_over"]],
               *([c.vi, i["by_channel"][c]] for c in Channel), ["Đã giải quyết", i["processed"]],
               ["Trước hạn", i["processed_early"]], ["Đúng hạn", i["processed_on_time"]],
               ["Quá hạn", i["processed_late"]], ["Đang giải quyết trong hạn", i["in_progress_on_time"]],
               ["Đang giải quyết quá hạn", i["in_progress_late"]],
               ["Tỷ lệ đúng hạn", i["share_on_time"]], ["Kết quả điện tử", i["electronic_results"]],
               ["Tỷ lệ trực tuyến", i["share_online"]], ["Thanh toán trực tuyến", i["paid_online"]],
               ["Tỷ lệ hài lòng", i["share_satisfied"]]]
    card = [[g["label_vi"], ind["label_vi"], ind["value"], ind["points"], ind["max_points"],
             ind["threshold"], "có" if ind["confirmed"] else "chưa xác nhận", ind["unknown"] or ""]
            for g in i["scorecard_detail"] for ind in g["indicators"]]
    share_header = ["Mã", "Tên", "Tiếp nhận", "Đã giải quyết", "Quá hạn", "Tỷ lệ đúng hạn",
                    "Tỷ lệ trực tuyến"]

    def shares(rows: list[dict]) -> list[list]:
        return [[r["key"], r["name_vi"], r["received"], r["processed"], r["late"],
                 r["share_on_time"], r["share_online"]] for r in rows]

    return [
        ("Chỉ số", ["Chỉ số", "Giá trị"], summary),
        ("Bộ chỉ số 766", ["Nhóm", "Chỉ số", "Giá trị", "Điểm", "Điểm tối đa", "Ngưỡng",
                           "Đã xác nhận", "Chưa có dữ liệu vì"], card),
        ("Theo tháng", ["Tháng", "Tiếp nhận", "Đã giải quyết", "Quá hạn", "Tỷ lệ đúng hạn",
                        "Tỷ lệ trực tuyến"],
         [[m["month"], m["received"], m["processed"], m["late"], m["share_on_time"],
           m["share_online"]] for m in report["trend"]]),
        ("Theo cơ quan", share_header, shares(report["by_agency"])),
        ("Theo thủ tục", share_header, shares(report["by_procedure"])),
        ("Hồ sơ quá hạn", ["Mã hồ sơ", "Thủ tục", "Cơ quan", "Tiếp nhận", "Hẹn trả", "Hoàn thành"],
         [[d["code"], d["procedure_vi"], d["agency"], d["received_at"], d["due_at"],
           d["finished_at"] or ""] for d in report["late"]]),
        ("Điểm nghẽn", ["Thủ tục", "Bước", "Số việc", "Trung bình (giờ)", "P90 (giờ)",
                        "Tỷ lệ quá hạn"],
         [[s["procedure"], s["title"], s["tasks"], s["average_hours"], s["p90_hours"],
           s["share_late"]] for s in steps]),
    ]


def to_csv(all_tables: list[Table]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for title, header, rows in all_tables:
        writer.writerow([title])
        writer.writerow(header)
        writer.writerows([[_inert(v if v is not None else "") for v in row] for row in rows])
        writer.writerow([])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(all_tables: list[Table]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    book.properties.creator = "Một Cửa (motcua)"
    for title, header, rows in all_tables:
        sheet = book.create_sheet(title[:31])
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([v if v is not None else "" for v in row])
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(all_tables: list[Table], fmt: str, stem: str) -> tuple[str, str, bytes]:
    """``(filename, media type, bytes)`` of the tables as ``fmt`` ('csv' or 'xlsx')."""
    if fmt == "csv":
        return f"{stem}.csv", "text/csv; charset=utf-8", to_csv(all_tables)
    if fmt == "xlsx":
        return (f"{stem}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                to_xlsx(all_tables))
    raise InvalidData(f"Unknown format {fmt!r} (csv or xlsx).",
                      vi=f"Định dạng {fmt!r} không hỗ trợ (csv hoặc xlsx).",
                      details=[{"field": "format", "message": "csv or xlsx"}])
