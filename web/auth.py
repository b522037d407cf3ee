"""Signing in and out of the pages (đăng nhập), and who the current user is.

The session cookie keeps only a session token; the session itself lives on the server
(:mod:`engine.sessions`), so logging out, a password change or an administrator's "sign out
everywhere" ends it even for a copied cookie, as do its idle and absolute lifetimes. The
user is loaded again on every request (``g.user``), so a deactivated account or a changed
role takes effect at once. Sign-in attempts are throttled (:mod:`web.limits`).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from engine import accounts, sessions

from . import limits, platform

bp = Blueprint("auth", __name__)

View = TypeVar("View", bound=Callable[..., Any])
#: The session cookie's key for the server-side session token.
SESSION_KEY = "sid"


@bp.before_app_request
def load_current_user() -> None:
    """Put the signed-in user (or None) in ``g.user`` for the page blueprints."""
    g.user = None
    if request.endpoint == "static" or request.blueprint == "api":
        return
    token = session.get(SESSION_KEY)
    if token is None:
        return
    user_id = sessions.resolve(platform(), token)
    if user_id is not None:
        g.user = accounts.load_user(platform(), user_id)
    if g.user is None:  # the session ended, or the account is gone or deactivated
        session.pop(SESSION_KEY, None)


def start_session(user) -> None:
    """Sign ``user`` in on this browser: a fresh session (nothing from before the login
    survives, the CSRF token included; the language choice stays)."""
    lang = session.get("lang")
    session.clear()
    session[SESSION_KEY] = sessions.start(platform(), user.id)
    session.permanent = True  # the cookie lasts the session's absolute lifetime, no longer
    if lang:
        session["lang"] = lang


def current_session_token() -> str | None:
    """This browser's session token (to keep it when the user changes their password)."""
    return session.get(SESSION_KEY)


def login_required(view: View) -> View:
    """Send anonymous visitors to the login page, then back here."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=_here()))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def staff_required(view: View) -> View:
    """Like :func:`login_required`, and 403 for citizens and firms."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=_here()))
        if not g.user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _here() -> str:
    """The current page as a relative URL to come back to (GET only: a POST cannot repeat)."""
    if request.method != "GET":
        return request.referrer if _is_local(request.referrer) else "/"
    return request.full_path.rstrip("?")


def _is_local(target: str | None) -> bool:
    """Only paths on this site: ``/ho-so``, never ``//evil.example`` or ``https://…``.

    Browsers drop tabs and line breaks from a URL and read ``\\`` as ``/``, so
    ``/\\t/evil.example`` is ``//evil.example`` to them: a target with any whitespace,
    control character or backslash is refused outright (a line break would also make an
    invalid ``Location`` header).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return not any(ch.isspace() or ch == "\\" or unicodedata.category(ch)[0] == "C"
                   for ch in target)


def _after_login_url(user) -> str:
    target = request.values.get("next")
    if _is_local(target):
        return target
    return url_for("workspace.inbox") if user.is_staff else url_for("portal.my_dossiers")


@bp.route("/login", methods=("GET", "POST"))
def login():
    """GET: the form. POST: check the password; on success start a fresh session."""
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        user = accounts.authenticate(platform(), username, password) if username else None
        if user is None:
            limits.login_failed()
            # One message for an unknown name and a wrong password: no user enumeration.
            error = _("Tên đăng nhập hoặc mật khẩu không đúng. Vui lòng kiểm tra và thử lại.")
        else:
            start_session(user)
            flash(_("Xin chào, %(name)s.", name=user.full_name), "success")
            return redirect(_after_login_url(user))
    return render_template("login.html", error=error, username=username,
                           next=request.values.get("next", ""))


@bp.route("/logout", methods=("POST",))
def logout():
    """End the session, on the server too (the language choice stays)."""
    lang = session.get("lang")
    token = session.get(SESSION_KEY)
    if token:
        sessions.end(platform(), token)
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("portal.catalogue"))
