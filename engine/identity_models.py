"""The ``identity_link`` table: an account's national identity (VNeID / the national
portal's single sign-on), one row per account and identity provider.

Kept in its own module (on the shared :class:`engine.columns.Base`), like the payments'
table; :mod:`engine.schema` gathers it with the others.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .columns import Base, utcnow


class IdentityLink(Base):
    """The identity ``subject`` (the provider's ``sub``) of ``issuer`` belongs to the account
    ``user_id``. ``claims`` are the account fields the provider last told us (full name,
    date of birth, personal identification number, address, phone, e-mail), refreshed at
    every sign-in: application forms prefill from them (``x-prefill``)."""

    __tablename__ = "identity_link"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_identity_link_subject"),
                      UniqueConstraint("user_id", "issuer", name="uq_identity_link_user"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    id_number: Mapped[str] = mapped_column(String(40), default="")
    claims: Mapped[dict] = mapped_column(JSON, default=dict)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(default=utcnow)
