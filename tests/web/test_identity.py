"""Signing in with the national identity (OpenID Connect) against the local stand-in
provider, over real HTTP: the portal served by waitress, a ``requests`` session as the
browser. What the portal refuses (a wrong ``state``, a wrong ``nonce``, a tampered ID
token), what the stand-in refuses (a wrong PKCE verifier, a wrong client secret, a code
used twice), linking and the national portal's "verified with the national ID app"."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from sqlalchemy import select

from engine import accounts, identity, national
from engine.identity_models import IdentityLink
from engine.models import AuditEvent, Outbox, User
from tests.engine.factories import submit
from web import create_app, oidc_standin

MINH_ANH = "demo-citizen-0001"


@pytest.fixture
def portal(identity_portal):
    """The portal with the stand-in identity provider on (tests/conftest.py)."""
    return identity_portal


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _hidden(page: str) -> dict:
    return {name: html.unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def _to_provider(http: requests.Session, base: str, *, page: str = "/auth/login",
                 then: str = "") -> str:
    """Press the national identity button on ``page`` (to come back to ``then``); the
    stand-in's authorization page."""
    start = http.get(base + page)
    assert "/auth/dinh-danh/dang-nhap" in start.text
    sent = http.post(base + "/auth/dinh-danh/dang-nhap",
                     data={"csrf_token": _csrf(start.text), "next": then},
                     allow_redirects=False)
    assert sent.status_code == 302
    authorize = http.get(sent.headers["Location"])
    assert "không phải VNeID" in authorize.text
    return authorize.text


def _consent(http: requests.Session, base: str, page: str, person: str = MINH_ANH) -> str:
    """Choose ``person`` and consent; the portal's callback address the stand-in sends the
    browser to."""
    fields = {**_hidden(page), "person": person, "action": "allow"}
    answer = http.post(base + "/sandbox/oidc/authorize", data=fields, allow_redirects=False)
    assert answer.status_code == 302
    return answer.headers["Location"]


def sign_in(http: requests.Session, base: str, person: str = MINH_ANH, *,
            page: str = "/auth/login", then: str = "") -> requests.Response:
    callback = _consent(http, base, _to_provider(http, base, page=page, then=then), person)
    return http.get(callback)


def signed_in_as(http: requests.Session, base: str) -> str | None:
    """The name in the page header, or None when the portal sends us to the login page."""
    page = http.get(base + "/ho-so", allow_redirects=False)
    if page.status_code != 200:
        return None
    return html.unescape(re.search(r'class="user-name">([^<]+)<', page.text).group(1))


def link_rows(p) -> list[IdentityLink]:
    with p.db.read() as session:
        return session.execute(select(IdentityLink).order_by(IdentityLink.id)).scalars().all()


def identity_events(p) -> list[tuple[str, str]]:
    with p.db.read() as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.action.like("identity_%")).order_by(AuditEvent.id)).all()
    return [tuple(row) for row in rows]


def test_first_sign_in_creates_an_account_and_the_next_one_finds_it(platform, portal):
    first = requests.Session()
    assert sign_in(first, portal).status_code == 200
    assert signed_in_as(first, portal) == "Trần Thị Minh Anh"
    [link] = link_rows(platform)
    assert link.subject == MINH_ANH and link.issuer == f"{portal}/sandbox/oidc"
    assert link.id_number == "038190001234"
    assert link.claims["birth_date"] == "1990-04-12"
    with platform.db.read() as session:
        user = session.get(User, link.user_id)
        assert (user.kind, user.full_name, user.id_number, user.phone) == (
            "citizen", "Trần Thị Minh Anh", "038190001234", "0912000111")
        assert user.email == "minhanh.dinhdanh@example.vn"  # the provider verified it

    second = requests.Session()
    back = sign_in(second, portal, then="/thu-tuc/vehicle-badge")
    assert back.url == portal + "/thu-tuc/vehicle-badge"  # where the login was asked from
    assert signed_in_as(second, portal) == "Trần Thị Minh Anh"
    elsewhere = sign_in(requests.Session(), portal, then="//evil.example/")
    assert elsewhere.url == portal + "/ho-so"  # never to another site
    assert [row.user_id for row in link_rows(platform)] == [link.user_id]
    username = accounts.load_user(platform, link.user_id).username
    assert identity_events(platform) == [("identity_account_created", username),
                                         ("identity_login", username),
                                         ("identity_login", username)]


def test_a_signed_in_citizen_links_the_identity_to_their_account(platform, portal):
    http = requests.Session()
    login = http.get(portal + "/auth/login")
    http.post(portal + "/auth/login", data={"csrf_token": _csrf(login.text),
                                            "username": "congdan", "password": "demo"})
    assert signed_in_as(http, portal) == "Nguyễn Thị Lan"
    linked = sign_in(http, portal, page="/auth/dinh-danh")
    assert "Đã liên kết tài khoản" in linked.text
    congdan = accounts.find_user(platform, "congdan")
    assert [row.user_id for row in link_rows(platform)] == [congdan.id]

    elsewhere = requests.Session()  # the identity now opens the citizen's own account
    sign_in(elsewhere, portal)
    assert signed_in_as(elsewhere, portal) == "Nguyễn Thị Lan"
    assert [action for action, _ in identity_events(platform)] == ["identity_linked",
                                                                   "identity_login"]


def test_an_identity_linked_elsewhere_is_not_linked_again(platform, portal):
    sign_in(requests.Session(), portal)  # creates Minh Anh's own account
    http = requests.Session()
    login = http.get(portal + "/auth/login")
    http.post(portal + "/auth/login", data={"csrf_token": _csrf(login.text),
                                            "username": "congdan", "password": "demo"})
    refused = sign_in(http, portal, page="/auth/dinh-danh")
    assert refused.status_code == 409
    assert "đã liên kết với một tài khoản khác" in refused.text
    assert len(link_rows(platform)) == 1


def test_a_wrong_state_is_refused(platform, portal):
    http = requests.Session()
    callback = _consent(http, portal, _to_provider(http, portal))
    parts = urlsplit(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["state"] = secrets.token_urlsafe(20)
    refused = http.get(f"{portal}{parts.path}?{urlencode(query)}")
    assert refused.status_code == 400
    assert "Không hoàn tất được đăng nhập" in refused.text
    assert signed_in_as(http, portal) is None
    assert link_rows(platform) == []


def test_declining_at_the_provider_signs_nobody_in(platform, portal):
    http = requests.Session()
    fields = {**_hidden(_to_provider(http, portal)), "person": MINH_ANH, "action": "deny"}
    declined = http.post(portal + "/sandbox/oidc/authorize", data=fields)
    assert declined.url.startswith(portal + "/auth/login")
    assert "Bạn đã không đồng ý chia sẻ thông tin định danh" in declined.text
    assert signed_in_as(http, portal) is None
    assert link_rows(platform) == []


def test_a_provider_whose_discovery_names_another_issuer_is_not_used(portal, monkeypatch):
    monkeypatch.setattr(oidc_standin, "issuer", lambda: "https://elsewhere.example")
    http = requests.Session()
    start = http.get(portal + "/auth/login")
    refused = http.post(portal + "/auth/dinh-danh/dang-nhap",
                        data={"csrf_token": _csrf(start.text)}, allow_redirects=False)
    assert refused.status_code == 400  # the browser is not sent to its authorize endpoint


def test_an_id_token_with_another_nonce_is_refused(platform, portal, monkeypatch):
    claims = oidc_standin.id_token_claims
    monkeypatch.setattr(oidc_standin, "id_token_claims",
                        lambda grant, access: {**claims(grant, access), "nonce": "replayed"})
    http = requests.Session()
    refused = sign_in(http, portal)
    assert refused.status_code == 400
    assert signed_in_as(http, portal) is None
    assert link_rows(platform) == []


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def test_an_id_token_whose_claims_were_changed_after_signing_is_refused(
        platform, portal, monkeypatch):
    signed = oidc_standin.sign

    def tampered(claims: dict) -> str:
        token = signed(claims)
        if "nonce" not in claims:  # the access token stays as it is
            return token
        header, _payload, signature = token.split(".")
        changed = {**claims, "name": "Kẻ mạo danh"}
        return ".".join((header, _b64(json.dumps(changed).encode()), signature))

    monkeypatch.setattr(oidc_standin, "sign", tampered)
    http = requests.Session()
    assert sign_in(http, portal).status_code == 400
    assert signed_in_as(http, portal) is None
    assert link_rows(platform) == []


def _authorize_directly(base: str, challenge: str) -> str:
    """A code from the stand-in for the PKCE ``challenge``, asked for by hand."""
    http = requests.Session()
    redirect_uri = f"{base}/auth/dinh-danh/ve"
    page = http.get(base + "/sandbox/oidc/authorize", params={
        "response_type": "code", "client_id": identity.STAND_IN_CLIENT_ID,
        "redirect_uri": redirect_uri, "scope": "openid profile", "state": "s1",
        "nonce": "n1", "code_challenge": challenge, "code_challenge_method": "S256"})
    callback = _consent(http, base, page.text)
    return parse_qs(urlsplit(callback).query)["code"][0]


def _redeem(base: str, code: str, verifier: str, *, secret=identity.STAND_IN_CLIENT_SECRET):
    return requests.post(base + "/sandbox/oidc/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": f"{base}/auth/dinh-danh/ve"},
        auth=(identity.STAND_IN_CLIENT_ID, secret))


def test_the_stand_in_checks_the_pkce_verifier_and_the_client(portal):
    verifier = secrets.token_urlsafe(48)
    challenge = _b64(hashlib.sha256(verifier.encode()).digest())

    wrong = _redeem(portal, _authorize_directly(portal, challenge), secrets.token_urlsafe(48))
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert "PKCE" in wrong.json()["error_description"]

    code = _authorize_directly(portal, challenge)
    stranger = _redeem(portal, code, verifier, secret="not-the-secret")
    assert (stranger.status_code, stranger.json()["error"]) == (401, "invalid_client")

    code = _authorize_directly(portal, challenge)
    tokens = _redeem(portal, code, verifier)
    assert tokens.status_code == 200 and tokens.json()["token_type"] == "Bearer"
    assert tokens.headers["X-Stand-In"] == "true"
    again = _redeem(portal, code, verifier)  # a code is good once
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")

    userinfo = portal + "/sandbox/oidc/userinfo"
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    person = requests.get(userinfo, headers=bearer).json()
    assert person["sub"] == MINH_ANH and person["name"] == "Trần Thị Minh Anh"
    assert "email" not in person  # the scope was "openid profile"
    id_token = {"Authorization": f"Bearer {tokens.json()['id_token']}"}
    assert requests.get(userinfo, headers=id_token).status_code == 401  # not for /userinfo


def test_the_stand_in_refuses_a_request_without_pkce(portal):
    answer = requests.get(portal + "/sandbox/oidc/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": identity.STAND_IN_CLIENT_ID,
        "redirect_uri": f"{portal}/auth/dinh-danh/ve", "scope": "openid", "state": "s1",
        "nonce": "n1"})
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["invalid_request"]


def test_the_national_record_says_the_applicant_was_verified(platform, portal):
    http = requests.Session()
    sign_in(http, portal)
    [link] = link_rows(platform)
    verified = submit(platform, username=accounts.load_user(platform, link.user_id).username)
    unverified = submit(platform)  # the demo firm signs in with its password

    def record(code: str) -> dict:
        with platform.db.read() as session:
            body = session.execute(select(Outbox.body).where(
                Outbox.kind == national.KIND, Outbox.idempotency_key.startswith(code))
                .order_by(Outbox.id).limit(1)).scalar_one()
        return json.loads(body)

    assert record(verified)["vneid_verified"] is True
    assert record(unverified)["vneid_verified"] is False


def test_the_login_page_offers_the_national_identity_only_when_there_is_a_provider(platform):
    button = "Đăng nhập bằng VNeID / Cổng DVC quốc gia"
    plain = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    assert button not in plain.get("/auth/login").text
    assert plain.get("/auth/dinh-danh/ve?code=x&state=y").status_code == 404
    assert plain.get("/sandbox/oidc/jwks").status_code == 404  # no stand-in either
    platform.settings.oidc_stand_in = True
    with_stand_in = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    assert button in with_stand_in.get("/auth/login").text
    keys = with_stand_in.get("/sandbox/oidc/jwks").get_json()
    assert keys["stand_in"] is True and keys["keys"][0]["alg"] == "RS256"
    assert "d" not in keys["keys"][0]  # the public half only
