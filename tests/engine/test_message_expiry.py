"""Messages that can no longer be delivered expire instead of staying pending for ever:
those addressed to a dossier that has ended (a fee confirmed for a withdrawn dossier), and
those nobody has waited for within the configured time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import accounts, clock, lifecycle, worker
from engine.models import AuditEvent, Dossier, Message
from tests.engine.elements.kit import post_message
from tests.engine.factories import submit


def message(p, message_id: int) -> Message:
    with p.db.transaction() as session:
        return session.get(Message, message_id)


def test_a_message_to_a_dossier_that_ended_expires_and_is_audited(platform):
    p = platform
    code = submit(p)
    sent = post_message(p, "payment_confirmed", code, {"amount": 50000})
    assert worker.tick(p)["expired"] == 0  # the dossier runs: it may still come to wait
    assert message(p, sent).status == "pending"

    lifecycle.withdraw(p, code, accounts.find_user(p, "doanhnghiep"), "Không còn nhu cầu.")
    assert worker.tick(p)["expired"] == 1
    expired = message(p, sent)
    assert expired.status == "expired" and "withdrawn" in expired.last_error
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        [event] = session.execute(select(AuditEvent).where(
            AuditEvent.dossier_id == dossier.id,
            AuditEvent.action == "message_expired")).scalars().all()
        assert event.detail["message_id"] == sent
    assert worker.tick(p)["expired"] == 0  # once


def test_a_message_nobody_waits_for_expires_after_the_configured_days(platform):
    p = platform
    stray = post_message(p, "no_such_step", "000.00.14.H56-261126-9999")
    clock.travel(timedelta(days=p.settings.message_ttl_days - 1))
    assert worker.tick(p)["expired"] == 0 and message(p, stray).status == "pending"
    clock.travel(timedelta(days=2))
    assert worker.tick(p)["expired"] == 1
    assert "90 days" in message(p, stray).last_error
