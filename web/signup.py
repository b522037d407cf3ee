"""The account pages anyone can open: register (đăng ký), confirm the e-mail address,
forgotten password, choose a new password. Routes of the ``auth`` blueprint
(``/auth/dang-ky`` …); the work is :mod:`engine.signup`'s; throttled in :mod:`web.limits`.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import signup
from engine.errors import InvalidData

from . import platform
from .auth import bp
from .formparse import field_errors
from .i18n import current_lang

_REGISTER_FIELDS = ("username", "full_name", "kind", "email", "phone", "id_number")


@bp.route("/dang-ky", methods=("GET", "POST"))
def register():
    """GET: the form. POST: create the inactive account and e-mail the confirmation link."""
    if request.method == "GET":
        return render_template("account_register.html", values={"kind": "citizen"}, errors={})
    values = {name: request.form.get(name, "") for name in _REGISTER_FIELDS}
    try:
        signup.register(platform(), {**values, "password": request.form.get("password", ""),
                                     "password_again": request.form.get("password_again", "")},
                        lang=current_lang())
    except InvalidData as exc:
        return render_template("account_register.html", values=values,
                               errors=field_errors(exc, current_lang())), 422
    return render_template("account_message.html", title=_("Kiểm tra hộp thư"), message=_(
        "Chúng tôi đã gửi thư tới %(email)s. Hãy mở liên kết trong thư để kích hoạt tài "
        "khoản (liên kết có hiệu lực 48 giờ).", email=values["email"].strip().lower()))


@bp.route("/xac-nhan")
def confirm():
    """The link of the confirmation e-mail: activate the account, then sign in."""
    try:
        username = signup.confirm(platform(), request.args.get("token", ""))
    except InvalidData:
        return render_template("account_message.html", title=_("Liên kết không còn hiệu lực"),
                               message=_("Liên kết xác nhận đã được dùng hoặc đã hết hạn. "
                                         "Nếu tài khoản chưa kích hoạt, hãy đăng ký lại.")), 410
    flash(_("Tài khoản %(username)s đã được kích hoạt. Mời bạn đăng nhập.",
            username=username), "success")
    return redirect(url_for("auth.login"))


@bp.route("/quen-mat-khau", methods=("GET", "POST"))
def forgot_password():
    """GET: ask for the account's e-mail address. POST: e-mail a reset link (the answer is
    the same whether or not the address has an account)."""
    email = request.form.get("email", "")
    if request.method == "GET":
        return render_template("account_forgot.html", email="", errors={})
    try:
        signup.request_reset(platform(), email, lang=current_lang())
    except InvalidData as exc:
        return render_template("account_forgot.html", email=email,
                               errors=field_errors(exc, current_lang())), 422
    return render_template("account_message.html", title=_("Kiểm tra hộp thư"), message=_(
        "Nếu %(email)s là địa chỉ của một tài khoản, thư hướng dẫn đặt lại mật khẩu đã được "
        "gửi tới đó (liên kết có hiệu lực 60 phút).", email=email.strip().lower()))


@bp.route("/dat-lai-mat-khau", methods=("GET", "POST"))
def reset_password():
    """The link of the reset e-mail: choose a new password (once)."""
    token = request.values.get("token", "")
    expired = render_template("account_message.html", title=_("Liên kết không còn hiệu lực"),
                              message=_("Liên kết đặt lại mật khẩu đã được dùng hoặc đã hết "
                                        "hạn. Hãy yêu cầu liên kết mới."))
    if request.method == "GET":
        if not signup.check_reset(platform(), token):
            return expired, 410
        return render_template("account_reset.html", token=token, errors={})
    try:
        username = signup.reset_password(platform(), token, request.form.get("password", ""),
                                         request.form.get("password_again", ""))
    except InvalidData as exc:
        if any(d.get("field") == "token" for d in exc.details):
            return expired, 410
        return render_template("account_reset.html", token=token,
                               errors=field_errors(exc, current_lang())), 422
    flash(_("Đã đặt mật khẩu mới cho %(username)s. Mời bạn đăng nhập.", username=username),
          "success")
    return redirect(url_for("auth.login"))
