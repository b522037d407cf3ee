"""Agencies, roles, users and what signs them in (API tokens, sessions, account links)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..columns import Base, utcnow


class Agency(Base):
    """An agency (cơ quan): the province, a department, a district finance office…"""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # QCVN 102:2016 identifier
    name_vi: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[str] = mapped_column(String(20), default="department")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    email: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # closed agencies keep their rows


class Role(Base):
    """A role an officer holds in an agency; BPMN lane names are role codes."""

    __tablename__ = "role"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255), default="")


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20), default="citizen")  # citizen | firm | staff
    email: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    id_number: Mapped[str] = mapped_column(String(40), default="")  # CCCD or tax code
    title: Mapped[str] = mapped_column(String(255), default="")  # chức vụ, on signatures
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the language last chosen on the portal: e-mails to the account are in it alone
    language: Mapped[str] = mapped_column(String(5), default="vi", server_default="vi")
    # the postal address, for forms that prefill it (x-prefill: address)
    address: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # How the applicant wants notices: "email", "sms" or "email,sms" (engine/notices.py).
    notify_channels: Mapped[str] = mapped_column(String(20), default="email",
                                                 server_default="email")

    agency: Mapped[Agency | None] = relationship(lazy="joined")
    # Loaded only where asked for: users come along with every dossier and task row.
    roles: Mapped[list[UserRole]] = relationship(lazy="select", cascade="all, delete-orphan")

    def role_codes(self, agency_id: int | None = None) -> set[str]:
        return {r.role_code for r in self.roles if agency_id is None or r.agency_id == agency_id}


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("role.code"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class UserSession(Base):
    """A signed-in browser session (phiên đăng nhập), kept on the server so that it can be
    ended: the cookie holds a random token, this row its hash. Logging out deletes the row;
    a password change and an administrator's "sign out everywhere" delete all of a user's."""

    __tablename__ = "user_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountToken(Base):
    """A single-use link sent by e-mail: confirm a new account's address (``confirm``) or
    choose a new password (``reset``). Only its hash is kept; ``used_at`` ends it."""

    __tablename__ = "account_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
