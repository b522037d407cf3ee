"""The web layer: a Flask app factory and one blueprint per audience.

``portal`` (citizens and firms), ``workspace`` (officers), ``auth`` (sessions) render
Jinja pages that work without JavaScript; ``studio`` (analysts: diagram and form editors,
versions, dossiers on their diagram) needs it for the diagrams; ``api`` is JSON under
``/api/v1``. Views only translate HTTP: parse the request, call one engine function,
render. Engine errors become HTTP statuses in :mod:`web.errors`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, Response, current_app

from engine.config import Settings
from engine.platform import Platform

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
    app = Flask(__name__)
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

    from . import admin, auth, csrf, i18n, payments, portal, sandbox_gps, studio, workspace
    from .api import bp as api_bp
    from .errors import register_error_handlers
    from .sandbox_national import init_app as national_stand_in
    from .sandbox_sms import init_app as sms_stand_in

    i18n.init_app(app)
    app.register_blueprint(portal.bp)
    app.register_blueprint(workspace.bp, url_prefix="/workspace")
    app.register_blueprint(auth.bp, url_prefix="/auth")
    studio.init_app(app)
    payments.init_app(app)
    sandbox_gps.init_app(app)  # the stand-in vehicle-tracking provider (/sandbox/gps)
    national_stand_in(app)  # the stand-in national portal (/sandbox/national)
    sms_stand_in(app)  # the stand-in SMS provider (/sandbox/sms)
    admin.init_app(app)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    # After auth's user loader, so that even the CSRF error page knows who is signed in.
    csrf.init_app(app)
    app.after_request(_security_headers)
    register_error_handlers(app)
    return app


def _security_headers(response: Response) -> Response:
    """Pages use only this site's own files: no inline script, no framing by other sites."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
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
