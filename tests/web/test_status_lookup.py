"""The status look-up (GET /api/v1/dossiers/{code}) reads without waiting for writers, and
its bearer token is resolved from a short in-process cache."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest
import yaml

from engine import accounts, clock, dossiers
from tests.conftest import REPO
from tests.scenario import sample_files, user

PROCEDURE = "transport-business-licence"
SCENARIO = REPO / "bpmn" / PROCEDURE / "scenarios" / "approve-and-sign.yaml"


def submit(p) -> str:
    """A transport licence dossier, as the bundle's own scenario's applicant files it."""
    walk = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    return dossiers.submit(p, user(p, walk["applicant"]), PROCEDURE, walk["application"],
                           sample_files(p, PROCEDURE))["code"]


@pytest.fixture
def app(platform):
    from web import create_app

    return create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_status_lookup_does_not_wait_for_a_step_holding_the_write_lock(platform, app):
    """SQLite: while another connection holds the write lock (``BEGIN IMMEDIATE`` and a
    write left open, as a slow step would), the API look-up and get_dossier still answer,
    with the last committed state. A deadlock check, not a speed test: a read that took
    the write lock would wait for SQLite's 30 s busy timeout and fail."""
    code = submit(platform)
    firm = accounts.find_user(platform, "doanhnghiep")
    token = accounts.issue_token(platform, firm.id)
    accounts.forget_cached_tokens()  # the token's look-up must read the database too

    path = platform.settings.database_url.split("///", 1)[1]
    writer = sqlite3.connect(path, isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE dossier SET status = 'refused' WHERE code = ?", (code,))
    results: dict = {}

    def read() -> None:
        try:
            response = app.test_client().get(f"/api/v1/dossiers/{code}",
                                             headers={"Authorization": f"Bearer {token}"})
            results["api"] = (response.status_code, response.json)
            results["engine"] = dossiers.get_dossier(platform, code, user=firm)
            results["mine"] = dossiers.list_my_dossiers(platform, firm)
        except BaseException as error:  # reported by the assertions below
            results["error"] = error

    reader = threading.Thread(target=read, daemon=True)
    try:
        reader.start()
        reader.join(timeout=20)
        assert not reader.is_alive(), "the read waited for the writer's lock"
        # The writer still holds its lock: nobody else could take it now.
        with pytest.raises(sqlite3.OperationalError):
            other = sqlite3.connect(path, isolation_level=None, timeout=0.1)
            try:
                other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
    finally:
        writer.rollback()
        writer.close()
    assert "error" not in results, results.get("error")
    status, body = results["api"]
    assert status == 200 and body["code"] == code and body["status"] == "submitted"
    assert results["engine"] == body
    assert [d["code"] for d in results["mine"]] == [code]


def test_a_cached_token_still_stops_when_it_expires(platform, app):
    """The cache keeps the token's expiry: an expired token is refused at once, not after
    the cache's own lifetime."""
    firm = accounts.find_user(platform, "doanhnghiep")
    token = accounts.issue_token(platform, firm.id)
    code = submit(platform)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/dossiers/{code}", headers=headers).status_code == 200
    assert accounts.user_for_token(platform, token) == firm  # now cached
    clock.travel(accounts.TOKEN_LIFETIME + timedelta(minutes=1))
    response = client.get(f"/api/v1/dossiers/{code}", headers=headers)
    assert response.status_code == 401 and "invalid_token" in response.headers["WWW-Authenticate"]


def test_a_deactivated_account_stops_its_cached_token_in_this_process(platform, app):
    from engine.admin.users import set_user_active

    firm = accounts.find_user(platform, "doanhnghiep")
    token = accounts.issue_token(platform, firm.id)
    assert accounts.user_for_token(platform, token) == firm
    set_user_active(platform, "doanhnghiep", False, actor="quantri")
    assert accounts.user_for_token(platform, token) is None
    set_user_active(platform, "doanhnghiep", True, actor="quantri")
    assert accounts.user_for_token(platform, token) == firm


def test_the_token_cache_is_bounded_and_forgets_after_its_lifetime(platform, monkeypatch):
    firm = accounts.find_user(platform, "doanhnghiep")
    tokens = [accounts.issue_token(platform, firm.id) for _ in range(3)]
    monkeypatch.setattr(accounts._TOKENS, "size", 2)
    accounts.forget_cached_tokens()
    for token in tokens:
        assert accounts.user_for_token(platform, token) == firm
    assert len(accounts._TOKENS.items) == 2
    # A revoked token (its row gone) works until the cached answer's lifetime ends.
    from engine.models import ApiToken

    with platform.db.transaction() as session:
        session.query(ApiToken).delete()
    assert accounts.user_for_token(platform, tokens[-1]) == firm
    now = [0.0]
    monkeypatch.setattr(accounts.time, "monotonic", lambda: now[0] + 10 ** 9)
    assert accounts.user_for_token(platform, tokens[-1]) is None


def test_a_token_look_up_is_never_throttled_and_leaves_the_browser_session_alone(platform,
                                                                                 app):
    """Polling with a token (more often than the anonymous look-up's 30 a minute) is never
    refused and does not use up the address's anonymous look-ups; a bad token still gets
    nothing. A token call neither reads nor refreshes the browser's session cookie: it
    answers as the token's owner, whoever is signed in on the browser."""
    from tests.web.test_pages import AuthActions

    code = submit(platform)
    token = accounts.issue_token(platform, accounts.find_user(platform, "doanhnghiep").id)
    client = app.test_client()
    assert AuthActions(client).login("congdan").status_code == 302  # another person's cookie
    assert client.get("/").headers.get("Set-Cookie")  # a page refreshes the signed-in cookie
    for _ in range(35):
        response = client.get(f"/api/v1/dossiers/{code}",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json["code"] == code
        assert "Set-Cookie" not in response.headers
        assert response.json["data"]  # the owner's full view, not congdan's refusal
    assert client.get(f"/api/v1/dossiers/{code}",
                      headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    stranger = app.test_client()
    for _ in range(30):  # the anonymous allowance is intact: the token calls did not count
        response = stranger.get(f"/api/v1/dossiers/{code}", query_string={"id_number": "1"})
        assert response.status_code == 404
    response = stranger.get(f"/api/v1/dossiers/{code}", query_string={"id_number": "1"})
    assert response.status_code == 429


def test_the_look_up_shows_a_change_as_soon_as_it_is_committed(platform, app):
    """No cache between the database and the answer: a status written by another
    connection shows on the next look-up, and not before it is committed."""
    from sqlalchemy import update

    from engine.models import Dossier
    from tests.engine.test_db import uncommitted

    code = submit(platform)
    token = accounts.issue_token(platform, accounts.find_user(platform, "doanhnghiep").id)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/dossiers/{code}", headers=headers).json["status"] == "submitted"
    with uncommitted(platform, update(Dossier).where(Dossier.code == code)
                     .values(status="refused")):
        body = client.get(f"/api/v1/dossiers/{code}", headers=headers).json
        assert body["status"] == "submitted"  # uncommitted: not seen, and not waited for
    body = client.get(f"/api/v1/dossiers/{code}", headers=headers).json
    assert body["status"] == "refused" and body["code"] == code
