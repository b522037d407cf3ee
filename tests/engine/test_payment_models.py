"""The payment table (engine/payment_models.py): an attempt starts pending in đồng, and an
order reference is used once only, for ever."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.models import Dossier
from engine.payment_models import PAYMENT_STATUSES, Payment
from tests.engine.factories import submit


def test_a_payment_starts_pending_in_dong_and_belongs_to_its_dossier(platform):
    code = submit(platform)
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        session.add(Payment(dossier_id=dossier.id, txn_ref="T-1", amount=200_000,
                            provider="vnpay"))
    with platform.db.read() as session:
        payment = session.execute(select(Payment)).scalar_one()
        assert (payment.status, payment.currency) == ("pending", "VND")
        assert payment.status in PAYMENT_STATUSES
        assert payment.dossier.code == code and payment.created_at is not None


def test_an_order_reference_is_never_used_twice(platform):
    code = submit(platform)
    with platform.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()
        session.add(Payment(dossier_id=dossier_id, txn_ref="T-2", amount=1, provider="vnpay"))
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        session.add(Payment(dossier_id=dossier_id, txn_ref="T-2", amount=1, provider="vnpay"))
