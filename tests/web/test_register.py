"""The register page (form 06) and the control slip (form 05) in the workspace."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pypdf
from openpyxl import load_workbook

from engine import clock
from signing.pki import trust_roots
from signing.verify import verify_pdf
from tests.engine.factories import submit
from tests.web.test_pages import app, auth, client, text  # noqa: F401  (fixtures)

PAGE = "/workspace/so-theo-doi-ho-so"
AGENCY = "000.00.14.H56"


def test_reception_downloads_its_agencys_register(platform, auth, client):  # noqa: F811
    clock.travel_to(datetime.fromisoformat("2026-12-03T09:00:00+07:00"))
    code = submit(platform)
    auth.login("motcua")
    page = client.get(PAGE)
    assert page.status_code == 200
    html = text(page)
    assert "Sổ theo dõi hồ sơ" in html and 'value="2026-12-01"' in html  # this month
    assert "<select" not in html  # an officer reads their own agency's book only
    response = client.get(PAGE, query_string={"agency": AGENCY, "start": "2026-12-01",
                                              "end": "2026-12-31", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    lines = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert lines[0][:2] == ["STT", "Mã hồ sơ"] and lines[1][1] == code
    response = client.get(PAGE, query_string={"agency": AGENCY, "start": "2026-12-01",
                                              "end": "2026-12-31", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet["B2"].value == code and sheet["A1"].font.bold


def test_an_administrator_picks_any_agency_and_bad_input_is_explained(auth, client):  # noqa: F811
    auth.login("quantri")
    html = text(client.get(PAGE))
    assert "<select" in html and "000.00.13.H56" in html
    response = client.get(PAGE, query_string={"agency": AGENCY, "start": "2026-12-31",
                                              "end": "2026-12-01", "format": "csv"})
    assert response.status_code == 422
    assert "Ngày bắt đầu sau ngày kết thúc." in text(response)
    response = client.get(PAGE, query_string={"agency": AGENCY, "start": "31/12/2026",
                                              "end": "2026-12-01", "format": "csv"})
    assert response.status_code == 422 and "năm-tháng-ngày" in text(response)


def test_officers_of_another_agency_and_applicants_may_not(auth, client):  # noqa: F811
    auth.login("doanhnghiep")
    assert client.get(PAGE).status_code == 403
    auth.logout()
    auth.login("phantich")  # staff of the province, not of the transport department
    response = client.get(PAGE, query_string={"agency": AGENCY, "start": "2026-12-01",
                                              "end": "2026-12-31", "format": "csv"})
    assert response.status_code == 403


def test_control_slip_for_the_applicant_and_staff_only(platform, auth, client):  # noqa: F811
    code = submit(platform)
    url = f"/workspace/ho-so/{code}/phieu-kiem-soat.pdf"
    assert client.get(url).status_code == 302  # to the login page
    auth.login("doanhnghiep")
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    assert verify_pdf(pdf, trust_roots(platform.pki_dir)).ok
    first = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in " ".join(first.split())
    auth.logout()
    auth.login("congdan")
    assert client.get(url).status_code == 404
