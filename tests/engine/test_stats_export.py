"""The leaders' figures to download (engine/stats_export.py): CSV with the tables one after
the other, XLSX with a sheet each; text a spreadsheet would run as a formula stays text."""

import csv
import io

import openpyxl
import pytest

from engine.errors import InvalidData
from engine.stats_export import export, to_csv, to_xlsx

TABLES = [("Chỉ số", ["Chỉ số", "Giá trị"], [["Tiếp nhận (tổng)", 12], ["Tỷ lệ đúng hạn", 0.75]]),
          ("Hồ sơ quá hạn", ["Mã hồ sơ", "Hoàn thành"], [["=HYPERLINK(\"x\")", None]])]


def test_csv_holds_each_table_under_its_title_and_makes_formulas_inert():
    data = to_csv(TABLES)
    assert data.startswith("\ufeff".encode())  # Excel opens UTF-8 with its BOM
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[:4] == [["Chỉ số"], ["Chỉ số", "Giá trị"], ["Tiếp nhận (tổng)", "12"],
                        ["Tỷ lệ đúng hạn", "0.75"]]
    late = rows[rows.index(["Hồ sơ quá hạn"]) + 2]
    assert not late[0].startswith("=") and "HYPERLINK" in late[0] and late[1] == ""


def test_xlsx_has_a_sheet_per_table_and_formulas_stay_text():
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(TABLES)))
    assert book.sheetnames == ["Chỉ số", "Hồ sơ quá hạn"]
    sheet = book["Chỉ số"]
    assert [c.value for c in sheet[1]] == ["Chỉ số", "Giá trị"] and sheet[1][0].font.bold
    assert [c.value for c in sheet[2]] == ["Tiếp nhận (tổng)", 12]
    cell = book["Hồ sơ quá hạn"]["A2"]
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"x\")"


def test_export_names_the_file_and_refuses_other_formats():
    name, media, data = export(TABLES, "csv", "thong-ke-2026-12")
    assert (name, media) == ("thong-ke-2026-12.csv", "text/csv; charset=utf-8") and data
    name, media, _ = export(TABLES, "xlsx", "thong-ke")
    assert name == "thong-ke.xlsx" and media.endswith("spreadsheetml.sheet")
    with pytest.raises(InvalidData):
        export(TABLES, "pdf", "thong-ke")
