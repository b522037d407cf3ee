"""Online fee payment through VNPay's protocol: the signature against a digest computed
here from the documented algorithm, and the IPN's rules — a payment confirmed twice is
recorded once, a wrong signature or amount is refused, logged and audited."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qsl, quote_plus, urlsplit

import pytest
from sqlalchemy import select

import engine.payment_models  # noqa: F401  (the payment table, until engine.models imports it)
from engine import accounts, clock, payments, vnpay
from engine.errors import Conflict, InvalidData, NotFound, PermissionDenied
from engine.models import AuditEvent, Message
from engine.payment_models import Payment
from engine.procedures import deploy_bundle
from tests.engine.factories import submit
from tests.engine.test_bundles import replace

SECRET = vnpay.DEMO_HASH_SECRET
FEE = 150000


@pytest.fixture(autouse=True)
def _sandbox_gateway(monkeypatch):
    """Payments go to the portal's own sandbox with its demo credentials."""
    for name in ("MOTCUA_VNPAY_URL", "MOTCUA_VNPAY_TMN_CODE", "MOTCUA_VNPAY_HASH_SECRET"):
        monkeypatch.delenv(name, raising=False)


def fee_bundle(amount: int = FEE, level: int = 4) -> dict[str, str]:
    """The transport bundle with a fee (and optionally another level), as a new version."""
    files = replace("procedure.yaml", "fee:\n  amount: 0\n", f"fee:\n  amount: {amount}\n")
    text = files["procedure.yaml"].replace("\nlevel: 4\n", f"\nlevel: {level}\n", 1)
    if level == 3:  # its label by Decree 42/2022, which deploy checks
        text = text.replace("online_label: toàn trình", "online_label: một phần", 1)
    return {**files, "procedure.yaml": text}


@pytest.fixture
def with_fee(platform):
    deploy_bundle(platform, fee_bundle())
    return platform


def hand_sign(params: dict[str, str], secret: str = SECRET) -> str:
    """VNPay's documented signature, written out here: HMAC-SHA512 over the vnp_ fields
    sorted by name, ``name=quote_plus(value)`` joined by ``&``."""
    data = "&".join(f"{k}={quote_plus(v)}" for k, v in sorted(params.items())
                    if k.startswith("vnp_") and k not in ("vnp_SecureHash", "vnp_SecureHashType"))
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def callback(txn_ref: str, *, amount: int = FEE, code: str = "00", secret: str = SECRET,
             transaction_no: str = "14422574") -> dict[str, str]:
    """Signed return/IPN parameters as the gateway sends them."""
    params = {"vnp_Amount": str(amount * 100), "vnp_BankCode": "NCB",
              "vnp_BankTranNo": f"VNP{transaction_no}", "vnp_CardType": "ATM",
              "vnp_OrderInfo": "Thanh toan le phi ho so", "vnp_PayDate": "20261127103000",
              "vnp_ResponseCode": code, "vnp_TmnCode": vnpay.DEMO_TMN_CODE,
              "vnp_TransactionNo": transaction_no,
              "vnp_TransactionStatus": "00" if code == "00" else "02", "vnp_TxnRef": txn_ref}
    return {**params, "vnp_SecureHash": hand_sign(params, secret)}


def start(p, code: str, username: str = "doanhnghiep") -> dict:
    return payments.start_payment(p, accounts.find_user(p, username), code,
                                  client_ip="203.0.113.7")


def events(p, action: str) -> list[AuditEvent]:
    with p.db.transaction() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)).scalars())


def payment_row(p, txn_ref: str) -> Payment:
    with p.db.transaction() as session:
        return session.execute(select(Payment).where(Payment.txn_ref == txn_ref)).scalar_one()


# -- the protocol -----------------------------------------------------------------------

def test_pay_url_is_signed_as_documented():
    created = datetime(2026, 11, 27, 3, 15, 0, tzinfo=UTC)  # 10:15 in Vietnam
    payment = SimpleNamespace(txn_ref="261127AB12CD34EF", amount=FEE, created_at=created,
                              dossier=SimpleNamespace(code="000.00.14.H56-261127-0001"))
    gateway = vnpay.VNPayGateway("MOTCUA01", "a-fixed-test-secret", "https://pay.example/vpcpay.html")
    url = gateway.create_payment_url(payment, "https://portal.example/payments/vnpay/return",
                                     "203.0.113.7")
    expected_query = (
        "vnp_Amount=15000000&vnp_Command=pay&vnp_CreateDate=20261127101500&vnp_CurrCode=VND"
        "&vnp_ExpireDate=20261127103000&vnp_IpAddr=203.0.113.7&vnp_Locale=vn"
        "&vnp_OrderInfo=Thanh+toan+le+phi+ho+so+000.00.14.H56-261127-0001&vnp_OrderType=other"
        "&vnp_ReturnUrl=https%3A%2F%2Fportal.example%2Fpayments%2Fvnpay%2Freturn"
        "&vnp_TmnCode=MOTCUA01&vnp_TxnRef=261127AB12CD34EF&vnp_Version=2.1.0")
    digest = hmac.new(b"a-fixed-test-secret", expected_query.encode(), hashlib.sha512).hexdigest()
    assert url == f"https://pay.example/vpcpay.html?{expected_query}&vnp_SecureHash={digest}"
    assert len(digest) == 128


def test_callback_signatures_are_checked():
    gateway = vnpay.VNPayGateway(vnpay.DEMO_TMN_CODE, SECRET, "http://x/sandbox/vnpay/pay")
    good = callback("T1")
    result = gateway.verify_callback(good)
    assert (result.valid_signature, result.txn_ref, result.amount, result.success,
            result.provider_txn) == (True, "T1", FEE, True, "14422574")
    assert gateway.verify_callback({**good, "vnp_SecureHash": good["vnp_SecureHash"].upper()}
                                   ).valid_signature
    assert not gateway.verify_callback({**good, "vnp_Amount": "100"}).valid_signature
    assert not gateway.verify_callback(callback("T1", secret="not-the-secret")).valid_signature
    assert not gateway.verify_callback({k: v for k, v in good.items()
                                        if k != "vnp_SecureHash"}).valid_signature
    # An empty field, signed as the PHP/Python samples do (kept) or Java/.NET do (left out).
    params = {k: v for k, v in good.items() if k != "vnp_SecureHash"} | {"vnp_BankTranNo": ""}
    kept = "&".join(f"{k}={quote_plus(v)}" for k, v in sorted(params.items()))
    for data in (kept, kept.replace("vnp_BankTranNo=&", "")):
        digest = hmac.new(SECRET.encode(), data.encode(), hashlib.sha512).hexdigest()
        assert gateway.verify_callback({**params, "vnp_SecureHash": digest}).valid_signature
    assert not gateway.verify_callback(callback("T1", code="24")).success


# -- starting ---------------------------------------------------------------------------

def test_start_opens_one_pending_payment_and_reuses_it(with_fee):
    code = submit(with_fee)
    first = start(with_fee, code)
    assert (first["amount"], first["currency"], first["reused"]) == (FEE, "VND", False)
    url = urlsplit(first["url"])
    assert url.path == "/sandbox/vnpay/pay"
    query = dict(parse_qsl(url.query))
    assert query["vnp_Amount"] == "15000000" and query["vnp_TxnRef"] == first["txn_ref"]
    assert query["vnp_SecureHash"] == hand_sign(query)
    again = start(with_fee, code)
    assert (again["payment_id"], again["url"], again["reused"]) == (first["payment_id"],
                                                                   first["url"], True)
    status = payments.payment_status(with_fee, code)
    assert (status["due"], status["paid"], len(status["payments"])) == (True, False, 1)


def test_an_expired_pending_payment_is_closed_and_replaced(with_fee):
    code = submit(with_fee)
    first = start(with_fee, code)
    clock.travel(timedelta(minutes=20))
    second = start(with_fee, code)
    assert second["txn_ref"] != first["txn_ref"]
    assert payment_row(with_fee, first["txn_ref"]).status == "failed"
    assert [e.detail["txn_ref"] for e in events(with_fee, "payment_expired")] == [first["txn_ref"]]


def test_zero_fee_and_level_3_procedures_are_not_paid_online(platform):
    code = submit(platform)  # the bundle as shipped: fee 0, unconfirmed
    with pytest.raises(InvalidData) as err:
        start(platform, code)
    assert "no fee is due" in err.value.message.lower() and "không có phí" in err.value.vi
    assert payments.payment_status(platform, code)["due"] is False
    deploy_bundle(platform, fee_bundle(level=3))
    with pytest.raises(InvalidData) as err:
        start(platform, submit(platform))
    assert "not level 4" in err.value.message and "mức độ 4" in err.value.vi


def test_only_the_applicant_pays(with_fee):
    code = submit(with_fee)
    with pytest.raises(PermissionDenied):
        start(with_fee, code, username="motcua")  # the agency's officer sees it, does not pay
    with pytest.raises(NotFound):
        start(with_fee, code, username="congdan")  # a stranger learns nothing


# -- the IPN ----------------------------------------------------------------------------

def test_ipn_records_a_payment_once(with_fee):
    code = submit(with_fee)
    txn = start(with_fee, code)["txn_ref"]
    ipn = callback(txn)
    assert payments.handle_ipn(with_fee, ipn) == {"RspCode": "00", "Message": "Confirm Success"}
    assert payments.handle_ipn(with_fee, ipn) == {"RspCode": "02",
                                                  "Message": "Order already confirmed"}
    row = payment_row(with_fee, txn)
    assert (row.status, row.provider_txn, row.raw_callback["vnp_TxnRef"]) == ("paid", "14422574",
                                                                            txn)
    assert row.paid_at == datetime(2026, 11, 27, 3, 30, tzinfo=UTC)  # vnp_PayDate, GMT+7
    recorded = events(with_fee, "payment")
    assert len(recorded) == 1 and recorded[0].detail["via"] == "ipn"
    status = payments.payment_status(with_fee, code)
    assert status["paid"] is True
    with pytest.raises(Conflict):
        start(with_fee, code)
    # The diagram hears of it once: one payment_confirmed message for this dossier.
    with with_fee.db.transaction() as session:
        signals = session.execute(select(Message).where(
            Message.name == payments.PAID_MESSAGE)).scalars().all()
        assert [(m.correlation, m.payload["txn_ref"], m.payload["amount"]) for m in signals] \
            == [(code, txn, FEE)]


def test_concurrent_duplicate_ipns_record_one_payment(with_fee):
    txn = start(with_fee, submit(with_fee))["txn_ref"]
    ipn = callback(txn)
    answers: list[str] = []
    barrier = threading.Barrier(4)

    def deliver():
        barrier.wait()
        answers.append(payments.handle_ipn(with_fee, ipn)["RspCode"])

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == ["00", "02", "02", "02"]
    assert len(events(with_fee, "payment")) == 1


def test_forged_signature_is_refused_logged_and_audited(with_fee, caplog):
    txn = start(with_fee, submit(with_fee))["txn_ref"]
    forged = callback(txn, secret="guessed-secret")
    with caplog.at_level(logging.WARNING, logger="motcua.payments"):
        assert payments.handle_ipn(with_fee, forged)["RspCode"] == "97"
    assert payment_row(with_fee, txn).status == "pending"
    assert events(with_fee, "payment") == []
    with with_fee.db.transaction() as session:  # nothing reaches the diagram
        assert session.execute(select(Message)).scalars().all() == []
    [refused] = events(with_fee, "payment_refused")
    assert refused.detail["code"] == "97" and refused.detail["reason"] == "invalid signature"
    assert refused.detail["params"]["vnp_TxnRef"] == txn
    assert SECRET not in str(refused.detail)
    assert "invalid signature" in caplog.text and txn in caplog.text


def test_wrong_amount_and_unknown_order_are_refused(with_fee):
    code = submit(with_fee)
    txn = start(with_fee, code)["txn_ref"]
    assert payments.handle_ipn(with_fee, callback(txn, amount=1500))["RspCode"] == "04"
    assert payments.handle_ipn(with_fee, callback("NOSUCHORDER"))["RspCode"] == "01"
    assert payment_row(with_fee, txn).status == "pending"
    refused = events(with_fee, "payment_refused")
    assert [(e.detail["code"], e.dossier_id is not None) for e in refused] == [("04", True),
                                                                              ("01", False)]
    # The right amount still goes through afterwards.
    assert payments.handle_ipn(with_fee, callback(txn))["RspCode"] == "00"


def test_a_cancelled_payment_is_failed_and_a_new_one_can_start(with_fee):
    code = submit(with_fee)
    txn = start(with_fee, code)["txn_ref"]
    cancelled = callback(txn, code="24", transaction_no="0")
    assert payments.handle_ipn(with_fee, cancelled)["RspCode"] == "00"
    assert payment_row(with_fee, txn).status == "failed"
    assert payments.handle_ipn(with_fee, cancelled)["RspCode"] == "02"
    assert len(events(with_fee, "payment_failed")) == 1
    assert start(with_fee, code)["txn_ref"] != txn


def test_return_reports_and_records_a_success_before_the_ipn(with_fee):
    code = submit(with_fee)
    txn = start(with_fee, code)["txn_ref"]
    report = payments.handle_return(with_fee, callback(txn))
    assert (report["dossier_code"], report["status"], report["amount"]) == (code, "paid", FEE)
    assert payments.handle_ipn(with_fee, callback(txn))["RspCode"] == "02"
    assert [e.detail["via"] for e in events(with_fee, "payment")] == ["return"]
    wrong = payments.handle_return(with_fee, callback(txn, amount=1))
    assert (wrong["status"], wrong["dossier_code"]) == ("invalid", code)
    forged = payments.handle_return(with_fee, callback(txn, secret="guessed"))
    assert forged["status"] == "invalid" and forged["dossier_code"] is None
    assert events(with_fee, "payment_refused")[-1].detail["via"] == "return"


def test_a_real_gateway_needs_real_credentials(platform, monkeypatch):
    monkeypatch.setattr(platform.settings, "vnpay_url",
                        "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html")
    assert not payments.sandbox_enabled(platform)
    with pytest.raises(RuntimeError, match="MOTCUA_VNPAY_HASH_SECRET"):
        payments.gateway_for(platform)
    monkeypatch.setattr(platform.settings, "vnpay_tmn_code", "2QXUI4J4")
    monkeypatch.setattr(platform.settings, "vnpay_hash_secret", "real-secret")
    gateway = payments.gateway_for(platform)
    assert (gateway.tmn_code, gateway.hash_secret) == ("2QXUI4J4", "real-secret")
    assert "real-secret" not in repr(gateway)
