"""Paying a fee in the browser, through the portal's sandbox of VNPay's protocol: the
applicant starts, the sandbox checks the signed order and shows it, Pay notifies the IPN
server to server and sends the browser back, and the return page says what happened."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import select

import engine.payment_models  # noqa: F401  (the payment table, until engine.models imports it)
from engine import payments
from engine.models import AuditEvent
from engine.payment_models import Payment
from engine.procedures import deploy_bundle
from tests.engine.factories import submit
from tests.engine.test_payments import FEE, callback, fee_bundle
from tests.web.test_pages import AuthActions
from web import create_app
from web import payments as payment_pages


@pytest.fixture(autouse=True)
def _sandbox_gateway(monkeypatch):
    for name in ("MOTCUA_VNPAY_URL", "MOTCUA_VNPAY_TMN_CODE", "MOTCUA_VNPAY_HASH_SECRET"):
        monkeypatch.delenv(name, raising=False)


def make_app(platform):
    app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})
    payment_pages.init_app(app)  # until web/__init__.py does it
    return app


@pytest.fixture
def client(platform):
    return make_app(platform).test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def dossier(platform):
    deploy_bundle(platform, fee_bundle())
    return submit(platform)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def local(url: str) -> str:
    """An absolute URL of the portal (public_url) as the path the test client requests."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def pay_through_sandbox(client, auth, code: str, action: str = "pay"):
    """Start paying, open the sandbox's order page, press ``action``; the response of the
    sandbox's button (a redirect to the portal's return URL)."""
    page = f"/ho-so/{code}/thanh-toan"
    started = auth.post(page, page=page)
    assert started.status_code == 302
    gateway = started.headers["Location"]
    assert urlsplit(gateway).path == "/sandbox/vnpay/pay"
    order = client.get(local(gateway))
    assert order.status_code == 200
    html = text(order)
    assert "Cổng thanh toán thử nghiệm — không phải VNPay thật" in html
    assert "150.000 đồng" in html
    query = unescape(re.search(r'name="query" value="([^"]+)"', order.get_data(as_text=True))[1])
    return auth.post("/sandbox/vnpay/pay", {"query": query, "action": action}, page=page)


def payment_rows(platform) -> list[Payment]:
    with platform.db.transaction() as session:
        return list(session.execute(select(Payment).order_by(Payment.id)).scalars())


def test_pay_through_the_sandbox(client, auth, platform, dossier):
    auth.login("doanhnghiep")
    page = text(client.get(f"/ho-so/{dossier}/thanh-toan"))
    assert "Chưa thanh toán" in page and "Thanh toán trực tuyến" in page
    back = pay_through_sandbox(client, auth, dossier)
    assert back.status_code == 302
    assert urlsplit(back.headers["Location"]).path == "/payments/vnpay/return"
    # The IPN came first, server to server: the payment is recorded before the browser returns.
    [row] = payment_rows(platform)
    assert (row.status, row.amount) == ("paid", FEE)
    with platform.db.transaction() as session:
        [event] = session.execute(select(AuditEvent).where(AuditEvent.action == "payment")
                                  ).scalars().all()
    assert event.detail["via"] == "ipn"
    result = client.get(local(back.headers["Location"]))
    assert result.status_code == 200
    assert "Đã thanh toán thành công" in text(result) and dossier in text(result)
    page = text(client.get(f"/ho-so/{dossier}/thanh-toan"))
    assert "Đã thanh toán" in page and "Thanh toán trực tuyến</button>" not in page
    # The browser's return delivered again changes nothing; the IPN again answers 02.
    assert client.get(local(back.headers["Location"])).status_code == 200
    ipn = client.get("/payments/vnpay/ipn", query_string=urlsplit(back.headers["Location"]).query)
    assert ipn.get_json() == {"RspCode": "02", "Message": "Order already confirmed"}
    assert len(payment_rows(platform)) == 1


def test_cancel_in_the_sandbox_fails_the_payment(client, auth, platform, dossier):
    auth.login("doanhnghiep")
    back = pay_through_sandbox(client, auth, dossier, action="cancel")
    params = dict(parse_qsl(urlsplit(back.headers["Location"]).query))
    assert params["vnp_ResponseCode"] == "24"
    assert [r.status for r in payment_rows(platform)] == ["failed"]
    result = text(client.get(local(back.headers["Location"])))
    assert "Thanh toán không thành công" in result and "hủy giao dịch" in result


def test_the_sandbox_refuses_a_tampered_order(client, auth, dossier):
    auth.login("doanhnghiep")
    page = f"/ho-so/{dossier}/thanh-toan"
    gateway = auth.post(page, page=page).headers["Location"]
    tampered = local(gateway).replace("vnp_Amount=15000000", "vnp_Amount=100")
    response = client.get(tampered)
    assert response.status_code == 400 and "Sai chữ ký" in text(response)


def test_ipn_endpoint_answers_json_and_refuses_forgeries(client, platform, dossier):
    from engine import accounts

    txn = payments.start_payment(platform, accounts.find_user(platform, "doanhnghiep"), dossier,
                                 client_ip="127.0.0.1")["txn_ref"]
    forged = client.get("/payments/vnpay/ipn", query_string=callback(txn, secret="guess"))
    assert forged.status_code == 200
    assert forged.get_json() == {"RspCode": "97", "Message": "Invalid signature"}
    wrong = client.get("/payments/vnpay/ipn", query_string=callback(txn, amount=1))
    assert wrong.get_json()["RspCode"] == "04"
    assert client.get("/payments/vnpay/ipn", query_string=callback("NOPE")).get_json()[
        "RspCode"] == "01"
    assert [r.status for r in payment_rows(platform)] == ["pending"]
    forged_return = client.get("/payments/vnpay/return", query_string=callback(txn, secret="x"))
    assert forged_return.status_code == 400 and "không hợp lệ" in text(forged_return)


def test_no_fee_due_is_refused_with_a_clear_message(client, auth, platform):
    code = submit(platform)  # fee 0 in the shipped bundle
    auth.login("doanhnghiep")
    page = f"/ho-so/{code}/thanh-toan"
    assert "Thanh toán trực tuyến</button>" not in text(client.get(page))
    refused = auth.post(page, page=page, follow_redirects=True)
    assert "không có phí, lệ phí phải nộp trực tuyến" in text(refused)
    assert payment_rows(platform) == []


def test_pay_form_may_redirect_to_the_gateway(client, auth, dossier):
    auth.login("doanhnghiep")
    policy = client.get(f"/ho-so/{dossier}/thanh-toan").headers["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:5000" in policy


def test_a_real_gateway_url_turns_the_sandbox_off(platform, monkeypatch, dossier):
    monkeypatch.setattr(platform.settings, "vnpay_url",
                        "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html")
    monkeypatch.setattr(platform.settings, "vnpay_tmn_code", "2QXUI4J4")
    monkeypatch.setattr(platform.settings, "vnpay_hash_secret", "real-secret")
    client = make_app(platform).test_client()
    auth = AuthActions(client)
    auth.login("doanhnghiep")
    assert client.get("/sandbox/vnpay/pay").status_code == 404
    page = f"/ho-so/{dossier}/thanh-toan"
    location = auth.post(page, page=page).headers["Location"]
    assert location.startswith("https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?")
    assert dict(parse_qsl(urlsplit(location).query))["vnp_TmnCode"] == "2QXUI4J4"
    policy = client.get(page).headers["Content-Security-Policy"]
    assert "form-action 'self' https://sandbox.vnpayment.vn" in policy
