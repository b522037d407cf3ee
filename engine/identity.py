"""Signing in with the national identity (VNeID, or the national public-service portal's
single sign-on): the accounts' side of OpenID Connect.

The web layer (:mod:`web.identity`) runs the protocol with Authlib — authorization code
with PKCE, ``state`` and ``nonce`` checked, the ID token's signature checked against the
provider's published keys — and hands this module the identity it proved: the issuer,
the subject (``sub``) and the claims. Here the identity becomes an account:

- **an identity already linked** signs in to its account (the claims are refreshed);
- **a signed-in citizen or firm** that starts the login links the identity to their own
  account (they proved the account with its password, the identity at the provider);
- **otherwise a new citizen account** is created from the claims, with no usable
  password (the account signs in through the provider; "forgot password" can give it
  one when it has an e-mail address).

An identity is **never linked to an existing account by a matching e-mail address or
identification number**: the account's e-mail address and ID number were typed by whoever
registered it (only the address was confirmed, by a link), so matching on them would hand
an account to a stranger, or a real person's identity to the stranger's account. Linking
an existing account takes signing in to it first. Staff accounts are not linked: they
sign in with their password.

Every sign-in, link and creation is audited (``identity_login``, ``identity_linked``,
``identity_account_created``). An account with a link is "verified with the national ID
app" in the records sent to the national portal (:func:`is_verified`,
:mod:`engine.national`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import accounts, audit, clock
from .errors import Conflict, EngineError, PermissionDenied
from .identity_models import IdentityLink
from .models import User

#: Where the local stand-in provider is served (web/oidc_standin.py), under the portal.
STAND_IN_PATH = "/sandbox/oidc"
#: The portal's registration with the stand-in provider.
STAND_IN_CLIENT_ID = "motcua-demo"
STAND_IN_CLIENT_SECRET = "sandbox-oidc-demo-secret"
#: What the portal asks the provider for.
SCOPE = "openid profile email phone address"
#: The account fields an identity's claims fill (forms' ``x-prefill``), with their limits.
FIELDS = {"full_name": 255, "birth_date": 10, "id_number": 40, "address": 500, "phone": 40,
          "email": 255}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class IdentityRefused(EngineError):
    """The provider's answer cannot be trusted or used: nobody is signed in."""

    status = 400


@dataclass(frozen=True)
class Provider:
    """The identity provider the portal signs in with."""

    issuer: str
    client_id: str
    client_secret: str
    stand_in: bool = False

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def provider(settings) -> Provider | None:
    """The configured provider; the local stand-in when it is served and none is set; None
    when there is none (no "sign in with VNeID" button)."""
    if settings.oidc_issuer and settings.oidc_client_id:
        return Provider(settings.oidc_issuer.rstrip("/"), settings.oidc_client_id,
                        settings.oidc_client_secret)
    if settings.oidc_stand_in:
        return Provider(f"{settings.public_url.rstrip('/')}{STAND_IN_PATH}",
                        STAND_IN_CLIENT_ID, STAND_IN_CLIENT_SECRET, stand_in=True)
    return None


def _clean(value, limit: int) -> str:
    text = unicodedata.normalize("NFC", value if isinstance(value, str) else "").strip()
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")[:limit]


def account_values(claims: Mapping, id_number_claim: str = "id_number") -> dict:
    """The identity's claims (OpenID Connect's standard ones, and ``id_number_claim`` for
    the personal identification number) as account fields (:data:`FIELDS`), the empty
    ones left out. The e-mail address only when the provider says it is verified."""
    address = claims.get("address")
    if isinstance(address, Mapping):
        address = address.get("formatted")
    name = claims.get("name") or " ".join(
        part for part in (claims.get("family_name"), claims.get("middle_name"),
                          claims.get("given_name")) if isinstance(part, str) and part)
    birth = claims.get("birthdate")
    values = {
        "full_name": name, "id_number": claims.get(id_number_claim), "address": address,
        "birth_date": birth if isinstance(birth, str) and _DATE.match(birth) else "",
        "phone": claims.get("phone_number"),
        "email": claims.get("email") if claims.get("email_verified") is True else "",
    }
    cleaned = {key: _clean(value, FIELDS[key]) for key, value in values.items()}
    return {key: value for key, value in cleaned.items() if value}


def sign_in(p, issuer: str, subject: str, values: Mapping, *,
            current_user_id: int | None = None) -> tuple[accounts.UserView, str]:
    """The account of the identity ``(issuer, subject)``, linked or created as the module
    says; ``(user, outcome)`` with outcome ``"login"``, ``"linked"`` or ``"created"``.
    ``current_user_id``: the account signed in on this browser, which links the identity.
    :class:`Conflict` when the identity or the account is linked elsewhere,
    :class:`PermissionDenied` for a staff or deactivated account."""
    if not subject or len(subject) > 255:
        raise IdentityRefused("The identity provider named no usable subject.",
                              vi="Máy chủ định danh không trả về mã định danh hợp lệ.")
    values = {key: value for key, value in values.items() if key in FIELDS}
    try:
        user_id, outcome = _sign_in(p, issuer, subject, values, current_user_id)
    except IntegrityError:  # the same new identity, signing in twice at once: it is linked now
        user_id, outcome = _sign_in(p, issuer, subject, values, current_user_id)
    return accounts.load_user(p, user_id), outcome


def _sign_in(p, issuer: str, subject: str, values: dict,
             current_user_id: int | None) -> tuple[int, str]:
    with p.db.transaction() as session:
        link = session.execute(select(IdentityLink).where(
            IdentityLink.issuer == issuer, IdentityLink.subject == subject)).scalar()
        if current_user_id is not None:
            user, link, outcome = _link_current(session, link, issuer, subject,
                                                current_user_id)
        elif link is not None:
            user, outcome = session.get(User, link.user_id), "login"
            if user is None or not user.active:
                raise PermissionDenied(
                    "The account linked to this identity is deactivated.",
                    vi="Tài khoản liên kết với định danh này đã bị khóa.")
        else:
            user = _new_account(session, issuer, subject, values)
            link, outcome = _new_link(session, user.id, issuer, subject), "created"
        link.claims = dict(values)
        link.id_number = values.get("id_number", "")
        link.last_login_at = clock.now()
        action = {"login": "identity_login", "linked": "identity_linked",
                  "created": "identity_account_created"}[outcome]
        audit.append(session, actor=user.username, action=action,
                     detail={"user": user.username, "issuer": issuer, "subject": subject})
        session.flush()
        return user.id, outcome


def _new_link(session: Session, user_id: int, issuer: str, subject: str) -> IdentityLink:
    link = IdentityLink(user_id=user_id, issuer=issuer, subject=subject, claims={},
                        linked_at=clock.now(), last_login_at=clock.now())
    session.add(link)
    return link


def _link_current(session: Session, link: IdentityLink | None, issuer: str, subject: str,
                  user_id: int) -> tuple[User, IdentityLink, str]:
    """Link the identity to the signed-in account ``user_id`` (or find it linked there)."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.kind == "staff":
        raise PermissionDenied(
            "Staff accounts sign in with their password; they are not linked to a national "
            "identity.",
            vi="Tài khoản cán bộ đăng nhập bằng mật khẩu, không liên kết với định danh "
               "quốc gia.")
    if link is not None:
        if link.user_id != user_id:
            raise Conflict(
                "This national identity is already linked to another account. Sign out and "
                "sign in with the national identity to use that account.",
                vi="Định danh quốc gia này đã liên kết với một tài khoản khác. Hãy đăng xuất "
                   "rồi đăng nhập bằng định danh quốc gia để dùng tài khoản đó.")
        return user, link, "login"
    other = session.execute(select(IdentityLink.id).where(
        IdentityLink.user_id == user_id, IdentityLink.issuer == issuer)).first()
    if other is not None:
        raise Conflict("This account is already linked to another national identity.",
                       vi="Tài khoản này đã liên kết với một định danh quốc gia khác.")
    return user, _new_link(session, user_id, issuer, subject), "linked"


def _new_account(session: Session, issuer: str, subject: str, values: Mapping) -> User:
    """A citizen account for a new identity. Its e-mail address is left empty when another
    account has it (a reset link must not reach two people's accounts)."""
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    username = f"dinhdanh-{digest[:12]}"
    taken = session.execute(select(User.id).where(User.username == username)).first()
    if taken is not None:
        username = f"dinhdanh-{digest[:24]}"
    email = values.get("email", "")
    if email and session.execute(select(User.id).where(
            func.lower(User.email) == email.lower())).first() is not None:
        email = ""
    user = User(username=username, full_name=values.get("full_name") or username,
                kind="citizen", email=email, phone=values.get("phone", ""),
                id_number=values.get("id_number", ""), address=values.get("address", ""),
                password_hash=accounts.hash_password(secrets.token_urlsafe(32)), active=True)
    session.add(user)
    session.flush()
    return user


def prefill_values(p, user_id: int) -> dict:
    """The claims the account's identity last brought (:data:`FIELDS`), for forms'
    ``x-prefill``; empty for an account with no identity."""
    with p.db.read() as session:
        claims = session.execute(
            select(IdentityLink.claims).where(IdentityLink.user_id == user_id)
            .order_by(IdentityLink.last_login_at.desc()).limit(1)).scalar()
    return {key: value for key, value in (claims or {}).items() if key in FIELDS}


def links(p, user_id: int) -> list[dict]:
    """The account's identities: ``{issuer, linked_at, last_login_at, claims}``."""
    with p.db.read() as session:
        rows = session.execute(select(IdentityLink).where(IdentityLink.user_id == user_id)
                               .order_by(IdentityLink.linked_at)).scalars().all()
        return [{"issuer": row.issuer, "linked_at": row.linked_at,
                 "last_login_at": row.last_login_at, "claims": dict(row.claims or {})}
                for row in rows]


# Built once: a step asks it with every status record it sends (engine.national).
#: Whether the account ``user_id`` (a bind parameter) is verified: linked to a national
#: identity. A clause, so that other statements can ask it too (:mod:`engine.national`).
VERIFIED = exists().where(IdentityLink.user_id == bindparam("user_id"))
_VERIFIED = select(VERIFIED)


def is_verified(session: Session, user_id: int) -> bool:
    """Whether the account signed in with a national identity (the national portal's
    "account verified with the national ID app")."""
    return bool(session.execute(_VERIFIED, {"user_id": user_id}).scalar())
