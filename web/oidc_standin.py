"""A local stand-in of the national identity provider (VNeID / the national portal's single
sign-on) — not VNeID: it speaks OpenID Connect with made-up people.

Served at ``/sandbox/oidc`` only while ``oidc_stand_in`` is on (the demo's data, or
``MOTCUA_OIDC_STAND_IN=1``); with no ``MOTCUA_OIDC_ISSUER`` the portal then signs in
through it (:func:`engine.identity.provider`). It speaks the real protocol, so the
portal's client is the one that would talk to the real provider:

- ``GET /.well-known/openid-configuration``: discovery (issuer, endpoints, RS256, S256).
- ``GET /jwks``: the public key its tokens are signed with (RSA, kept under
  ``data_dir/sandbox/oidc``).
- ``GET /authorize``: the authorization code request (``response_type=code``, the
  registered client and redirect address, ``openid`` in the scope, ``state``, ``nonce``,
  and a PKCE ``code_challenge`` with ``S256``, required). The page says it is a
  stand-in; the visitor picks a demo person and consents (``POST``), and is sent back
  with a single-use code good for :data:`CODE_SECONDS`, or ``error=access_denied``.
- ``POST /token``: the code for tokens, with client authentication (HTTP Basic or the
  form's ``client_secret``), the same redirect address, and the PKCE ``code_verifier``
  whose SHA-256 must be the challenge. A code is used once: any attempt spends it. The
  ID token is a JWT signed with RS256 carrying ``iss``, ``sub``, ``aud``, ``exp``,
  ``iat``, ``auth_time``, ``nonce`` and ``at_hash``; the access token is a JWT for
  ``/userinfo`` only.
- ``GET /userinfo`` with ``Authorization: Bearer <access token>``: the person's claims.

Every JSON answer says ``"stand_in": true`` (and ``X-Stand-In``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from engine import identity
from engine.standin_store import JsonLinesStore

from . import platform
from .standins import answer

pages = Blueprint("sandbox_oidc", __name__)
#: The machine-to-machine endpoints (no page, no CSRF token: the protocol authenticates).
api = Blueprint("sandbox_oidc_api", __name__)

NAME = "Máy chủ định danh mô phỏng — không phải VNeID"
CODE_SECONDS = 120
TOKEN_SECONDS = 600
#: The made-up people one may sign in as (claims as the real provider would send them).
PEOPLE = {
    "demo-citizen-0001": {
        "name": "Trần Thị Minh Anh", "family_name": "Trần", "given_name": "Thị Minh Anh",
        "birthdate": "1990-04-12", "id_number": "038190001234",
        "address": {"formatted": "Số 5 Phan Chu Trinh, phường Điện Biên, TP Thanh Hóa"},
        "phone_number": "0912000111", "email": "minhanh.dinhdanh@example.vn",
        "email_verified": True,
    },
    "demo-citizen-0002": {
        "name": "Lê Văn Bình", "family_name": "Lê", "given_name": "Văn Bình",
        "birthdate": "1985-11-02", "id_number": "038085004321",
        "address": {"formatted": "Thôn 3, xã Quảng Tâm, huyện Quảng Xương, Thanh Hóa"},
        "phone_number": "0987654321", "email": "vanbinh.dinhdanh@example.vn",
        "email_verified": False,
    },
}
_SCOPE_CLAIMS = {
    "profile": ("name", "family_name", "given_name", "birthdate", "id_number"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number",),
    "address": ("address",),
}


class AuthorizeRefusal(Exception):
    """A request the provider refuses: ``error`` (OAuth's code) and a message."""

    def __init__(self, error: str, message: str, *, redirectable: bool = True):
        super().__init__(message)
        self.error, self.message, self.redirectable = error, message, redirectable


# --- keys and tokens ---------------------------------------------------------------------

def _directory() -> Path:
    return platform().settings.data_dir / "sandbox" / "oidc"


def signing_key() -> RSAKey:
    """The stand-in's RSA key, made on first use and kept under the data directory."""
    path = _directory() / "signing-key.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = RSAKey.generate_key(2048)
        partial = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        partial.write_bytes(key.as_pem(private=True))
        partial.chmod(0o600)
        partial.replace(path)  # two first requests at once: either key, whole
    return RSAKey.import_key(path.read_bytes())


def issuer() -> str:
    """The stand-in's issuer: its address under the portal's public URL."""
    return f"{platform().settings.public_url.rstrip('/')}{identity.STAND_IN_PATH}"


def sign(claims: dict) -> str:
    """``claims`` as a JWT signed with RS256 by the stand-in's key."""
    key = signing_key()
    return jwt.encode({"alg": "RS256", "kid": key.thumbprint(), "typ": "JWT"}, claims, key)


def _half_hash(token: str) -> str:
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def id_token_claims(grant: dict, access_token: str) -> dict:
    """What the ID token of ``grant`` (a redeemed code) says."""
    now = int(time.time())
    return {"iss": issuer(), "sub": grant["sub"], "aud": grant["client_id"],
            "exp": now + TOKEN_SECONDS, "iat": now, "auth_time": grant["auth_time"],
            "nonce": grant["nonce"], "at_hash": _half_hash(access_token)}


# --- discovery and keys ------------------------------------------------------------------

@api.route("/.well-known/openid-configuration")
def discovery():
    base = issuer()
    return answer({
        "issuer": base, "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token", "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks", "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                  "client_secret_post"],
        "scopes_supported": ["openid", *_SCOPE_CLAIMS],
        "claims_supported": ["sub", *sorted({c for cs in _SCOPE_CLAIMS.values() for c in cs})],
        "provider": NAME,
    })


@api.route("/jwks")
def jwks():
    key = signing_key()
    public = {**key.as_dict(private=False), "kid": key.thumbprint(), "use": "sig",
              "alg": "RS256"}
    return answer({"keys": [public]})


# --- the authorization page --------------------------------------------------------------

def _redirect_uris() -> set[str]:
    """Where the portal (the one registered client) may be sent back to."""
    path = url_for("identity.callback")
    return {f"{platform().settings.public_url.rstrip('/')}{path}",
            f"{request.host_url.rstrip('/')}{path}"}


def _check_authorize(params) -> dict:
    """The authorization request's parameters, checked; :class:`AuthorizeRefusal`."""
    if params.get("client_id") != identity.STAND_IN_CLIENT_ID:
        raise AuthorizeRefusal("unauthorized_client", _("Ứng dụng không được đăng ký "
                                                        "(client_id không đúng)."),
                               redirectable=False)
    if params.get("redirect_uri") not in _redirect_uris():
        raise AuthorizeRefusal("invalid_request", _("Địa chỉ trả về (redirect_uri) không "
                                                    "được đăng ký."), redirectable=False)
    if params.get("response_type") != "code":
        raise AuthorizeRefusal("unsupported_response_type", _("Chỉ hỗ trợ response_type=code."))
    if "openid" not in (params.get("scope") or "").split():
        raise AuthorizeRefusal("invalid_scope", _("Phạm vi (scope) phải có openid."))
    if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
        raise AuthorizeRefusal("invalid_request", _("Bắt buộc dùng PKCE với S256."))
    if not params.get("nonce") or not params.get("state"):
        raise AuthorizeRefusal("invalid_request", _("Thiếu state hoặc nonce."))
    keys = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
            "code_challenge", "code_challenge_method")
    return {key: params.get(key) for key in keys}


def _back(request_params: dict, **values) -> str:
    target = request_params["redirect_uri"]
    query = urlencode({**values, "state": request_params.get("state") or ""})
    return f"{target}{'&' if '?' in target else '?'}{query}"


@pages.route("/authorize", methods=("GET", "POST"))
def authorize():
    """GET: the stand-in's sign-in page (choose a demo person, consent). POST: the choice."""
    params = request.values
    try:
        checked = _check_authorize(params)
    except AuthorizeRefusal as refusal:
        if not refusal.redirectable:
            return render_template("sandbox_oidc.html", refusal=refusal), 400
        return redirect(_back(dict(params), error=refusal.error,
                              error_description=refusal.message))
    if request.method == "GET":
        return render_template("sandbox_oidc.html", params=checked, people=PEOPLE,
                               scopes=checked["scope"].split())
    person = request.form.get("person", "")
    if request.form.get("action") != "allow" or person not in PEOPLE:
        return redirect(_back(checked, error="access_denied",
                              error_description="The user declined."))
    code = secrets.token_urlsafe(32)
    with _codes().locked():
        _codes().append({"code": _digest(code), "sub": person, "auth_time": int(time.time()),
                         "expires": time.time() + CODE_SECONDS, **checked})
    return redirect(_back(checked, code=code))


# --- tokens -----------------------------------------------------------------------------

def _codes() -> JsonLinesStore:
    return JsonLinesStore(_directory(), "codes")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _client_ok() -> bool:
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id, secret = auth.username or "", auth.password or ""
    else:
        client_id = request.form.get("client_id", "")
        secret = request.form.get("client_secret", "")
    return client_id == identity.STAND_IN_CLIENT_ID and hmac.compare_digest(
        secret.encode(), identity.STAND_IN_CLIENT_SECRET.encode())


def _oauth_error(error: str, description: str, status: int = 400):
    return answer({"error": error, "error_description": description}, status)


def _redeem(code: str) -> dict | None:
    """The grant of ``code``, spent now (whatever happens next); None if unknown, used or
    expired."""
    digest = _digest(code)
    store = _codes()
    with store.locked() as held:
        grant = next((line for line in held if line.get("code") == digest), None)
        if grant is None or any(line.get("spent") == digest for line in held):
            return None
        store.append({"spent": digest})
    return grant if grant["expires"] >= time.time() else None


def _pkce_ok(grant: dict, verifier: str) -> bool:
    if not 43 <= len(verifier) <= 128:
        return False
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace"))
                                         .digest()).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(challenge, grant["code_challenge"])


@api.route("/token", methods=("POST",))
def token():
    """The authorization code (with its PKCE verifier) for an ID token and access token."""
    if not _client_ok():
        response = _oauth_error("invalid_client", "Client authentication failed.", 401)
        response.headers["WWW-Authenticate"] = 'Basic realm="sandbox-oidc"'
        return response
    if request.form.get("grant_type") != "authorization_code":
        return _oauth_error("unsupported_grant_type", "Only authorization_code.")
    grant = _redeem(request.form.get("code", ""))
    if grant is None:
        return _oauth_error("invalid_grant", "The code is unknown, used or expired.")
    if request.form.get("redirect_uri") != grant["redirect_uri"]:
        return _oauth_error("invalid_grant", "redirect_uri differs from the authorization's.")
    if not _pkce_ok(grant, request.form.get("code_verifier", "")):
        return _oauth_error("invalid_grant", "PKCE verification failed (code_verifier).")
    now = int(time.time())
    access = sign({"iss": issuer(), "sub": grant["sub"], "aud": f"{issuer()}/userinfo",
                   "client_id": grant["client_id"], "scope": grant["scope"],
                   "iat": now, "exp": now + TOKEN_SECONDS})
    return answer({"access_token": access, "token_type": "Bearer",
                   "expires_in": TOKEN_SECONDS, "scope": grant["scope"],
                   "id_token": sign(id_token_claims(grant, access))})


@api.route("/userinfo", methods=("GET", "POST"))
def userinfo():
    """The person's claims, for the scopes the access token was granted."""
    given = request.headers.get("Authorization", "")
    try:
        if not given.startswith("Bearer "):
            raise JoseError("no bearer token")
        claims = jwt.decode(given[7:], KeySet([signing_key()])).claims
        jwt.JWTClaimsRegistry(aud={"essential": True, "value": f"{issuer()}/userinfo"},
                              exp={"essential": True}).validate(claims)
    except (JoseError, ValueError):
        response = _oauth_error("invalid_token", "The access token is not valid.", 401)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    person = PEOPLE.get(claims["sub"], {})
    scopes = str(claims.get("scope", "")).split()
    shared = {name for scope in scopes for name in _SCOPE_CLAIMS.get(scope, ())}
    return answer({"sub": claims["sub"],
                   **{name: value for name, value in person.items() if name in shared}})


def init_app(app) -> None:
    """Serve the stand-in while it is switched on (``oidc_stand_in``)."""
    if app.extensions["motcua"].settings.oidc_stand_in and "sandbox_oidc" not in app.blueprints:
        app.register_blueprint(pages, url_prefix=identity.STAND_IN_PATH)
        app.register_blueprint(api, url_prefix=identity.STAND_IN_PATH)
