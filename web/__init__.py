"""The web layer: a Flask app factory and one blueprint per audience.

``portal`` (citizens and firms), ``workspace`` (officers), ``auth`` (sessions, and the
account pages of :mod:`web.signup`) render Jinja pages that work without JavaScript;
``studio`` (analysts: diagram and form editors, versions, dossiers on their diagram) needs
it for the diagrams; ``api`` is JSON under ``/api/v1``; ``ops`` answers ``/healthz``,
``/readyz`` and ``/metrics``. Views only translate HTTP: parse the request, call one engine
function, render. Engine errors become HTTP statuses in :mod:`web.errors`; throttling is
:mod:`web.limits`'s.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from engine.config import Settings
from engine.platform import Platform

from . import safejson
from .errors import ApiError

DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "BABEL_DEFAULT_LOCALE": "vi",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
    "CSRF_ENABLED": True,
}


def create_app(config: dict | None = None) -> Flask:
    """Build the application.

    ``config`` overrides :data:`DEFAULTS`; it may carry ``MOTCUA_SETTINGS`` (an
    :class:`~engine.config.Settings`, else read from the environment) or an already built
    ``MOTCUA_PLATFORM`` (tests share theirs with the app).
    """
    app = _Flask(__name__)
    app.json = _SafeJSONProvider(app)
    app.session_interface = _SessionInterface()
    # Before any route exists: every ``<int:…>`` fits a database id (a 32-bit INTEGER on
    # PostgreSQL); a larger one is a 404, not a database overflow.
    app.url_map.converters["int"] = _IdConverter
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(config or {})

    motcua = app.config.get("MOTCUA_PLATFORM")
    if motcua is None:
        motcua = Platform(app.config.get("MOTCUA_SETTINGS") or Settings.from_env())
    app.extensions["motcua"] = motcua
    settings = motcua.settings
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.secret_key or _persistent_secret(settings.data_dir)
    # Room for a form's several attachments, each within the engine's per-file limit.
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is None: no limit
        app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes * 5
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    _serve_https(app, settings)

    from . import (
        admin,
        auth,
        counter,
        csrf,
        i18n,
        identity,
        leaders,
        limits,
        oidc_standin,
        ops,
        payments,
        portal,
        rating,
        sandbox_gps,
        signup,  # noqa: F401  (the account pages: routes of the auth blueprint)
        studio,
        verify,
        workspace,
    )
    from .api import bp as api_bp
    from .errors import register_error_handlers
    from .sandbox_national import init_app as national_stand_in
    from .sandbox_sms import init_app as sms_stand_in
    from .sandbox_tsa import init_app as tsa_stand_in

    i18n.init_app(app)
    ops.init_app(app, settings.log_format)  # early: its timer starts before the pages' hooks
    app.register_blueprint(portal.bp)
    app.register_blueprint(verify.bp)
    app.register_blueprint(workspace.bp, url_prefix="/workspace")
    app.register_blueprint(counter.bp, url_prefix="/tiep-nhan")
    app.register_blueprint(leaders.bp, url_prefix="/thong-ke")
    app.register_blueprint(rating.bp)
    app.register_blueprint(auth.bp, url_prefix="/auth")
    app.register_blueprint(identity.bp, url_prefix="/auth")  # national identity (OIDC)
    studio.init_app(app)
    payments.init_app(app)
    sandbox_gps.init_app(app)  # the stand-in vehicle-tracking provider (/sandbox/gps)
    national_stand_in(app)  # the stand-in national portal (/sandbox/national)
    sms_stand_in(app)  # the stand-in SMS provider (/sandbox/sms)
    oidc_standin.init_app(app)  # the stand-in identity provider (/sandbox/oidc), when on
    tsa_stand_in(app)  # the stand-in time-stamping authority (/sandbox/tsa)
    admin.init_app(app)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    # After auth's user loader, so that even the CSRF error page knows who is signed in.
    csrf.init_app(app)
    limits.init_app(app, settings.redis_url)  # after every view it throttles exists
    app.before_request(_refuse_nul)
    app.after_request(_security_headers)
    register_error_handlers(app)
    return app


class _Flask(Flask):
    """Flask, remembering which views and hooks are plain functions: it asks for every hook
    of every request (a dozen here), and the answer never changes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synced: dict = {}

    def ensure_sync(self, func):
        synced = self._synced.get(func)
        if synced is None:
            synced = self._synced[func] = super().ensure_sync(func)
        return synced


class _SafeJSONProvider(DefaultJSONProvider):
    """``request.get_json()`` through :func:`web.safejson.loads`: too deep, too long a number,
    NUL or a lone surrogate is a 400 like any malformed body."""

    def loads(self, s, **kwargs):
        return safejson.loads(s)


class _TokenCallSession(SecureCookieSession):
    """The session of an API call with a bearer token: empty, and never sent back."""


class _SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session of the pages; an API call with a bearer token neither reads
    the cookie nor gets one (the token is who it is; verifying and signing a cookie is
    a good share of the cost of the status look-up a portal polls)."""

    def open_session(self, app, request):
        if "Authorization" in request.headers and request.path.startswith("/api/"):
            return _TokenCallSession()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if not isinstance(session, _TokenCallSession):
            super().save_session(app, session, response)


class _IdConverter(IntegerConverter):
    """``<int:…>`` bounded to what an id column holds (PostgreSQL's INTEGER)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _refuse_nul() -> None:
    """A NUL character in the path, the query or a form field is never meant (PostgreSQL
    cannot even store it in text): 400 before any view runs."""
    values = [request.path, *request.args.values()]
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "multipart/form-data", "application/x-www-form-urlencoded"):
        values.extend(request.form.values())
    if any("\x00" in value for value in values):
        raise ApiError(400, "The request contains the NUL character (\\u0000): remove it.",
                       vi="Yêu cầu chứa ký tự NUL (\\u0000): hãy bỏ ký tự này.",
                       error="BadRequest")


def _serve_https(app: Flask, settings: Settings) -> None:
    """Behind a reverse proxy, believe its ``X-Forwarded-*`` (one hop); over HTTPS, mark
    the session cookie ``Secure`` and send HSTS. Sessions last ``session_hours`` at most
    (the server ends them then, whatever the cookie says)."""
    if settings.behind_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore
    if settings.https:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.session_hours)


def _security_headers(response: Response) -> Response:
    """Pages use only this site's own files: no inline script, no framing by other sites."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
            "frame-ancestors 'self'; base-uri 'self'; form-action 'self'")
    return response


def platform() -> Platform:
    """The engine :class:`~engine.platform.Platform` of the current app."""
    return current_app.extensions["motcua"]


def _persistent_secret(data_dir: Path) -> str:
    """A random key kept in ``data_dir/secret_key`` so sessions survive a restart."""
    path = Path(data_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # Owner-only permissions: the key signs every session cookie.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (a second `motcua serve`) wrote it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
