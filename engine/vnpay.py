"""The payment provider interface and VNPay's protocol (Cổng thanh toán VNPAY, version 2.1.0).

What the protocol is, as VNPay documents it (sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/
pay.html and its sample code for PHP, Java, .NET and Python):

- **Pay**: the merchant redirects the buyer (GET) to the gateway with ``vnp_Version=2.1.0``,
  ``vnp_Command=pay``, ``vnp_TmnCode``, ``vnp_Amount`` (đồng × 100: no decimal separator),
  ``vnp_CurrCode=VND``, ``vnp_TxnRef`` (the merchant's order, unique), ``vnp_OrderInfo``
  (ASCII, no diacritics), ``vnp_OrderType``, ``vnp_Locale`` (``vn``/``en``),
  ``vnp_ReturnUrl``, ``vnp_IpAddr``, ``vnp_CreateDate`` and ``vnp_ExpireDate``
  (``yyyyMMddHHmmss``, GMT+7), then ``vnp_SecureHash``.
- **Signature**: HMAC-SHA512 with the terminal's secret over the ``vnp_`` parameters
  except ``vnp_SecureHash``/``vnp_SecureHashType``, sorted by name, each written
  ``name=value`` with the value URL-encoded as a form value (space → ``+``; the Python
  sample's ``urllib.parse.quote_plus``, PHP's ``urlencode``), joined by ``&``; lower-case hex.
  Since 2.1.0 ``vnp_SecureHashType`` is not sent.
- **Return** (the buyer's browser, to ``vnp_ReturnUrl``) and **IPN** (the gateway's server
  calling the merchant's registered IPN URL, GET) carry ``vnp_TmnCode``, ``vnp_Amount``,
  ``vnp_BankCode``, ``vnp_BankTranNo``, ``vnp_CardType``, ``vnp_OrderInfo``,
  ``vnp_PayDate``, ``vnp_ResponseCode``, ``vnp_TransactionNo``,
  ``vnp_TransactionStatus``, ``vnp_TxnRef``, signed the same way. ``00`` in both
  ``vnp_ResponseCode`` and ``vnp_TransactionStatus`` means paid; ``24`` is a buyer's cancel.
- **IPN answer**: JSON ``{"RspCode": "00", "Message": "Confirm Success"}``; ``01`` order
  not found, ``02`` order already confirmed, ``04`` invalid amount, ``97`` invalid
  signature, ``99`` unknown error.

Empty values: the Java and .NET samples leave empty parameters out of the signed data,
the PHP and Python ones keep them. We never send an empty parameter, and accept a callback
signed either way (both need the secret).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote_plus, urlsplit

from . import clock

VERSION = "2.1.0"
SANDBOX_PATH = "/sandbox/vnpay/pay"
# The local sandbox's terminal: a stand-in, never valid at VNPay.
DEMO_TMN_CODE = "MOTCUA01"
DEMO_HASH_SECRET = "motcua-sandbox-secret-not-for-production"
EXPIRE_AFTER = timedelta(minutes=15)
DATE_FORMAT = "%Y%m%d%H%M%S"
_HASH_KEYS = frozenset({"vnp_SecureHash", "vnp_SecureHashType"})

# vnp_ResponseCode values VNPay documents for the pay command, in both languages.
RESPONSE_CODES = {
    "00": ("Giao dịch thành công.", "The payment succeeded."),
    "07": ("Trừ tiền thành công, giao dịch bị nghi ngờ.",
           "Money was taken but the transaction is suspected of fraud."),
    "09": ("Thẻ/tài khoản chưa đăng ký dịch vụ InternetBanking tại ngân hàng.",
           "The card or account is not registered for Internet Banking."),
    "10": ("Xác thực thông tin thẻ/tài khoản không đúng quá 3 lần.",
           "Card or account details were wrong more than 3 times."),
    "11": ("Đã hết hạn chờ thanh toán.", "The time allowed to pay has passed."),
    "12": ("Thẻ/tài khoản bị khóa.", "The card or account is locked."),
    "13": ("Nhập sai mật khẩu xác thực giao dịch (OTP).", "Wrong one-time password (OTP)."),
    "24": ("Người nộp đã hủy giao dịch.", "The payment was cancelled."),
    "51": ("Tài khoản không đủ số dư.", "Insufficient balance."),
    "65": ("Tài khoản đã vượt quá hạn mức giao dịch trong ngày.",
           "The account's daily limit is exceeded."),
    "75": ("Ngân hàng thanh toán đang bảo trì.", "The bank is under maintenance."),
    "79": ("Nhập sai mật khẩu thanh toán quá số lần quy định.",
           "Wrong payment password too many times."),
    "99": ("Lỗi khác.", "Other error."),
}


def response_message(code: str | None) -> tuple[str, str]:
    """The documented meaning of a ``vnp_ResponseCode`` as ``(vi, en)``."""
    return RESPONSE_CODES.get(code or "", RESPONSE_CODES["99"])


def is_sandbox_url(url: str) -> bool:
    """Whether ``url`` is the portal's own sandbox of the protocol (whatever its host)."""
    return urlsplit(url).path.rstrip("/") == SANDBOX_PATH


@dataclass(frozen=True)
class CallbackResult:
    """A return or IPN callback, checked. ``amount`` is in đồng (None if malformed)."""

    valid_signature: bool
    txn_ref: str
    amount: int | None
    success: bool
    provider_txn: str
    raw: dict = field(default_factory=dict)
    response_code: str = ""
    paid_at: datetime | None = None


class PaymentProvider(Protocol):
    """What the payment code needs of a gateway."""

    name: str

    def create_payment_url(self, payment, return_url: str, client_ip: str, *,
                           locale: str = "vn") -> str:
        """The URL to redirect the payer to, for ``payment`` (txn_ref, amount, created_at)."""
        ...

    def verify_callback(self, params: Mapping[str, str]) -> CallbackResult:
        """Check a return or IPN callback's signature and read what it says."""
        ...


def canonical(params: Mapping[str, object], *, keep_empty: bool = False) -> str:
    """The signed data: ``vnp_`` parameters but the hash, sorted, ``name=quote_plus(value)``."""
    items = sorted((str(k), str(v)) for k, v in params.items()
                   if str(k).startswith("vnp_") and k not in _HASH_KEYS
                   and (keep_empty or str(v) != ""))
    return "&".join(f"{k}={quote_plus(v)}" for k, v in items)


def sign(secret: str, params: Mapping[str, object]) -> str:
    """``vnp_SecureHash`` of ``params``: HMAC-SHA512 hex of :func:`canonical`."""
    return hmac.new(secret.encode("utf-8"), canonical(params).encode("utf-8"),
                    hashlib.sha512).hexdigest()


def signature_ok(secret: str, params: Mapping[str, object]) -> bool:
    """Whether ``params`` carry a valid ``vnp_SecureHash`` (empty values left out or kept)."""
    received = str(params.get("vnp_SecureHash") or "").strip().lower()
    if not received:
        return False
    variants = [False] + ([True] if any(str(v) == "" for v in params.values()) else [])
    for keep_empty in variants:
        data = canonical(params, keep_empty=keep_empty).encode("utf-8")
        expected = hmac.new(secret.encode("utf-8"), data, hashlib.sha512).hexdigest()
        if hmac.compare_digest(expected, received):
            return True
    return False


def signed_query(secret: str, params: Mapping[str, object]) -> str:
    """``params`` as a query string in the signed order, with ``vnp_SecureHash`` last."""
    return f"{canonical(params)}&vnp_SecureHash={sign(secret, params)}"


def sandbox_result(order: Mapping[str, str], *, paid: bool) -> dict[str, str]:
    """What the portal's stand-in gateway answers for the ``order`` (the pay redirect's
    parameters): paid now (response ``00``) or cancelled (``24``), unsigned."""
    result = {
        "vnp_TmnCode": order["vnp_TmnCode"],
        "vnp_Amount": order["vnp_Amount"],
        "vnp_BankCode": "NCB" if paid else "VNPAY",
        "vnp_OrderInfo": order["vnp_OrderInfo"],
        "vnp_PayDate": format_date(clock.now()),
        "vnp_ResponseCode": "00" if paid else "24",
        "vnp_TransactionNo": str(secrets.randbelow(9 * 10**7) + 10**7) if paid else "0",
        "vnp_TransactionStatus": "00" if paid else "02",
        "vnp_TxnRef": order["vnp_TxnRef"],
    }
    if paid:
        result.update(vnp_BankTranNo=f"VNP{result['vnp_TransactionNo']}", vnp_CardType="ATM")
    return result


def format_date(moment: datetime) -> str:
    """``yyyyMMddHHmmss`` in Vietnam's time (GMT+7), as the protocol dates are written."""
    return moment.astimezone(clock.VIETNAM).strftime(DATE_FORMAT)


def parse_date(text: str | None) -> datetime | None:
    try:
        return datetime.strptime(text or "", DATE_FORMAT).replace(tzinfo=clock.VIETNAM)
    except ValueError:
        return None


def parse_amount(text: str | None) -> int | None:
    """``vnp_Amount`` (đồng × 100) back to đồng; None unless a whole number of đồng."""
    if not text or not text.isdigit():
        return None
    value = int(text)
    return value // 100 if value % 100 == 0 else None


def order_info(payment) -> str:
    """ASCII without diacritics, as the gateway asks."""
    dossier = getattr(payment, "dossier", None)
    code = dossier.code if dossier is not None else payment.txn_ref
    return f"Thanh toan le phi ho so {code}"


class VNPayGateway:
    """:class:`PaymentProvider` for VNPay: ``tmn_code`` (vnp_TmnCode), ``hash_secret``
    (the terminal's secret), ``pay_url`` (the gateway's pay page)."""

    name = "vnpay"

    def __init__(self, tmn_code: str, hash_secret: str, pay_url: str):
        self.tmn_code = tmn_code
        self.hash_secret = hash_secret
        self.pay_url = pay_url

    def __repr__(self) -> str:  # never show the secret
        return f"VNPayGateway(tmn_code={self.tmn_code!r}, pay_url={self.pay_url!r})"

    def payment_params(self, payment, return_url: str, client_ip: str, *,
                       locale: str = "vn") -> dict[str, str]:
        """The unsigned parameters of the pay redirect (dates from ``payment.created_at``,
        so the same pending payment always gives the same URL)."""
        created = payment.created_at
        return {
            "vnp_Version": VERSION,
            "vnp_Command": "pay",
            "vnp_TmnCode": self.tmn_code,
            "vnp_Amount": str(int(payment.amount) * 100),
            "vnp_CurrCode": "VND",
            "vnp_TxnRef": payment.txn_ref,
            "vnp_OrderInfo": order_info(payment),
            "vnp_OrderType": "other",
            "vnp_Locale": "en" if locale == "en" else "vn",
            "vnp_ReturnUrl": return_url,
            "vnp_IpAddr": client_ip or "127.0.0.1",
            "vnp_CreateDate": format_date(created),
            "vnp_ExpireDate": format_date(created + EXPIRE_AFTER),
        }

    def create_payment_url(self, payment, return_url: str, client_ip: str, *,
                           locale: str = "vn") -> str:
        params = self.payment_params(payment, return_url, client_ip, locale=locale)
        joiner = "&" if "?" in self.pay_url else "?"
        return f"{self.pay_url}{joiner}{signed_query(self.hash_secret, params)}"

    def verify_callback(self, params: Mapping[str, str]) -> CallbackResult:
        raw = {str(k): str(v) for k, v in params.items()}
        code = raw.get("vnp_ResponseCode", "")
        status = raw.get("vnp_TransactionStatus", "00")
        return CallbackResult(
            valid_signature=signature_ok(self.hash_secret, raw),
            txn_ref=raw.get("vnp_TxnRef", ""),
            amount=parse_amount(raw.get("vnp_Amount")),
            success=code == "00" and status == "00",
            provider_txn=raw.get("vnp_TransactionNo", ""),
            raw=raw, response_code=code, paid_at=parse_date(raw.get("vnp_PayDate")))
