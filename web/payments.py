"""Paying a dossier's fee online (level 4): the applicant's payment page, the redirect to
the gateway, and the gateway's two callbacks.

- ``GET /ho-so/<code>/thanh-toan``: the fee, what has been paid, the pay button.
- ``POST /ho-so/<code>/thanh-toan`` (applicant, CSRF): open or reuse the pending payment
  and redirect to the gateway.
- ``GET /payments/vnpay/return``: the applicant's browser coming back; a report page.
- ``GET /payments/vnpay/ipn``: the gateway's server-to-server notification; JSON.

The callbacks are GET requests, which the CSRF check never blocks (it guards unsafe
methods only); they authenticate by their HMAC signature, not by a session.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal

from engine import dossiers, payments
from engine.errors import Conflict, InvalidData

from . import platform
from .auth import login_required
from .i18n import current_lang

bp = Blueprint("payments", __name__)


@bp.app_template_filter("amount")
def amount_filter(value) -> str:
    """An amount of đồng with the reader's digit grouping (150.000 / 150,000)."""
    return format_decimal(value) if isinstance(value, int | float) else ""


def _gateway_origin() -> str:
    """The gateway's origin, which the pay form's redirect must be allowed to reach."""
    parts = urlsplit(payments.gateway_for(platform()).pay_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@bp.route("/ho-so/<code>/thanh-toan", methods=("GET",))
@login_required
def pay_page(code: str):
    """The dossier's fee and payments, with the button that starts paying."""
    view = dossiers.get_dossier(platform(), code, user=g.user)
    status = payments.payment_status(platform(), code, user=g.user)
    response = current_app.make_response(render_template(
        "payments/pay.html", dossier=view, payment=status))
    # Browsers apply form-action to the redirect that follows a form: let it reach the gateway.
    origin = _gateway_origin()
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'self'; "
        f"base-uri 'self'; form-action 'self'{' ' + origin if origin else ''}")
    return response


@bp.route("/ho-so/<code>/thanh-toan", methods=("POST",))
@login_required
def start(code: str):
    """Send the applicant to the gateway; a refusal (no fee due, already paid) comes back
    to the payment page with its reason."""
    p = platform()
    try:
        result = payments.start_payment(
            p, g.user, code, client_ip=request.remote_addr or "127.0.0.1",
            return_url=p.settings.public_url + url_for(".vnpay_return"),
            locale="en" if current_lang() == "en" else "vn")
    except (InvalidData, Conflict) as exc:
        flash(exc.message if current_lang() == "en" else exc.vi, "error")
        return redirect(url_for(".pay_page", code=code))
    return redirect(result["url"])


@bp.route("/payments/vnpay/return")
def vnpay_return():
    """The gateway sends the applicant back here; the page says what happened."""
    report = payments.handle_return(platform(), request.args.to_dict())
    status = 400 if report["status"] == "invalid" else 200
    return render_template("payments/result.html", report=report), status


@bp.route("/payments/vnpay/ipn")
def vnpay_ipn():
    """VNPay's IPN: record the result, answer ``{"RspCode", "Message"}`` (always HTTP 200,
    as the gateway reads the code, not the status)."""
    try:
        answer = payments.handle_ipn(platform(), request.args.to_dict())
    except Exception:
        current_app.logger.exception("VNPay IPN could not be handled")
        answer = {"RspCode": "99", "Message": payments.IPN_ANSWERS["99"]}
    return jsonify(answer)


def init_app(app) -> None:
    """Register the payment pages and, when payments go to the portal's own sandbox of the
    protocol, the sandbox itself (``/sandbox/vnpay``). Safe to call twice."""
    if "payments" not in app.blueprints:
        app.register_blueprint(bp)
    if payments.sandbox_enabled(app.extensions["motcua"]) and "sandbox_vnpay" not in app.blueprints:
        from . import sandbox_vnpay

        app.register_blueprint(sandbox_vnpay.bp, url_prefix="/sandbox/vnpay")
