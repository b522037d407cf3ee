"""A local sandbox of VNPay's payment protocol — a stand-in for the bank, not VNPay.

It lets the demo and the tests run the whole exchange the portal has with the real
gateway: it is served only when ``MOTCUA_VNPAY_URL`` is unset or points here
(``/sandbox/vnpay/pay``), and its pages say plainly that no money moves.

- ``GET /sandbox/vnpay/pay`` checks the signed query exactly as the gateway does
  (terminal code, version, command, currency, amount, expiry, HMAC-SHA512 signature —
  a bad signature gets the _("Sai chữ ký") page), then shows the order with Pay / Cancel.
- ``POST /sandbox/vnpay/pay`` (the buttons; the signed query travels in a hidden field and
  is checked again) builds the signed result — ``vnp_ResponseCode`` ``00``, or ``24`` for
  a cancel — delivers it to the portal's IPN URL server to server, then redirects the
  browser to ``vnp_ReturnUrl`` with the same signed parameters, as the gateway does.

The IPN is delivered in-process, through the application's WSGI interface, from a thread
of its own (a fresh context, like a separate server's request): that works in the tests
and under waitress alike, and exercises the real IPN view, routing and JSON included.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import clock, payments, vnpay

from . import platform

bp = Blueprint("sandbox_vnpay", __name__)
logger = logging.getLogger("motcua.sandbox_vnpay")

REQUIRED = ("vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_Amount", "vnp_CurrCode",
            "vnp_TxnRef", "vnp_OrderInfo", "vnp_ReturnUrl", "vnp_IpAddr", "vnp_CreateDate")


class SandboxRefusal(Exception):
    """The gateway would refuse this order: ``code`` and a message for the page."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _check(params: dict[str, str]) -> tuple[vnpay.VNPayGateway, int]:
    """Check an order as the gateway does; ``(gateway, amount in đồng)``."""
    gateway = payments.gateway_for(platform())
    if not vnpay.signature_ok(gateway.hash_secret, params):
        raise SandboxRefusal("97", _("Sai chữ ký"))
    missing = [key for key in REQUIRED if not params.get(key)]
    if missing:
        raise SandboxRefusal("03", _("Thiếu tham số: %(names)s", names=", ".join(missing)))
    if params["vnp_TmnCode"] != gateway.tmn_code:
        raise SandboxRefusal("02", _("Mã website (vnp_TmnCode) không đúng"))
    if params["vnp_Version"] != vnpay.VERSION or params["vnp_Command"] != "pay":
        raise SandboxRefusal("03", _("Phiên bản hoặc lệnh không được hỗ trợ"))
    if params["vnp_CurrCode"] != "VND":
        raise SandboxRefusal("03", _("Chỉ hỗ trợ đơn vị tiền tệ VND"))
    amount = vnpay.parse_amount(params["vnp_Amount"])
    if not amount:
        raise SandboxRefusal("04", _("Số tiền không hợp lệ"))
    expires = vnpay.parse_date(params.get("vnp_ExpireDate"))
    if expires is not None and expires < clock.now():
        raise SandboxRefusal("11", _("Đã hết hạn chờ thanh toán"))
    return gateway, amount


def _refusal_page(error: SandboxRefusal):
    return render_template("payments/sandbox_error.html", error=error), 400


@bp.route("/pay", methods=("GET",))
def order():
    """The order page of the stand-in gateway."""
    params = request.args.to_dict()
    try:
        _gateway, amount = _check(params)
    except SandboxRefusal as error:
        return _refusal_page(error)
    return render_template("payments/sandbox_pay.html", params=params, amount=amount,
                           query=request.query_string.decode("ascii", "replace"))


@bp.route("/pay", methods=("POST",))
def decide():
    """Pay or cancel: notify the portal's IPN, then send the browser back to the merchant."""
    params = dict(parse_qsl(request.form.get("query", ""), keep_blank_values=True))
    try:
        gateway, _amount = _check(params)
    except SandboxRefusal as error:
        return _refusal_page(error)
    result = vnpay.sandbox_result(params, paid=request.form.get("action") == "pay")
    signed = vnpay.signed_query(gateway.hash_secret, result)
    answer = deliver_ipn(url_for("payments.vnpay_ipn"), signed)
    if answer.get("RspCode") not in ("00", "02"):
        logger.warning("Sandbox IPN for %s answered %s", params["vnp_TxnRef"], answer)
    return_url = params["vnp_ReturnUrl"]
    return redirect(f"{return_url}{'&' if '?' in return_url else '?'}{signed}")


def deliver_ipn(path: str, query: str) -> dict:
    """GET the portal's IPN ``path`` with ``query`` as a separate server would, and return
    its JSON answer (``{"RspCode": "99"}`` when it gives none)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def call() -> dict:
        response = app.test_client().get(path, query_string=query,
                                         headers={"Accept": "application/json"})
        return response.get_json(silent=True) or {"RspCode": "99", "Message": "no answer"}

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=30)
