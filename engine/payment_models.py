"""The ``payment`` table: one attempt to pay a dossier's fee online through a gateway.

Kept in its own module (on the shared :class:`engine.columns.Base`) so that the payment
feature can be added without touching the core tables; :mod:`engine.schema`
gathers it with the others (``create_all``, the migrations).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .columns import Base, utcnow

PAYMENT_STATUSES = ("pending", "paid", "failed")


class Payment(Base):
    """A fee payment (thanh toán phí, lệ phí) of a dossier.

    ``txn_ref`` is our order reference at the gateway (``vnp_TxnRef``), unique for ever;
    ``amount`` is in whole đồng (VND has no minor unit; the gateway's ×100 stays in the
    gateway). ``status`` goes ``pending`` → ``paid`` or ``failed``; ``provider_txn`` is the
    gateway's own transaction number and ``raw_callback`` the signed parameters of the
    callback that settled it, kept as evidence.
    """

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    txn_ref: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|paid|failed
    provider: Mapped[str] = mapped_column(String(40))
    provider_txn: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    raw_callback: Mapped[dict | None] = mapped_column(JSON)

    dossier: Mapped[Dossier] = relationship(lazy="joined")  # noqa: F821  (engine.models)

    __table_args__ = (Index("ix_payment_dossier", "dossier_id", "status"),)
