"""Accounts citizens and firms make themselves (đăng ký tài khoản), and passwords they
reset themselves (quên mật khẩu), both through a single-use link sent by e-mail.

A new account is inactive until its e-mail address is confirmed by the link
(:data:`CONFIRM_LIFETIME`). A reset link (:data:`RESET_LIFETIME`) sets a new password
once; setting it ends every session and API token of the account. Links are random
tokens of which only the hash is kept (``account_token``); using one marks it used.
Neither form tells a stranger whether an e-mail address has an account: the answer is
the same, and the address's owner gets the e-mail that explains.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import func, select, update

from . import accounts, audit, clock, outbox
from .admin.checks import EMAIL, MIN_PASSWORD, USERNAME, invalid, problem  # as the admin's form
from .errors import InvalidData
from .models import AccountToken, User

CONFIRM_LIFETIME = timedelta(hours=48)
RESET_LIFETIME = timedelta(hours=1)
#: CCCD (12 digits) or a tax code (10 digits, or 10-3 for a branch).
ID_NUMBER = re.compile(r"^(\d{12}|\d{10}(-\d{3})?)$")
KINDS = ("citizen", "firm")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _text(values: Mapping, name: str) -> str:
    return unicodedata.normalize("NFC", str(values.get(name) or "")).strip()


def _check(values: Mapping) -> tuple[dict, list[dict]]:
    """The registration form's values cleaned, and its problems (all of them at once)."""
    clean = {name: _text(values, name) for name in ("username", "full_name", "kind",
                                                    "email", "phone", "id_number")}
    clean["username"] = clean["username"].lower()
    clean["email"] = clean["email"].lower()
    password = str(values.get("password") or "")
    problems = []
    if not USERNAME.match(clean["username"]):
        problems.append(problem("username", "3 to 80 lower-case letters, digits, '.', '_' or "
                                 "'-', starting with a letter or digit.",
                                 "Từ 3 đến 80 ký tự: chữ thường không dấu, chữ số, '.', '_' "
                                 "hoặc '-', bắt đầu bằng chữ hoặc số."))
    if not clean["full_name"] or len(clean["full_name"]) > 255:
        problems.append(problem("full_name", "Enter your full name (or your firm's name).",
                                 "Hãy nhập họ và tên (hoặc tên doanh nghiệp)."))
    if clean["kind"] not in KINDS:
        problems.append(problem("kind", "Choose: citizen or firm.",
                                 "Hãy chọn: công dân hoặc doanh nghiệp."))
    if not EMAIL.match(clean["email"]) or len(clean["email"]) > 255:
        problems.append(problem("email", "Enter an e-mail address such as ten@example.vn: "
                                 "the confirmation link is sent there.",
                                 "Hãy nhập địa chỉ thư điện tử, ví dụ ten@example.vn: liên "
                                 "kết xác nhận được gửi tới địa chỉ này."))
    if not ID_NUMBER.match(clean["id_number"]):
        problems.append(problem("id_number", "Enter your citizen ID (12 digits) or your "
                                 "firm's tax code (10 digits, or 10-3 for a branch).",
                                 "Hãy nhập số CCCD (12 chữ số) hoặc mã số thuế của doanh "
                                 "nghiệp (10 chữ số, hoặc 10-3 với chi nhánh)."))
    if len(clean["phone"]) > 40:
        problems.append(problem("phone", "At most 40 characters.", "Tối đa 40 ký tự."))
    problems.extend(password_problems(password))
    if password != str(values.get("password_again") or ""):
        problems.append(problem("password_again", "The two passwords differ.",
                                 "Hai lần nhập mật khẩu không khớp."))
    if any(unicodedata.category(ch) == "Cc" for value in clean.values() for ch in value):
        problems.append(problem("full_name", "Remove the control characters.",
                                 "Hãy xoá các ký tự điều khiển."))
    clean["password"] = password
    return clean, problems


def password_problems(password: str) -> list[dict]:
    if len(password) < MIN_PASSWORD:
        return [problem("password", f"At least {MIN_PASSWORD} characters.",
                         f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")]
    if len(password) > 256:
        return [problem("password", "At most 256 characters.", "Tối đa 256 ký tự.")]
    return []


def _new_token(session, user_id: int, purpose: str, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(AccountToken(token_hash=_digest(token), user_id=user_id, purpose=purpose,
                             created_at=now, expires_at=now + lifetime))
    return token


def _link(p, path: str, token: str) -> str:
    return f"{p.settings.public_url}{path}?token={token}"


def register(p, values: Mapping, *, lang: str = "vi") -> None:
    """Create an inactive account and e-mail its confirmation link; :class:`InvalidData`
    listing every problem. An e-mail address that has an account already gets a reminder
    instead (the page says the same either way)."""
    clean, problems = _check(values)
    if problems:
        raise invalid(problems)
    with p.db.transaction() as session:
        if session.execute(select(User.id).where(User.username == clean["username"])).first():
            raise invalid([problem("username", "This user name is taken: choose another.",
                                     "Tên đăng nhập này đã có người dùng: hãy chọn tên khác.")])
        existing = session.execute(select(User.username).where(
            func.lower(User.email) == clean["email"])).scalars().first()
        if existing is not None:
            _mail(session, clean["email"], "exists", lang, username=existing,
                  link=f"{p.settings.public_url}/auth/quen-mat-khau")
            return
        user = User(username=clean["username"], full_name=clean["full_name"],
                    kind=clean["kind"], email=clean["email"], phone=clean["phone"],
                    id_number=clean["id_number"], active=False,
                    password_hash=accounts.hash_password(clean["password"]))
        session.add(user)
        session.flush()
        token = _new_token(session, user.id, "confirm", CONFIRM_LIFETIME)
        _mail(session, user.email, "confirm", lang, name=user.full_name,
              link=_link(p, "/auth/xac-nhan", token), hours=int(CONFIRM_LIFETIME.total_seconds()
                                                                // 3600))
        audit.append(session, actor=user.username, action="account_registered",
                     detail={"user": user.username, "kind": user.kind})


def _use(session, token: str, purpose: str) -> AccountToken:
    """The unused, unexpired token of ``purpose``, marked used; :class:`InvalidData` else."""
    row = session.execute(select(AccountToken).where(
        AccountToken.token_hash == _digest(token or ""),
        AccountToken.purpose == purpose).with_for_update()).scalar()
    if row is None or row.used_at is not None or row.expires_at < clock.now():
        raise InvalidData("This link is not valid any more: it has been used or has expired.",
                          vi="Liên kết này không còn hiệu lực: đã được dùng hoặc đã hết hạn.",
                          details=[{"field": "token", "message": "used or expired",
                                    "message_vi": "đã dùng hoặc hết hạn"}])
    row.used_at = clock.now()
    return row


def confirm(p, token: str) -> str:
    """Activate the account the confirmation link belongs to; its user name."""
    with p.db.transaction() as session:
        row = _use(session, token, "confirm")
        user = session.get(User, row.user_id)
        user.active = True
        audit.append(session, actor=user.username, action="account_confirmed",
                     detail={"user": user.username})
        return user.username


def request_reset(p, email: str, *, lang: str = "vi") -> None:
    """E-mail a reset link to each active account with this address (nothing otherwise:
    the page says the same)."""
    address = unicodedata.normalize("NFC", email or "").strip().lower()
    if not EMAIL.match(address):
        raise invalid([problem("email", "Enter the e-mail address of your account.",
                                 "Hãy nhập địa chỉ thư điện tử của tài khoản.")])
    with p.db.transaction() as session:
        users = session.execute(select(User).where(func.lower(User.email) == address,
                                                   User.active.is_(True))).scalars().all()
        for user in users:
            token = _new_token(session, user.id, "reset", RESET_LIFETIME)
            _mail(session, address, "reset", lang, name=user.full_name,
                  username=user.username, link=_link(p, "/auth/dat-lai-mat-khau", token),
                  minutes=int(RESET_LIFETIME.total_seconds() // 60))


def check_reset(p, token: str) -> bool:
    """Whether a reset link may still be used (to show its form, or say it expired)."""
    with p.db.read() as session:
        row = session.execute(select(AccountToken.used_at, AccountToken.expires_at).where(
            AccountToken.token_hash == _digest(token or ""),
            AccountToken.purpose == "reset")).first()
    return row is not None and row.used_at is None and row.expires_at >= clock.now()


def reset_password(p, token: str, password: str, password_again: str) -> str:
    """Set the new password through a reset link (once); every session and API token of the
    account ends, and its other reset links too. The user name."""
    problems = password_problems(password)
    if password != password_again:
        problems.append(problem("password_again", "The two passwords differ.",
                                 "Hai lần nhập mật khẩu không khớp."))
    if problems:
        raise invalid(problems)
    with p.db.transaction() as session:
        row = _use(session, token, "reset")
        user = session.get(User, row.user_id)
        accounts.set_password(user, password)
        session.execute(update(AccountToken).where(
            AccountToken.user_id == user.id, AccountToken.purpose == "reset",
            AccountToken.used_at.is_(None)).values(used_at=clock.now()))
        audit.append(session, actor=user.username, action="password_reset_by_email",
                     detail={"user": user.username})
        return user.username


_MAILS = {
    "confirm": {
        "vi": ("Xác nhận tài khoản Một Cửa",
               "Kính gửi {name},\n\nĐể kích hoạt tài khoản trên Cổng dịch vụ công Một Cửa, "
               "hãy mở liên kết sau (có hiệu lực {hours} giờ, dùng một lần):\n\n{link}\n\n"
               "Nếu bạn không đăng ký, hãy bỏ qua thư này."),
        "en": ("Confirm your Một Cửa account",
               "Dear {name},\n\nTo activate your account on the Một Cửa public-service "
               "portal, open this link (valid for {hours} hours, once):\n\n{link}\n\n"
               "If you did not register, ignore this e-mail."),
    },
    "exists": {
        "vi": ("Tài khoản Một Cửa của bạn",
               "Có người vừa đăng ký tài khoản mới bằng địa chỉ thư này, nhưng địa chỉ này "
               "đã có tài khoản: {username}.\n\nNếu bạn quên mật khẩu, hãy đặt lại tại:\n\n"
               "{link}\n\nNếu không phải bạn, hãy bỏ qua thư này."),
        "en": ("Your Một Cửa account",
               "Someone just registered with this e-mail address, which already has an "
               "account: {username}.\n\nIf you forgot its password, reset it at:\n\n{link}"
               "\n\nIf this was not you, ignore this e-mail."),
    },
    "reset": {
        "vi": ("Đặt lại mật khẩu Một Cửa",
               "Kính gửi {name},\n\nĐể đặt mật khẩu mới cho tài khoản {username}, hãy mở "
               "liên kết sau (có hiệu lực {minutes} phút, dùng một lần):\n\n{link}\n\n"
               "Nếu bạn không yêu cầu, hãy bỏ qua thư này: mật khẩu hiện tại không đổi."),
        "en": ("Reset your Một Cửa password",
               "Dear {name},\n\nTo choose a new password for the account {username}, open "
               "this link (valid for {minutes} minutes, once):\n\n{link}\n\nIf you did not "
               "ask for this, ignore this e-mail: your password stays as it is."),
    },
}


def _mail(session, recipient: str, kind: str, lang: str, **values) -> None:
    subject, body = _MAILS[kind]["en" if lang == "en" else "vi"]
    outbox.enqueue_email(session, key=f"account:{kind}:{secrets.token_hex(8)}",
                         recipient=recipient, subject=subject, body=body.format(**values))
