"""Cross-site request forgery protection for the HTML pages.

Every page form carries a per-session token in a hidden ``csrf_token`` field
(``{{ csrf_field() }}`` in a template); every POST to a page blueprint must send it back.
The JSON API under ``/api/v1`` is exempt: it authenticates with bearer tokens, which a
browser never sends on its own, so a forged cross-site request carries no credentials.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, current_app, request, session
from markupsafe import Markup
from werkzeug.exceptions import BadRequest

from .errors import error_response

FIELD = "csrf_token"
_SESSION_KEY = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The stand-ins of outside services speak their protocols to machines, not pages.
_EXEMPT_BLUEPRINTS = frozenset({"api", "sandbox_national", "sandbox_sms", "sandbox_oidc_api",
                                "sandbox_tsa"})


class CSRFError(BadRequest):
    """The form's token is missing or does not match the session (stale page, forgery)."""

    description = "The form is out of date or did not come from this site."


def token() -> str:
    """The session's token, created on first use."""
    if _SESSION_KEY not in session:
        session[_SESSION_KEY] = secrets.token_urlsafe(32)
    return session[_SESSION_KEY]


def field() -> Markup:
    """The hidden input every POST form includes."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, token())


def _check() -> None:
    if request.method in _SAFE_METHODS or not current_app.config.get("CSRF_ENABLED", True):
        return
    if request.blueprint in _EXEMPT_BLUEPRINTS or request.path.startswith("/api/"):
        return
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(_SESSION_KEY) or ""
    if not (sent and expected and hmac.compare_digest(sent, expected)):
        raise CSRFError()


def _handle(error: CSRFError) -> Response:
    body = {
        "error": "CSRFError",
        "message": "This form has expired or did not come from this site. "
                   "Reload the page and try again.",
        "message_vi": "Biểu mẫu đã hết hạn hoặc không được gửi từ trang này. "
                      "Hãy tải lại trang rồi thử lại.",
        "details": [],
    }
    return error_response(body, 400)


def init_app(app: Flask) -> None:
    """Check tokens before every page request; give templates ``csrf_token``/``csrf_field``."""
    app.before_request(_check)
    app.jinja_env.globals.update(csrf_token=token, csrf_field=field)
    app.register_error_handler(CSRFError, _handle)
