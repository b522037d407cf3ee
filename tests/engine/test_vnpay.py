"""The VNPay protocol (:mod:`engine.vnpay`): signed pay redirects and checked callbacks."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

from engine import clock, vnpay

SECRET = "terminal-secret"
GATEWAY = vnpay.VNPayGateway("2QXUI4J4", SECRET, "https://pay.example.vn/vpcpay.html")
PAYMENT = SimpleNamespace(txn_ref="T0001", amount=150000, dossier=SimpleNamespace(code="H56-0001"),
                          created_at=datetime(2026, 1, 9, 3, 0, tzinfo=UTC))  # 10:00 in Hà Nội


def callback(**changes) -> dict[str, str]:
    params = {"vnp_TmnCode": "2QXUI4J4", "vnp_TxnRef": "T0001", "vnp_Amount": "15000000",
              "vnp_ResponseCode": "00", "vnp_TransactionStatus": "00",
              "vnp_TransactionNo": "14123456", "vnp_PayDate": "20260109101500",
              "vnp_BankCode": "NCB", "vnp_OrderInfo": "Thanh toan le phi ho so H56-0001"}
    params.update(changes)
    return {**params, "vnp_SecureHash": vnpay.sign(SECRET, params)}


def test_the_signature_is_hmac_sha512_of_the_sorted_encoded_vnp_parameters():
    params = {"vnp_B": "a b/c", "vnp_A": "x", "other": "left out", "vnp_Empty": ""}
    expected = hmac.new(SECRET.encode(), b"vnp_A=x&vnp_B=a+b%2Fc", hashlib.sha512).hexdigest()
    assert vnpay.sign(SECRET, params) == expected


def test_the_pay_redirect_is_signed_and_states_amount_and_expiry_in_vietnam_time():
    url = GATEWAY.create_payment_url(PAYMENT, "https://portal.example.vn/tra-ve", "10.0.0.7")
    assert url == GATEWAY.create_payment_url(PAYMENT, "https://portal.example.vn/tra-ve",
                                             "10.0.0.7")  # the same pending payment, same URL
    assert url.startswith("https://pay.example.vn/vpcpay.html?")
    params = dict(parse_qsl(urlsplit(url).query))
    assert vnpay.signature_ok(SECRET, params)
    assert (params["vnp_Amount"], params["vnp_TxnRef"]) == ("15000000", "T0001")
    assert (params["vnp_CreateDate"], params["vnp_ExpireDate"]) == ("20260109100000",
                                                                    "20260109101500")
    assert params["vnp_OrderInfo"].isascii() and "H56-0001" in params["vnp_OrderInfo"]


def test_a_genuine_callback_reads_as_paid():
    result = GATEWAY.verify_callback(callback())
    assert result.valid_signature and result.success
    assert (result.txn_ref, result.amount, result.provider_txn) == ("T0001", 150000, "14123456")
    assert result.paid_at == datetime(2026, 1, 9, 10, 15, tzinfo=clock.VIETNAM)


def test_a_changed_amount_or_another_secret_breaks_the_signature():
    forged = {**callback(), "vnp_Amount": "100"}
    assert not GATEWAY.verify_callback(forged).valid_signature
    other = vnpay.VNPayGateway("2QXUI4J4", "guessed", GATEWAY.pay_url)
    assert not other.verify_callback(callback()).valid_signature
    assert not GATEWAY.verify_callback({**callback(), "vnp_SecureHash": ""}).valid_signature


def test_a_gateway_that_signs_its_empty_values_too_is_understood():
    params = {"vnp_TxnRef": "T0001", "vnp_Amount": "15000000", "vnp_BankTranNo": "",
              "vnp_ResponseCode": "00"}
    with_empty = vnpay.canonical(params, keep_empty=True).encode()
    params["vnp_SecureHash"] = hmac.new(SECRET.encode(), with_empty, hashlib.sha512).hexdigest()
    assert vnpay.signature_ok(SECRET, params)


def test_a_refusal_or_a_malformed_amount_is_not_a_payment():
    refused = GATEWAY.verify_callback(callback(vnp_ResponseCode="24"))
    assert refused.valid_signature and not refused.success
    assert vnpay.response_message("24") != vnpay.response_message("00")
    assert vnpay.response_message("nonsense") == vnpay.response_message("99")
    assert GATEWAY.verify_callback(callback(vnp_Amount="15000050")).amount is None
    assert vnpay.parse_amount("-100") is None


def test_the_gateway_never_shows_its_secret():
    assert SECRET not in repr(GATEWAY)
