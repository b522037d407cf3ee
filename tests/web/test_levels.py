"""Levels 3 and 4 as users see them (Decree 43/2011 Art. 3, with the Decree 42/2022 labels):
a level-4 procedure pays online and delivers its signed result for download; a level-3 copy
of the same bundle sends the applicant to the reception desk to pay and collect."""

from __future__ import annotations

import re
from html import unescape

import pytest

from engine import worker
from engine.procedures import deploy_bundle
from tests.bpmn.test_vehicle_badge import issue, level_3_bundle, pay, submit
from tests.web.test_pages import AuthActions
from web import create_app

DESK = "Nộp phí, lệ phí và nhận kết quả tại Bộ phận tiếp nhận và trả kết quả"


@pytest.fixture(autouse=True)
def _sandbox_gateway(monkeypatch):
    for name in ("MOTCUA_VNPAY_URL", "MOTCUA_VNPAY_TMN_CODE", "MOTCUA_VNPAY_HASH_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def client(platform):
    return create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()


@pytest.fixture
def auth(client):
    auth = AuthActions(client)
    auth.login("doanhnghiep")
    return auth


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return " ".join(unescape(response.get_data(as_text=True)).split())


def delivery(client, code: str) -> str:
    """The dossier page's "fee and result" section."""
    html = page(client, f"/ho-so/{code}")
    found = re.search(r'<section id="delivery".*?</section>', html)
    assert found, "the dossier page has no delivery section"
    return found.group(0)


def test_a_level_4_procedure_says_fee_and_result_go_online(client):
    html = page(client, "/thu-tuc/vehicle-badge")
    assert "Mức độ 4 – toàn trình" in html
    assert "thanh toán phí, lệ phí trực tuyến; kết quả điện tử có chữ ký số được trả trên Cổng" in html
    assert "dịch vụ công trực tuyến toàn trình" in html
    assert "chưa được xác nhận theo văn bản pháp luật" in html     # the fee is unconfirmed
    assert DESK.lower() not in html.lower()


def test_a_level_3_procedure_says_fee_and_result_at_the_desk(platform, client):
    deploy_bundle(platform, level_3_bundle())
    html = page(client, "/thu-tuc/vehicle-badge")
    assert "Mức độ 3 – một phần" in html and "dịch vụ công trực tuyến một phần" in html
    assert "nộp phí, lệ phí và nhận kết quả tại Bộ phận tiếp nhận và trả kết quả" in html
    assert "thanh toán phí, lệ phí trực tuyến" not in html


def test_a_level_3_dossier_has_no_pay_button(platform, client, auth):
    deploy_bundle(platform, level_3_bundle())
    code = submit(platform)
    section = delivery(client, code)
    assert f"{DESK} của Sở Giao thông vận tải tỉnh Thanh Hóa" in section
    assert "Mức độ 3 – một phần" in section
    assert "Thanh toán trực tuyến" not in section and "thanh-toan" not in section


def test_a_level_4_dossier_pays_online_then_downloads_its_result(platform, client, auth):
    code = issue(platform)
    section = delivery(client, code)
    assert "Mức độ 4 – toàn trình" in section
    assert f'href="/ho-so/{code}/thanh-toan">Thanh toán trực tuyến</a>' in section
    assert "Kết quả được trả trực tuyến" in section
    pay(platform, code)
    worker.tick(platform)
    section = delivery(client, code)
    assert "Đã thanh toán trực tuyến." in section and "Thanh toán trực tuyến</a>" not in section
    link = re.search(r'href="([^"]+)">Tải kết quả: (phu-hieu-[^<]+\.pdf)</a>', section)
    assert link, section
    download = client.get(link.group(1))
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
