"""The dossier register (form 06) of an agency for a period, as CSV and XLSX read back."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from engine import accounts, clock, register, tasks
from engine.errors import InvalidData, NotFound, PermissionDenied
from tests.engine.factories import submit
from tests.scenario import open_task

AGENCY = "000.00.14.H56"
TITLES = ["STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Tên tổ chức, cá nhân",
          "Địa chỉ, số điện thoại", "Ngày tiếp nhận", "Ngày hẹn trả kết quả",
          "Chuyển hồ sơ đến cơ quan, bộ phận giải quyết", "Ngày có kết quả, trả kết quả",
          "Ghi chú"]


def user(p, name):
    return accounts.find_user(p, name)


@pytest.fixture
def two_dossiers(platform):
    """One dossier received Thu 3/12/2026 and accepted at once, one received Mon 7/12."""
    clock.travel_to(datetime.fromisoformat("2026-12-03T09:00:00+07:00"))
    first = submit(platform)
    task = open_task(platform, first, "Task_Receive")
    tasks.complete(platform, user(platform, "motcua"), task.id, {"reception_decision": "accept"})
    clock.travel_to(datetime.fromisoformat("2026-12-07T10:00:00+07:00"))
    second = submit(platform, data={"company_name": "Công ty CP Xe khách Sầm Sơn"})
    return first, second


def test_rows_of_the_period(platform, two_dossiers):
    first, second = two_dossiers
    rows = register.register_rows(platform, AGENCY, date(2026, 12, 1), date(2026, 12, 31))
    assert [r["code"] for r in rows] == [first, second]
    one = rows[0]
    assert one["stt"] == 1
    assert one["procedure"] == "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô"
    assert one["applicant"] == "Công ty TNHH Vận tải Hồng Đức"
    assert one["contact"] == "Số 12 Lê Lợi, TP Thanh Hóa, 0912345678"
    assert (one["received_at"], one["due_at"]) == ("03/12/2026", "10/12/2026")
    assert one["transferred_to"] == "Chuyên viên thụ lý (03/12/2026)"
    assert one["finished_at"] == ""
    assert one["note"] == "Đã tiếp nhận"
    assert rows[1]["applicant"] == "Công ty CP Xe khách Sầm Sơn"
    assert rows[1]["transferred_to"] == ""
    # the period is by the day of receipt in Vietnam, both ends included
    only_first = register.register_rows(platform, AGENCY, date(2026, 12, 3), date(2026, 12, 3))
    assert [r["code"] for r in only_first] == [first]
    assert register.register_rows(platform, "000.00.13.H56", date(2026, 12, 1),
                                  date(2026, 12, 31)) == []
    clock.travel(timedelta(days=10))  # the first is now past its appointment
    rows = register.register_rows(platform, AGENCY, date(2026, 12, 1), date(2026, 12, 31))
    assert rows[0]["note"] == "Đã tiếp nhận; Đang quá hạn"


def test_csv_opens_in_excel_with_vietnamese(platform, two_dossiers):
    first, _second = two_dossiers
    name, media_type, content = register.export(
        platform, user(platform, "motcua"), AGENCY, date(2026, 12, 1), date(2026, 12, 31), "csv")
    assert name == f"so-theo-doi-ho-so-{AGENCY}-20261201-20261231.csv"
    assert media_type.startswith("text/csv")
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0] == TITLES
    assert len(lines) == 3
    assert lines[1][:4] == ["1", first, "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô",
                            "Công ty TNHH Vận tải Hồng Đức"]
    assert lines[1][4] == "Số 12 Lê Lợi, TP Thanh Hóa, 0912345678"  # a comma inside, quoted


def test_xlsx_has_a_bold_header_and_the_rows(platform, two_dossiers):
    first, second = two_dossiers
    name, media_type, content = register.export(
        platform, user(platform, "quantri"), AGENCY, date(2026, 12, 1), date(2026, 12, 31),
        "xlsx")
    assert name.endswith(".xlsx") and "spreadsheetml" in media_type
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet.title == "Sổ theo dõi hồ sơ"
    header = [cell.value for cell in sheet[1]]
    assert header == TITLES
    assert all(cell.font.bold for cell in sheet[1])
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert [row[1] for row in values] == [first, second]
    assert values[0][3] == "Công ty TNHH Vận tải Hồng Đức"
    assert values[1][9] == "Mới nộp"
    assert sheet.freeze_panes == "A2"


def test_who_may_read_an_agencys_register(platform):
    start, end = date(2026, 12, 1), date(2026, 12, 31)
    for name in ("motcua", "lanhdao", "quantri"):  # its staff, and the administrator
        register.export(platform, user(platform, name), AGENCY, start, end, "csv")
    with pytest.raises(PermissionDenied):
        register.export(platform, user(platform, "doanhnghiep"), AGENCY, start, end, "csv")
    with pytest.raises(PermissionDenied):  # staff of another agency
        register.export(platform, user(platform, "phantich"), AGENCY, start, end, "csv")


def test_bad_requests_are_refused_in_both_languages(platform):
    admin = user(platform, "quantri")
    with pytest.raises(InvalidData) as err:
        register.export(platform, admin, AGENCY, date(2026, 12, 31), date(2026, 12, 1), "csv")
    assert err.value.vi == "Ngày bắt đầu sau ngày kết thúc."
    with pytest.raises(InvalidData, match="three years"):
        register.export(platform, admin, AGENCY, date(2020, 1, 1), date(2026, 1, 1), "csv")
    with pytest.raises(InvalidData, match="csv or xlsx"):
        register.export(platform, admin, AGENCY, date(2026, 1, 1), date(2026, 1, 2), "pdf")
    with pytest.raises(NotFound):
        register.export(platform, admin, "000.99.99.H56", date(2026, 1, 1), date(2026, 1, 2),
                        "csv")


def test_a_name_that_looks_like_a_formula_stays_text_in_both_files():
    row = {key: "" for key, _title in register.COLUMNS}
    row.update(stt=1, code="000.00.14.H56-261203-0001",
               applicant='=HYPERLINK("http://evil.example","Bấm vào đây")', note="-2+3")
    [_header, line] = list(csv.reader(io.StringIO(register.to_csv([row]).decode("utf-8-sig"))))
    assert line[3] == '\'=HYPERLINK("http://evil.example","Bấm vào đây")' and line[-1] == "'-2+3"
    sheet = load_workbook(io.BytesIO(register.to_xlsx([row]))).active
    cell = sheet.cell(row=2, column=4)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert sheet.cell(row=2, column=2).value == "000.00.14.H56-261203-0001"


def test_control_characters_kept_from_before_do_not_break_either_file():
    # Forms refuse them now; a dossier submitted earlier may still hold some.
    row = {key: "" for key, _title in register.COLUMNS}
    row.update(stt=1, code="000.00.14.H56-261203-0001", applicant="Công ty\x00 Hồng\x01 Đức\x1f",
               contact="0912\x0b345678")
    sheet = load_workbook(io.BytesIO(register.to_xlsx([row]))).active
    assert sheet.cell(row=2, column=4).value == "Công ty Hồng Đức"
    [_header, line] = list(csv.reader(io.StringIO(register.to_csv([row]).decode("utf-8-sig"))))
    assert line[3] == "Công ty Hồng Đức" and line[4] == "0912345678"
