"""Users, roles and API tokens. Passwords are argon2 hashes; tokens are stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import clock
from .errors import InvalidData
from .models import Agency, ApiToken, Role, User, UserRole

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def use_hasher(hasher: PasswordHasher) -> None:
    """Replace the password hasher (tests use cheap parameters; hashes stay verifiable)."""
    global _hasher
    _hasher = hasher
TOKEN_LIFETIME = timedelta(days=30)
STAFF_ROLES_ANALYST = "analyst"
STAFF_ROLES_ADMIN = "admin"


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
                    roles=tuple(sorted((role, agency) for role, agency in roles)))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


#: Letters and digits of a generated password, without the look-alikes (0/O, 1/l/I) that
#: get mistyped when a one-time password is read off a screen or a printout.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password(length: int = 12) -> str:
    """A random one-time password (~70 bits at the default length) for a new or reset
    account; shown once, stored only as its argon2 hash."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def set_password(user: User, password: str) -> None:
    """Replace ``user``'s password (hashed) in the caller's transaction."""
    user.password_hash = hash_password(password)


def list_roles(p) -> list[dict]:
    """Every role ``{code, name_vi, name_en}`` by code: lane names in diagrams, and what
    officers hold in an agency."""
    with p.db.transaction() as session:
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
    with p.db.transaction() as session:
        user = session.execute(select(User).where(User.username == username)).scalar()
        return _view(session, user) if user is not None and user.active else None


def load_user(p, user_id: int) -> UserView | None:
    with p.db.transaction() as session:
        user = session.get(User, user_id)
        return _view(session, user) if user is not None and user.active else None


def issue_token(p, user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    with p.db.transaction() as session:
        session.add(ApiToken(token_hash=hashlib.sha256(token.encode()).hexdigest(),
                             user_id=user_id, expires_at=clock.now() + TOKEN_LIFETIME))
    return token


def user_for_token(p, token: str) -> UserView | None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    with p.db.transaction() as session:
        row = session.get(ApiToken, digest)
        if row is None or row.expires_at < clock.now():
            return None
        user = session.get(User, row.user_id)
        return _view(session, user) if user is not None and user.active else None


def create_user(session: Session, *, username: str, password: str, full_name: str,
                kind: str = "citizen", email: str = "", phone: str = "", id_number: str = "",
                title: str = "", agency_code: str | None = None,
                roles: list[tuple[str, str]] = ()) -> User:
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
    user.id_number, user.title = id_number, title
    user.agency_id = agencies[agency_code].id if agency_code else None
    session.flush()
    user.roles = [UserRole(user_id=user.id, role_code=r, agency_id=agencies[a].id)
                  for r, a in roles]
    session.flush()
    return user
