"""Browser sessions kept on the server (phiên đăng nhập), so that they can be ended.

The session cookie carries a random token; the ``user_session`` row keyed by its SHA-256
says whose it is and since when. Logging out deletes the row, so a copied cookie opens
nothing afterwards; a password change or an administrator's "sign out everywhere" deletes
every row of the user (and their API tokens). A session also ends after
``session_idle_minutes`` without a request and ``session_hours`` after signing in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .models import ApiToken, User, UserSession

#: ``last_seen_at`` is written at most this often (not on every page: reads stay reads).
TOUCH_EVERY = timedelta(seconds=60)


def now() -> datetime:
    """Wall-clock time: session lifetimes are security, not business time, so they do not
    follow :mod:`engine.clock` (which tests and simulations move by days)."""
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(p, user_id: int) -> str:
    """A new session for ``user_id``; the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    at = now()
    with p.db.transaction() as session:
        session.add(UserSession(token_hash=_digest(token), user_id=user_id, created_at=at,
                                last_seen_at=at))
    return token


def resolve(p, token: str) -> int | None:
    """The user id of a live session, or None (unknown, ended, idle or too old: then the
    row is deleted)."""
    at = now()
    settings = p.settings
    digest = _digest(token)
    with p.db.read() as session:
        row = session.execute(select(UserSession.user_id, UserSession.created_at,
                                     UserSession.last_seen_at)
                              .where(UserSession.token_hash == digest)).first()
    if row is None:
        return None
    if (at - row.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
            or at - row.created_at > timedelta(hours=settings.session_hours)):
        end(p, token)
        return None
    if at - row.last_seen_at > TOUCH_EVERY:
        with p.db.transaction() as session:
            session.execute(update(UserSession).where(UserSession.token_hash == digest)
                            .values(last_seen_at=at))
    return row.user_id


def end(p, token: str) -> None:
    """End one session (logout)."""
    with p.db.transaction() as session:
        session.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))


def end_all(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """End every session and API token of ``user_id`` in the caller's transaction, except
    the session ``keep`` (the browser that changed its own password); how many sessions."""
    condition = UserSession.user_id == user_id
    if keep:
        condition &= UserSession.token_hash != _digest(keep)
    ended = session.execute(delete(UserSession).where(condition)).rowcount
    session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
    return ended or 0


def count_for(p, username: str) -> int:
    """How many sessions the user ``username`` has open (the administrator's user page)."""
    with p.db.read() as session:
        return session.execute(select(func.count()).select_from(UserSession)
                               .join(User, User.id == UserSession.user_id)
                               .where(User.username == username)).scalar_one()
