"""The leaders' page /thong-ke: scoped to the reader's agencies, the same numbers as the
API, bad filters answered with a reason, CSV and XLSX exports."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.engine.test_stats import december  # noqa: F401  (fixture)
from tests.web.test_pages import app, auth, client, text  # noqa: F401  (fixtures)

DECEMBER = {"start": "2026-12-01", "end": "2026-12-31"}


def test_the_leader_reads_the_province_and_exports_it(december, auth, client):  # noqa: F811
    auth.login("lanhdaotinh")
    page = client.get("/thong-ke/", query_string=DECEMBER)
    assert page.status_code == 200
    html = text(page)
    assert 'data-key="received">13<' in html and "Chưa có dữ liệu" in html  # published: unknown
    assert "Hồ sơ quá hạn (4)" in html and "/ho-so/" in html
    # Complaints are unknown: satisfaction is scored on the 6 points the portal can know.
    satisfaction = html.split('data-group="satisfaction"')[1].split("</tr>")[0]
    assert "/ 18" in satisfaction and "(trên 6 điểm có dữ liệu)" in satisfaction
    progress = html.split('data-group="progress"')[1].split("</tr>")[0]
    assert "/ 20" in progress and "điểm có dữ liệu" not in progress  # everything known
    late_link = html.split('id="table-late"')[1].split('href="')[1].split('"')[0]
    assert client.get(late_link).status_code == 200  # the leader opens a late dossier
    csv_file = client.get("/thong-ke/xuat", query_string={**DECEMBER, "format": "csv"})
    rows = list(csv.reader(io.StringIO(csv_file.get_data().decode("utf-8-sig"))))
    assert ["Tiếp nhận (tổng)", "13"] in rows
    xlsx = client.get("/thong-ke/xuat", query_string={**DECEMBER, "format": "xlsx"})
    book = load_workbook(io.BytesIO(xlsx.get_data()))
    assert book["Chỉ số"]["B2"].value == 13 and "Điểm nghẽn" in book.sheetnames


def test_heads_see_their_agency_and_bad_filters_say_why(december, auth, client):  # noqa: F811
    auth.login("lanhdao")
    assert 'data-key="received">12<' in text(client.get("/thong-ke/", query_string=DECEMBER))
    other = client.get("/thong-ke/", query_string={**DECEMBER, "agency": "000.00.13.H56"})
    assert other.status_code == 403
    backwards = client.get("/thong-ke/", query_string={"start": "2026-12-31", "end": "2026-12-01"})
    assert backwards.status_code == 422 and "trước ngày bắt đầu" in text(backwards)
    auth.login("chuyenvien")
    assert client.get("/thong-ke/").status_code == 403


def test_an_administrator_edits_a_rule_from_the_command_line(platform, run):
    listed = run("scorecard-rule")
    assert listed.exit_code == 0 and "on_time" in listed.output and "UNCONFIRMED" in listed.output
    changed = run("scorecard-rule", "on_time", "--threshold", "0.9", "--confirmed")
    assert changed.exit_code == 0
    assert [line for line in changed.output.splitlines() if " on_time " in line][0].endswith(
        "at >= 90%  confirmed")
    bad = run("scorecard-rule", "on_time", "--threshold", "2")
    assert bad.exit_code == 2 and "ngưỡng" in bad.output
