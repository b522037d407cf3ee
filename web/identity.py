"""Signing in with the national identity (đăng nhập bằng VNeID / Cổng DVC quốc gia):
OpenID Connect through Authlib.

- ``POST /auth/dinh-danh/dang-nhap`` (the login page's button, or the account page's
  "link" button; a form with the CSRF token) reads the provider's discovery document,
  checks that it names the configured issuer, and sends the browser to its authorization
  endpoint: authorization code flow with PKCE (S256), a fresh ``state`` and ``nonce``
  kept in this browser's session by Authlib.
- ``GET /auth/dinh-danh/ve`` (the redirect address registered with the provider) checks
  ``state``, redeems the code at the token endpoint (client authentication, PKCE
  verifier), verifies the ID token — RS256 signature against the provider's JWKS, issuer,
  audience, expiry, ``nonce``, ``at_hash`` — reads ``/userinfo`` (same ``sub``), then
  hands the identity to :func:`engine.identity.sign_in`: signed in, linked, or a new
  account. Anything that does not check out is refused (400) and nobody is signed in.
- ``GET /auth/dinh-danh``: the account's national identity (what it last said), and the
  button to link one.

The provider is :func:`engine.identity.provider` (``MOTCUA_OIDC_*``, or the local
stand-in of :mod:`web.oidc_standin`); with none, the button is not shown and these pages
are 404.
"""

from __future__ import annotations

import logging

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as browser
from flask_babel import gettext as _
from joserfc.errors import JoseError

from engine import identity

from . import platform
from .auth import _after_login_url, _is_local, login_required, start_session

bp = Blueprint("identity", __name__)
logger = logging.getLogger("motcua.identity")

CLIENT_NAME = "national_id"
TIMEOUT_SECONDS = 10
_NEXT_KEY = "identity_next"
_FAILURES = (OAuthError, JoseError, requests.RequestException, ValueError, KeyError,
             TypeError)


@bp.app_context_processor
def _login_button() -> dict:
    """``identity_login``: whether the login page offers the national identity."""
    return {"identity_login": identity.provider(platform().settings) is not None}


def _provider() -> identity.Provider:
    found = identity.provider(platform().settings)
    if found is None:
        abort(404)
    return found


def _client(provider: identity.Provider) -> FlaskOAuth2App:
    """Authlib's client of ``provider``, one per configuration and app (it keeps the
    discovery document and the keys it read)."""
    clients = current_app.extensions.setdefault("motcua.identity_clients", {})
    key = (provider.issuer, provider.client_id, provider.client_secret)
    if key not in clients:
        clients[key] = FlaskOAuth2App(
            FlaskIntegration(CLIENT_NAME), name=CLIENT_NAME, client_id=provider.client_id,
            client_secret=provider.client_secret, server_metadata_url=provider.metadata_url,
            client_kwargs={"scope": identity.SCOPE, "code_challenge_method": "S256",
                           "timeout": TIMEOUT_SECONDS})
    return clients[key]


def _refused(reason: str):
    logger.warning("National identity sign-in refused: %s", reason)
    raise identity.IdentityRefused(
        "The national identity sign-in could not be completed (the answer of the identity "
        "provider did not check out, or the page was opened twice). Nobody is signed in: "
        "try again from the login page.",
        vi="Không hoàn tất được đăng nhập bằng định danh quốc gia (trả lời của máy chủ định "
           "danh không hợp lệ, hoặc trang đã được mở lại). Chưa ai được đăng nhập: hãy thử "
           "lại từ trang đăng nhập.")


@bp.route("/dinh-danh/dang-nhap", methods=("POST",))
def start():
    """Send the browser to the identity provider (authorization code + PKCE)."""
    provider = _provider()
    client = _client(provider)
    try:
        metadata = client.load_server_metadata()
    except _FAILURES as exc:
        logger.warning("Identity provider %s unreachable: %s", provider.issuer, exc)
        client.server_metadata.pop("_loaded_at", None)
        abort(502)
    if metadata.get("issuer") != provider.issuer:  # OpenID Connect Discovery §4.3
        client.server_metadata.pop("_loaded_at", None)  # read it again next time
        _refused(f"discovery names issuer {metadata.get('issuer')!r}")
    target = request.form.get("next", "")
    browser[_NEXT_KEY] = target if _is_local(target) else ""
    return client.authorize_redirect(url_for(".callback", _external=True))


def _identity_claims(client: FlaskOAuth2App) -> dict:
    """The verified identity's claims: the ID token's, with ``/userinfo``'s."""
    token = client.authorize_access_token()
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        _refused("no ID token")
    info = client.userinfo(token=token)
    if info.get("sub") != claims["sub"]:  # OpenID Connect Core §5.3.2
        _refused("userinfo names another subject")
    return {**info, **claims}


@bp.route("/dinh-danh/ve")
def callback():
    """The provider sends the browser back here with a code (or an error)."""
    provider = _provider()
    if request.args.get("error") == "access_denied":
        flash(_("Bạn đã không đồng ý chia sẻ thông tin định danh: chưa đăng nhập."), "info")
        return redirect(url_for("auth.login"))
    try:
        claims = _identity_claims(_client(provider))
    except _FAILURES as exc:
        _refused(f"{type(exc).__name__}: {exc}")
    values = identity.account_values(claims, platform().settings.oidc_id_number_claim)
    current = g.user.id if g.get("user") is not None else None
    user, outcome = identity.sign_in(platform(), provider.issuer, claims["sub"], values,
                                     current_user_id=current)
    target = browser.pop(_NEXT_KEY, "")
    if outcome == "linked":
        flash(_("Đã liên kết tài khoản với định danh điện tử quốc gia."), "success")
        return redirect(url_for(".account"))
    if current is None:
        start_session(user)
        if outcome == "created":
            flash(_("Đã tạo tài khoản từ định danh điện tử quốc gia. Xin chào, %(name)s.",
                    name=user.full_name), "success")
        else:
            flash(_("Xin chào, %(name)s.", name=user.full_name), "success")
    return redirect(target or _after_login_url(user))


@bp.route("/dinh-danh")
@login_required
def account():
    """The account's national identity, or the button that links one."""
    return render_template("identity_account.html",
                           links=identity.links(platform(), g.user.id),
                           can_link=not g.user.is_staff)
