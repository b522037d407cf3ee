"""engine.step.facts: what a locked read brings besides the rows — the national record's
facts, the same as read on their own, and the calendar's revision as the database holds
it — handed to the transaction's unit of work."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine import national
from engine.identity_models import IdentityLink
from engine.models import CalendarOverride, Dossier, Revision
from engine.payment_models import Payment
from engine.revisions import CALENDAR
from engine.step import load
from engine.unit import unit_of
from tests.engine.factories import submit


def _lock(p, code: str):
    """The facts and revision a locked read hands to its unit, and the same read apart."""
    with p.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()
        session.expunge_all()  # a fresh transaction's first read: the one-row path
        dossier = load.lock_dossier(session, dossier_id)
        unit = unit_of(session)
        revision = session.execute(select(Revision.n).where(Revision.name == CALENDAR)).scalar()
        return (unit.national_facts[dossier.id], unit.calendar_revision,
                national._facts(session, dossier), revision)


def test_a_locked_read_brings_the_facts_and_the_revision_as_read_apart(platform):
    code = submit(platform)  # its first record is queued: one record sent before
    kept, revision, apart, current = _lock(platform, code)
    assert kept == apart == (1, 0, False)
    assert revision == current
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        session.add_all([
            IdentityLink(user_id=dossier.applicant_id, issuer="https://vneid.test",
                         subject="cong-dan-1"),
            Payment(dossier_id=dossier.id, txn_ref="T-1", amount=50000, status="paid",
                    provider="vnpay"),
            Payment(dossier_id=dossier.id, txn_ref="T-2", amount=50000, status="pending",
                    provider="vnpay"),
            CalendarOverride(day=date(2031, 5, 5), kind="off", note="Bão")])
    kept, moved, apart, current = _lock(platform, code)
    assert kept == apart == (1, 1, True)  # the pending payment does not count
    assert moved == current and moved != revision
