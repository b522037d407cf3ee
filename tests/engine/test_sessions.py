"""Browser sessions kept on the server (:mod:`engine.sessions`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import accounts, sessions
from engine.models import UserSession


def _user_id(platform, username: str = "doanhnghiep") -> int:
    return accounts.find_user(platform, username).id


def _at(monkeypatch, start, delta: timedelta) -> None:
    monkeypatch.setattr(sessions, "now", lambda: start + delta)


def test_a_session_opens_until_logout_and_only_its_hash_is_stored(platform):
    user = _user_id(platform)
    token = sessions.start(platform, user)
    assert sessions.resolve(platform, token) == user
    with platform.db.read() as session:
        stored = session.execute(select(UserSession.token_hash)).scalars().all()
    assert token not in stored and len(stored) == 1
    sessions.end(platform, token)
    assert sessions.resolve(platform, token) is None
    assert sessions.resolve(platform, "a-made-up-token") is None


def test_a_session_ends_when_idle_and_when_too_old_however_busy(platform, monkeypatch):
    user, start = _user_id(platform), sessions.now()
    _at(monkeypatch, start, timedelta(0))
    idle = sessions.start(platform, user)
    busy = sessions.start(platform, user)
    idle_limit = timedelta(minutes=platform.settings.session_idle_minutes)
    hour = 0
    while timedelta(hours=hour + 1) < timedelta(hours=platform.settings.session_hours):
        hour += 1
        _at(monkeypatch, start, timedelta(hours=hour))  # a request every hour
        assert sessions.resolve(platform, busy) == user
    assert timedelta(hours=hour) > idle_limit
    assert sessions.resolve(platform, idle) is None  # gone: no request for hours
    _at(monkeypatch, start, timedelta(hours=platform.settings.session_hours, minutes=1))
    assert sessions.resolve(platform, busy) is None
    assert sessions.count_for(platform, "doanhnghiep") == 0


def test_signing_out_everywhere_keeps_only_the_browser_that_asked(platform):
    user = _user_id(platform)
    here, elsewhere = sessions.start(platform, user), sessions.start(platform, user)
    with platform.db.transaction() as session:
        assert sessions.end_all(session, user, keep=here) == 1
    assert sessions.resolve(platform, here) == user
    assert sessions.resolve(platform, elsewhere) is None
