"""Signing in: throttled per account and per address, sessions that end on the server."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest
import redis

from engine import accounts, clock, sessions
from engine.admin.users import reset_password
from tests.web.test_pages import AuthActions, app, auth, client, text  # noqa: F401  (fixtures)
from web import create_app


def wrong_login(client, auth, username="congdan", **environ):  # noqa: F811
    return client.post("/auth/login", data={"username": username, "password": "wrong",
                                            "csrf_token": auth.token()},
                       environ_base=environ or None)


def test_failed_sign_ins_of_one_account_are_throttled_from_any_address(auth, client):  # noqa: F811
    for attempt in range(10):
        response = wrong_login(client, auth, REMOTE_ADDR=f"10.0.0.{attempt}")
        assert response.status_code == 200 and "không đúng" in text(response)
    response = wrong_login(client, auth, REMOTE_ADDR="10.0.1.1")
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 0 < wait <= 15 * 60 + 1
    assert f"Vui lòng chờ {(wait + 59) // 60} phút" in text(response)
    # the right password waits too: the account is what is throttled
    assert auth.login("congdan").status_code == 429
    # the API shares the account's count, and says it in both languages
    response = client.post("/api/v1/auth/token", json={"username": "congdan",
                                                       "password": "demo"})
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert "Please wait" in response.json["message"] and "Vui lòng chờ" in response.json[
        "message_vi"]
    # other accounts are not affected; successful sign-ins never count
    for _ in range(12):
        assert auth.login("doanhnghiep").status_code == 302
        auth.logout()


def test_one_address_is_throttled_whatever_the_accounts(client):  # noqa: F811
    for attempt in range(30):
        response = client.post("/api/v1/auth/token",
                               json={"username": f"nobody{attempt}", "password": "x"})
        assert response.status_code == 401
    response = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 61
    other = client.post("/api/v1/auth/token", json={"username": "congdan", "password": "demo"},
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_the_public_look_up_is_throttled_per_address(client):  # noqa: F811
    for _ in range(30):
        assert client.get("/tra-cuu?code=X-1&id_number=1").status_code == 200
    response = client.get("/tra-cuu?code=X-2&id_number=1")
    assert response.status_code == 429 and "Vui lòng chờ" in text(response)
    assert client.get("/tra-cuu").status_code == 200  # the empty form costs nothing
    response = client.get("/api/v1/dossiers/X-3", query_string={"id_number": "1"})
    assert response.status_code == 429


def test_counts_are_shared_through_redis(platform):
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    platform.settings.redis_url = "redis://127.0.0.1:6379/0"
    prefix = "motcua-test-" + secrets.token_hex(4)
    config = {"MOTCUA_PLATFORM": platform, "TESTING": True, "RATELIMIT_KEY_PREFIX": prefix}
    first, second = create_app(config).test_client(), create_app(config).test_client()
    try:
        for attempt in range(10):  # five failures in each of two web processes
            client = first if attempt % 2 else second
            response = client.post("/api/v1/auth/token",
                                   json={"username": "congdan", "password": "wrong"},
                                   environ_base={"REMOTE_ADDR": f"10.0.0.{attempt}"})
            assert response.status_code == 401
        response = first.post("/api/v1/auth/token",
                              json={"username": "congdan", "password": "demo"})
        assert response.status_code == 429
        assert redis.Redis.from_url(platform.settings.redis_url).keys(f"*{prefix}*")
    finally:
        server = redis.Redis.from_url(platform.settings.redis_url)
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)


def test_a_copied_session_cookie_opens_nothing_after_logout(app, auth, client):  # noqa: F811
    auth.login("quantri")
    assert client.get("/admin/users").status_code == 200
    cookie = client.get_cookie("session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    response = thief.get("/admin/users")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_password_change_and_sign_out_everywhere_end_sessions(app, platform):  # noqa: F811
    browsers = [app.test_client() for _ in range(2)]
    for browser in browsers:
        assert AuthActions(browser).login("chuyenvien").status_code == 302
        assert browser.get("/workspace/").status_code == 200
    token = accounts.issue_token(platform, accounts.find_user(platform, "chuyenvien").id)
    reset_password(platform, "chuyenvien", actor="quantri", password="mat-khau-moi-2026")
    for browser in browsers:
        assert browser.get("/workspace/").status_code == 302
    assert accounts.user_for_token(platform, token) is None
    # an administrator signs a user out everywhere from the user's page
    officer, administrator = app.test_client(), app.test_client()
    AuthActions(officer).login("motcua")
    staff = AuthActions(administrator)
    staff.login("quantri")
    page = text(administrator.get("/admin/users/motcua"))
    assert "Đăng xuất khỏi mọi nơi" in page and "1 phiên" in page
    response = staff.post("/admin/users/motcua/sessions", page="/admin/users/motcua")
    assert response.status_code == 302
    assert officer.get("/workspace/").status_code == 302
    assert administrator.get("/admin/users").status_code == 200  # only that user's sessions


def test_sessions_end_when_idle_and_after_their_lifetime(auth, client, monkeypatch):  # noqa: F811
    wall = [datetime.now(UTC)]
    monkeypatch.setattr(sessions, "now", lambda: wall[0])

    def later(**delta):
        wall[0] += timedelta(**delta)
        return client.get("/workspace/").status_code

    auth.login("motcua")
    assert later(minutes=110) == 200  # seen: the idle time starts again
    assert later(minutes=110) == 200
    assert later(minutes=121) == 302  # idle too long
    auth.login("motcua")
    for _ in range(11):
        assert later(hours=1) == 200
    assert later(hours=1, minutes=1) == 302  # signed in too long ago
    # business time (engine.clock, moved by tests and simulations) is not the session's
    auth.login("motcua")
    clock.travel(timedelta(days=30))
    assert client.get("/workspace/").status_code == 200


def test_https_settings_mark_the_cookie_secure_and_trust_the_proxy(platform):
    platform.settings.behind_proxy = platform.settings.https = True
    browser = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    page = browser.get("/auth/login", headers={"X-Forwarded-Proto": "https",
                                              "X-Forwarded-For": "203.0.113.9"})
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(page)).group(1)
    response = browser.post("/auth/login", data={"username": "congdan", "password": "demo",
                                                "csrf_token": token},
                           headers={"X-Forwarded-Proto": "https",
                                    "X-Forwarded-For": "203.0.113.9"})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "Expires" in cookie


def test_the_client_address_comes_from_the_proxy_only_behind_one(platform):
    def attempts(browser, addresses):  # each for another account: only the address counts
        return [browser.post("/api/v1/auth/token", json={"username": secrets.token_hex(4),
                                                         "password": "x"},
                             headers={"X-Forwarded-For": address}).status_code
                for address in addresses]

    # not behind a proxy: a client cannot escape its throttle by making up the header
    browser = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    assert attempts(browser, [f"198.51.100.{n}" for n in range(31)])[-1] == 429
    # behind one: the proxy's header tells the clients apart, one throttled, one not
    platform.settings.behind_proxy = True
    browser = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    assert attempts(browser, ["203.0.113.9"] * 31)[-1] == 429
    assert attempts(browser, ["203.0.113.10"]) == [401]
