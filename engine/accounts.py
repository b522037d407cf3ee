"""Users, roles and API tokens. Passwords are argon2 hashes; tokens are stored hashed."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, object_session

from . import audit, clock, sessions
from .errors import InvalidData
from .lookup import by_code
from .models import Agency, ApiToken, Role, User, UserRole
from .vocabulary import RoleCode

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def use_hasher(hasher: PasswordHasher) -> None:
    """Replace the password hasher (tests use cheap parameters; hashes stay verifiable)."""
    global _hasher
    _hasher = hasher
TOKEN_LIFETIME = timedelta(days=30)
STAFF_ROLES_ANALYST = RoleCode.ANALYST
STAFF_ROLES_ADMIN = RoleCode.ADMIN


@dataclass(frozen=True)
class UserView:
    """What the rest of the system knows of a signed-in user."""

    id: int
    username: str
    full_name: str
    kind: str
    email: str = ""
    id_number: str = ""
    title: str = ""
    agency_code: str = ""
    agency_name: str = ""
    roles: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (role, agency code)
    phone: str = ""
    #: the account's postal address, where the account has one (forms' ``x-prefill``)
    address: str = ""
    #: the language the account last chose on the portal (``vi`` / ``en``): its e-mails'
    language: str = "vi"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_analyst(self) -> bool:
        return self.has_role(STAFF_ROLES_ANALYST) or self.is_admin

    @property
    def is_admin(self) -> bool:
        return self.has_role(STAFF_ROLES_ADMIN)

    def has_role(self, code: str, agency_code: str | None = None) -> bool:
        return any(r == code and (agency_code is None or a == agency_code) for r, a in self.roles)


def _view(session: Session, user: User) -> UserView:
    roles = session.execute(select(UserRole.role_code, Agency.code)
                            .join(Agency, Agency.id == UserRole.agency_id)
                            .where(UserRole.user_id == user.id)).all()
    return UserView(id=user.id, username=user.username, full_name=user.full_name, kind=user.kind,
                    email=user.email, id_number=user.id_number, title=user.title,
                    agency_code=user.agency.code if user.agency else "",
                    agency_name=user.agency.name_vi if user.agency else "",
                    roles=tuple(sorted((role, agency) for role, agency in roles)),
                    phone=user.phone or "", address=user.address or "",
                    language=user.language or "vi")


def set_language(p, user_id: int, language: str) -> None:
    """Remember the language the user chose (``vi`` or ``en``): e-mails to them use it."""
    if language not in ("vi", "en"):
        raise InvalidData(f"Unknown language {language!r}.",
                          vi=f"Không có ngôn ngữ {language!r}.")
    with p.db.transaction() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.language = language


def hash_password(password: str) -> str:
    return _hasher.hash(password)


#: Letters and digits of a generated password, without the look-alikes (0/O, 1/l/I) that
#: get mistyped when a one-time password is read off a screen or a printout.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password(length: int = 12) -> str:
    """A random one-time password (~70 bits at the default length) for a new or reset
    account; shown once, stored only as its argon2 hash."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def set_password(user: User, password: str, *, keep_session: str | None = None) -> None:
    """Replace ``user``'s password (hashed) in the caller's transaction, ending the user's
    sessions and API tokens there (all but the browser session ``keep_session``)."""
    user.password_hash = hash_password(password)
    session = object_session(user)
    if session is not None and user.id is not None:
        sessions.end_all(session, user.id, keep=keep_session)
        forget_cached_tokens()


def list_roles(p) -> list[dict]:
    """Every role ``{code, name_vi, name_en}`` by code: lane names in diagrams, and what
    officers hold in an agency."""
    with p.db.read() as session:
        rows = session.execute(select(Role).order_by(Role.code)).scalars().all()
        return [{"code": r.code, "name_vi": r.name_vi, "name_en": r.name_en} for r in rows]


def authenticate(p, username: str, password: str) -> UserView | None:
    """The user if the password is right; None otherwise (same answer for unknown users)."""
    with p.db.transaction() as session:
        user = session.execute(select(User).where(User.username == username.strip())).scalar()
        if user is None or not user.active:
            _hasher.hash(password)  # same cost either way: no user enumeration by timing
            return None
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        return _view(session, user)


def find_user(p, username: str) -> UserView | None:
    """The active user with this username, without a password (for trusted callers)."""
    with p.db.read() as session:
        user = session.execute(select(User).where(User.username == username)).scalar()
        return _view(session, user) if user is not None and user.active else None


def load_user(p, user_id: int) -> UserView | None:
    with p.db.read() as session:
        user = session.get(User, user_id)
        return _view(session, user) if user is not None and user.active else None


def issue_token(p, user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    with p.db.transaction() as session:
        session.add(ApiToken(token_hash=hashlib.sha256(token.encode()).hexdigest(),
                             user_id=user_id, expires_at=clock.now() + TOKEN_LIFETIME))
    return token


#: How long a resolved bearer token is trusted without asking the database again.
TOKEN_CACHE_SECONDS = 30.0
TOKEN_CACHE_SIZE = 4096


class _TokenCache:
    """Bearer token → (user, token expiry), in process, for :data:`TOKEN_CACHE_SECONDS`.

    Bounded (:data:`TOKEN_CACHE_SIZE` entries, least recently used dropped first) and
    thread-safe. Keys are token digests together with the database they came from, so
    two platforms in one process (tests, benchmarks) never share an answer. Only positive
    answers are kept: an unknown token always asks the database.
    """

    def __init__(self, size: int = TOKEN_CACHE_SIZE):
        self.size = size
        self.items: OrderedDict[tuple, tuple[float, UserView, object]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> tuple[UserView, object] | None:
        with self.lock:
            entry = self.items.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self.items[key]
                return None
            self.items.move_to_end(key)
            return entry[1], entry[2]

    def put(self, key: tuple, user: UserView, expires_at) -> None:
        with self.lock:
            self.items[key] = (time.monotonic() + TOKEN_CACHE_SECONDS, user, expires_at)
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_TOKENS = _TokenCache()


def forget_cached_tokens() -> None:
    """Drop every cached token resolution in this process (the next request asks the
    database). Other server processes forget theirs within :data:`TOKEN_CACHE_SECONDS`."""
    _TOKENS.clear()


def user_for_token(p, token: str) -> UserView | None:
    """The active user a bearer token belongs to, or None if it is unknown or expired.

    The answer is cached in process for :data:`TOKEN_CACHE_SECONDS` (30 s): a token that is
    revoked (its row deleted), or whose account is deactivated or whose roles change, keeps
    working for at most that long in a server process that has just seen it. The token's
    own expiry is checked on every call, cached or not: an expired token stops at once.
    A database miss is a read transaction with no ORM objects (it never waits for a step).
    """
    digest = hashlib.sha256(token.encode()).hexdigest()
    key = (id(p.db), digest)
    cached = _TOKENS.get(key)
    if cached is not None:
        user, expires_at = cached
        return user if expires_at >= clock.now() else None
    with p.db.read() as session:
        row = session.execute(_TOKEN_LOOKUP, {"digest": digest}).first()
        if row is None or row.expires_at < clock.now() or not row.active:
            return None
        roles = session.execute(_USER_ROLES, {"user_id": row.id}).all()
    user = UserView(id=row.id, username=row.username, full_name=row.full_name, kind=row.kind,
                    email=row.email, id_number=row.id_number, title=row.title,
                    agency_code=row.agency_code or "", agency_name=row.agency_name or "",
                    roles=tuple(sorted((role, agency) for role, agency in roles)),
                    phone=row.phone or "", address=row.address or "",
                    language=row.language or "vi")
    _TOKENS.put(key, user, row.expires_at)
    return user


# Built once: a bearer token is resolved on most API calls.
_TOKEN_LOOKUP = (
    select(ApiToken.expires_at, User.id, User.username, User.full_name, User.kind, User.email,
           User.id_number, User.title, User.active, User.phone, User.address, User.language,
           Agency.code.label("agency_code"),
           Agency.name_vi.label("agency_name"))
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Agency, Agency.id == User.agency_id)
    .where(ApiToken.token_hash == bindparam("digest")))
_USER_ROLES = (select(UserRole.role_code, Agency.code)
               .join(Agency, Agency.id == UserRole.agency_id)
               .where(UserRole.user_id == bindparam("user_id")))


def create_user(session: Session, *, username: str, password: str, full_name: str,
                kind: str = "citizen", email: str = "", phone: str = "", id_number: str = "",
                title: str = "", agency_code: str | None = None,
                roles: list[tuple[str, str]] = (), address: str = "") -> User:
    """Create (or update, keeping the id) a user with the given roles ``[(role, agency code)]``."""
    agencies = {a.code: a for a in session.execute(select(Agency)).scalars()}
    for _, code in roles:
        if code not in agencies:
            raise InvalidData(f"Unknown agency code {code!r}.", vi=f"Không có cơ quan mã {code!r}.")
    user = session.execute(select(User).where(User.username == username)).scalar()
    if user is None:
        user = User(username=username)
        session.add(user)
    user.password_hash = hash_password(password)
    user.full_name, user.kind, user.email, user.phone = full_name, kind, email, phone
    user.id_number, user.title, user.address = id_number, title, address
    user.agency_id = agencies[agency_code].id if agency_code else None
    session.flush()
    user.roles = [UserRole(user_id=user.id, role_code=r, agency_id=agencies[a].id)
                  for r, a in roles]
    session.flush()
    return user


def sign_out_everywhere(p, username: str, *, actor: str) -> int:
    """(Administrator) end every session and API token of ``username``, audited; how many
    sessions ended. :class:`~engine.errors.NotFound` for an unknown user."""
    with p.db.transaction() as session:
        user_id = by_code(session, User, username).id
        ended = sessions.end_all(session, user_id)
        audit.append(session, actor=actor, action="admin_user_signed_out",
                     detail={"user": username, "sessions": ended})
    forget_cached_tokens()
    return ended
