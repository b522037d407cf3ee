"""Online fee payment of level-4 dossiers (DOMAIN.md §2: level 4 = fees paid online).

A payment goes through a :class:`PaymentProvider`; the one implemented,
:class:`engine.vnpay.VNPayGateway`, speaks VNPay's documented protocol (version 2.1.0). By
default it points at the portal's own sandbox of that protocol (``web/sandbox_vnpay.py``),
so the demo and the tests run the real exchange without a bank.

Decisions:

- **The IPN is authoritative.** The gateway calls our IPN URL server to server; that
  callback, checked in one transaction (signature → order → amount → state), records the
  result. The browser's return only reports, except that a validly signed successful
  return arriving before the IPN is recorded the same idempotent way (the IPN then gets
  ``02``). A payment confirmed twice is recorded once: the payment row is locked
  (``FOR UPDATE``; SQLite serialises writers) and a settled payment is never settled again.
- **Refusals leave a trace.** A wrong signature (``97``), an unknown order (``01``), a
  wrong amount (``04``) or an error (``99``) is logged with its reason and appended to the
  audit chain as ``payment_refused`` with the offending parameters (never the secret).
- **One pending payment per dossier.** Starting again reuses the pending order while
  the gateway still accepts it; an order past its expiry is closed as failed first.
- **Money the bank took is recorded.** A successful, correctly signed callback for the
  right amount marks the payment paid even if it had been closed as failed (expired);
  any other callback for a settled payment answers ``02`` and changes nothing.
- The fee comes from the dossier's procedure version (``fee: {amount, currency}`` in
  procedure.yaml): only level-4 procedures with an amount above zero are payable online.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock
from . import payment_models as _payment_models  # noqa: F401  (Base.metadata knows the table)
from .documents import can_see_dossier
from .errors import Conflict, InvalidData, PermissionDenied
from .lookup import by_code, not_found
from .models import Dossier, Message
from .payment_models import Payment
from .vnpay import (
    DEMO_HASH_SECRET,
    DEMO_TMN_CODE,
    EXPIRE_AFTER,
    SANDBOX_PATH,
    CallbackResult,
    PaymentProvider,
    VNPayGateway,
    is_sandbox_url,
    response_message,
)
from .vocabulary import CLOSED_STATUSES

__all__ = ["PaymentProvider", "CallbackResult", "VNPayGateway", "gateway_for", "sandbox_enabled",
           "start_payment", "handle_ipn", "handle_return", "payment_status", "IPN_ANSWERS"]

logger = logging.getLogger("motcua.payments")

IPN_ANSWERS = {
    "00": "Confirm Success",
    "01": "Order not found",
    "02": "Order already confirmed",
    "04": "Invalid amount",
    "97": "Invalid signature",
    "99": "Unknown error",
}
# A pending order is reused only while the applicant still has this long to pay it.
REUSE_MARGIN = timedelta(minutes=3)


def gateway_for(p) -> VNPayGateway:
    """The configured gateway: settings ``vnpay_url`` / ``vnpay_tmn_code`` /
    ``vnpay_hash_secret`` (``MOTCUA_VNPAY_URL`` / ``_TMN_CODE`` / ``_HASH_SECRET``).

    Unset, the URL is the portal's own sandbox (``{public_url}/sandbox/vnpay/pay``) with a
    demo terminal code and secret. A real gateway URL without real credentials is refused.
    """
    settings = p.settings
    url = settings.vnpay_url or f"{settings.public_url}{SANDBOX_PATH}"
    tmn_code, secret = settings.vnpay_tmn_code, settings.vnpay_hash_secret
    if is_sandbox_url(url):
        tmn_code, secret = tmn_code or DEMO_TMN_CODE, secret or DEMO_HASH_SECRET
    elif not (tmn_code and secret):
        raise RuntimeError("MOTCUA_VNPAY_URL points at a real gateway: set "
                           "MOTCUA_VNPAY_TMN_CODE and MOTCUA_VNPAY_HASH_SECRET too.")
    return VNPayGateway(tmn_code=tmn_code, hash_secret=secret, pay_url=url)


def sandbox_enabled(p) -> bool:
    """Whether payments go to the portal's own sandbox (then web/ serves it)."""
    return is_sandbox_url(p.settings.vnpay_url or f"{p.settings.public_url}{SANDBOX_PATH}")


# -- fees -------------------------------------------------------------------------------

def _fee(dossier: Dossier) -> tuple[int, str, InvalidData | None]:
    """``(amount, currency, why not payable)`` for a dossier, from its procedure version."""
    meta = dossier.version.meta or {}
    fee = meta.get("fee") if isinstance(meta.get("fee"), dict) else {}
    try:
        amount = int(fee.get("amount") or 0)
    except (TypeError, ValueError):
        amount = 0
    currency = str(fee.get("currency") or "VND").upper()
    if int(meta.get("level", 4) or 0) != 4:
        return amount, currency, InvalidData(
            "This procedure is not level 4: its fee is paid at the office, not online.",
            vi="Thủ tục này không phải mức độ 4: phí, lệ phí nộp trực tiếp tại cơ quan, "
               "không thanh toán trực tuyến.")
    if amount <= 0:
        return amount, currency, InvalidData(
            "No fee is due online for this dossier (the procedure's fee is zero or not set).",
            vi="Hồ sơ này không có phí, lệ phí phải nộp trực tuyến (mức phí của thủ tục bằng "
               "0 hoặc chưa được công bố).")
    if currency != "VND":
        return amount, currency, InvalidData(
            f"Online payment accepts fees in VND only, not {currency}.",
            vi=f"Thanh toán trực tuyến chỉ nhận phí bằng đồng Việt Nam, không nhận {currency}.")
    return amount, currency, None


def _find_dossier(session: Session, code: str, *, lock: bool = False) -> Dossier:
    return by_code(session, Dossier, code, lock=lock)


def _payments(session: Session, dossier_id: int, *, status: str | None = None,
              lock: bool = False) -> list[Payment]:
    query = select(Payment).where(Payment.dossier_id == dossier_id)
    if status:
        query = query.where(Payment.status == status)
    if lock:
        query = query.with_for_update(of=Payment).execution_options(populate_existing=True)
    return list(session.execute(query.order_by(Payment.id.desc())).scalars())


def _new_txn_ref() -> str:
    """Alphanumeric (the gateway's rule), unique for ever: day + 10 random hex digits."""
    return f"{clock.local_now():%y%m%d}{secrets.token_hex(5).upper()}"


# -- starting a payment -----------------------------------------------------------------

def start_payment(p, user, dossier_code: str, *, client_ip: str, return_url: str | None = None,
                  locale: str = "vn") -> dict:
    """Open (or reuse) the dossier's pending payment and give the gateway URL to send the
    applicant to. ``{payment_id, txn_ref, amount, currency, url, reused}``.

    Only the applicant pays; the procedure must be level 4 with a fee above zero
    (:class:`InvalidData` otherwise); a paid dossier gives :class:`Conflict`.
    """
    if user is None:
        raise PermissionDenied("Sign in to pay.", vi="Hãy đăng nhập để thanh toán.")
    gateway = gateway_for(p)
    return_url = return_url or f"{p.settings.public_url}/payments/vnpay/return"
    with p.db.transaction() as session:
        dossier = _find_dossier(session, dossier_code, lock=True)
        if dossier.applicant_id != user.id:
            if can_see_dossier(user, dossier):
                raise PermissionDenied("Only the applicant pays a dossier's fee.",
                                       vi="Chỉ người nộp hồ sơ thanh toán phí, lệ phí.")
            raise not_found(Dossier, dossier_code, for_person=True)
        amount, currency, refusal = _fee(dossier)
        if refusal is not None:
            raise refusal
        if dossier.status in CLOSED_STATUSES:
            raise InvalidData("This dossier is closed: nothing is to be paid.",
                              vi="Hồ sơ đã kết thúc xử lý: không cần thanh toán.")
        if _payments(session, dossier.id, status="paid"):
            raise Conflict("The fee of this dossier is already paid.",
                           vi="Phí, lệ phí của hồ sơ này đã được thanh toán.")
        now = clock.now()
        payment = None
        for pending in _payments(session, dossier.id, status="pending", lock=True):
            usable = (payment is None and pending.amount == amount
                      and pending.created_at + EXPIRE_AFTER - REUSE_MARGIN > now)
            if usable:
                payment = pending
                continue
            pending.status = "failed"
            pending.raw_callback = {"closed": "expired" if pending.amount == amount else "fee changed"}
            audit.append(session, actor="system", action="payment_expired", dossier_id=dossier.id,
                         detail={"txn_ref": pending.txn_ref, "amount": pending.amount})
        reused = payment is not None
        if payment is None:
            payment = Payment(dossier_id=dossier.id, txn_ref=_new_txn_ref(), amount=amount,
                              currency=currency, status="pending", provider=gateway.name,
                              created_at=now.replace(microsecond=0))
            session.add(payment)
            session.flush()
            audit.append(session, actor=user.username, action="payment_start",
                         dossier_id=dossier.id,
                         detail={"txn_ref": payment.txn_ref, "amount": amount,
                                 "currency": currency, "provider": gateway.name})
        url = gateway.create_payment_url(payment, return_url, client_ip or "127.0.0.1",
                                         locale=locale)
        return {"payment_id": payment.id, "txn_ref": payment.txn_ref, "amount": payment.amount,
                "currency": payment.currency, "url": url, "reused": reused}


# -- callbacks --------------------------------------------------------------------------

def _answer(code: str) -> dict:
    return {"RspCode": code, "Message": IPN_ANSWERS[code]}


def _safe_params(raw: dict) -> dict:
    """The callback's own parameters, bounded in number and size, for the audit log."""
    kept = sorted((str(k), str(v)) for k, v in raw.items() if str(k).startswith("vnp_"))
    return {k[:64]: v[:256] for k, v in kept[:40]}


def _refuse(session: Session, code: str, reason: str, result: CallbackResult, *, via: str,
            dossier_id: int | None = None) -> dict:
    logger.warning("VNPay %s refused with %s (%s): txn_ref=%r amount=%r", via, code, reason,
                   result.txn_ref, result.raw.get("vnp_Amount"))
    audit.append(session, actor="vnpay", action="payment_refused", dossier_id=dossier_id,
                 detail={"code": code, "reason": reason, "via": via,
                         "params": _safe_params(result.raw)})
    return _answer(code)


def _settle(session: Session, result: CallbackResult, *, via: str) -> dict:
    """Apply one verified-or-not callback; the IPN's answer. Runs inside a transaction."""
    if not result.valid_signature:
        return _refuse(session, "97", "invalid signature", result, via=via)
    payment = session.execute(
        select(Payment).where(Payment.txn_ref == result.txn_ref)
        .with_for_update(of=Payment).execution_options(populate_existing=True)).scalar()
    if payment is None:
        return _refuse(session, "01", "unknown order", result, via=via)
    if result.amount != payment.amount:
        return _refuse(session, "04", f"amount {result.raw.get('vnp_Amount')!r} is not "
                       f"{payment.amount} x 100", result, via=via, dossier_id=payment.dossier_id)
    if payment.status == "paid" or (payment.status == "failed" and not result.success):
        logger.info("VNPay %s for %s repeats a settled payment (%s)", via, payment.txn_ref,
                    payment.status)
        return _answer("02")
    # A cancelled or failed transaction carries the gateway's placeholder number "0".
    payment.provider_txn = result.provider_txn if result.provider_txn.strip("0") else None
    payment.raw_callback = _safe_params(result.raw)
    detail = {"txn_ref": payment.txn_ref, "amount": payment.amount, "currency": payment.currency,
              "provider": payment.provider, "provider_txn": result.provider_txn,
              "response_code": result.response_code, "via": via}
    if result.success:
        payment.status = "paid"
        payment.paid_at = result.paid_at or clock.now()
        audit.append(session, actor=payment.provider, action="payment",
                     dossier_id=payment.dossier_id, detail=detail)
        _signal_paid(session, payment)
    else:
        payment.status = "failed"
        audit.append(session, actor=payment.provider, action="payment_failed",
                     dossier_id=payment.dossier_id, detail=detail)
    return _answer("00")


PAID_MESSAGE = "payment_confirmed"


def _signal_paid(session: Session, payment: Payment) -> None:
    """Tell the dossier's diagram that its fee is paid: a ``payment_confirmed`` message
    correlated by the dossier's code, delivered by the worker to a message catch event (or
    receive task) of that name, e.g. before the result is returned. A diagram that does
    not wait for payment simply never takes it."""
    session.add(Message(name=PAID_MESSAGE, correlation=payment.dossier.code,
                        payload={"txn_ref": payment.txn_ref, "amount": payment.amount,
                                 "currency": payment.currency,
                                 "paid_at": (payment.paid_at or clock.now()).isoformat()},
                        status="pending", created_at=clock.now(),
                        sender_dossier_id=payment.dossier_id, sender_task="payment"))


def handle_ipn(p, params: dict) -> dict:
    """The gateway's server-to-server notification; returns the JSON answer it expects
    (``{"RspCode": "00", "Message": "Confirm Success"}``, or 01/02/04/97/99)."""
    params = {str(k): str(v) for k, v in dict(params).items()}
    result = gateway_for(p).verify_callback(params)
    try:
        with p.db.transaction() as session:
            return _settle(session, result, via="ipn")
    except Exception:
        logger.exception("VNPay IPN failed: txn_ref=%r", result.txn_ref)
        with p.db.transaction() as session:
            return _refuse(session, "99", "error while recording", result, via="ipn")


def handle_return(p, params: dict) -> dict:
    """What the applicant's browser brings back from the gateway: a report
    ``{dossier_code, status, message, message_en, response_code, amount, txn_ref}``,
    ``status`` being ``paid``, ``failed``, ``pending`` or ``invalid``."""
    params = {str(k): str(v) for k, v in dict(params).items()}
    result = gateway_for(p).verify_callback(params)
    vi, en = response_message(result.response_code)
    report = {"dossier_code": None, "status": "invalid", "message": vi, "message_en": en,
              "response_code": result.response_code, "amount": None, "txn_ref": result.txn_ref}
    with p.db.transaction() as session:
        if not result.valid_signature:
            _refuse(session, "97", "invalid signature", result, via="return")
            report.update(message="Sai chữ ký: kết quả thanh toán không hợp lệ.",
                          message_en="Wrong signature: the payment result is not valid.")
            return report
        payment = session.execute(
            select(Payment).where(Payment.txn_ref == result.txn_ref)).scalar()
        if payment is None:
            _refuse(session, "01", "unknown order", result, via="return")
            report.update(message="Không tìm thấy giao dịch thanh toán.",
                          message_en="No such payment.")
            return report
        if result.amount != payment.amount:
            _refuse(session, "04", "wrong amount", result, via="return",
                    dossier_id=payment.dossier_id)
            report.update(dossier_code=payment.dossier.code,
                          message="Số tiền thanh toán không khớp với số tiền phải nộp.",
                          message_en="The amount paid does not match the fee.")
            return report
        if payment.status == "pending" and result.success:
            _settle(session, result, via="return")  # the IPN has not come yet
        report.update(dossier_code=payment.dossier.code, amount=payment.amount,
                      status=payment.status)
        if payment.status == "pending" and not result.success:
            report["status"] = "failed"  # what the gateway says; the IPN records it
        return report


# -- status -----------------------------------------------------------------------------

def payment_view(payment: Payment) -> dict:
    """One payment as the pages and the API show it (datetimes ISO 8601, UTC)."""
    return {"id": payment.id, "txn_ref": payment.txn_ref, "amount": payment.amount,
            "currency": payment.currency, "status": payment.status,
            "provider": payment.provider, "provider_txn": payment.provider_txn,
            "created_at": payment.created_at.isoformat(),
            "paid_at": payment.paid_at.isoformat() if payment.paid_at else None}


def payment_status(p, dossier_code: str, *, user: Any = None) -> dict:
    """``{dossier_code, due, paid, amount, currency, closed, is_applicant, reason,
    reason_vi, payments: [...]}``.

    ``due``: the dossier's fee is payable online (level 4, amount above zero); ``reason``
    says why not otherwise. With ``user``, only those who may see the dossier get an answer.
    """
    with p.db.transaction() as session:
        dossier = _find_dossier(session, dossier_code)
        if user is not None and not can_see_dossier(user, dossier):
            raise not_found(Dossier, dossier_code, for_person=True)
        amount, currency, refusal = _fee(dossier)
        payments = _payments(session, dossier.id)
        return {"dossier_code": dossier.code, "due": refusal is None, "amount": amount,
                "currency": currency, "paid": any(x.status == "paid" for x in payments),
                "closed": dossier.status in CLOSED_STATUSES,
                "is_applicant": user is not None and dossier.applicant_id == user.id,
                "reason": refusal.message if refusal else None,
                "reason_vi": refusal.vi if refusal else None,
                "payments": [payment_view(x) for x in payments]}
