"""The audit chain: every action is recorded, and editing or deleting any event is caught."""

from sqlalchemy import delete, select, update

from engine import accounts, audit, tasks
from engine.models import AuditEvent
from tests.engine.factories import reception_task, submit


def test_actions_are_recorded_in_order_and_the_chain_verifies(platform):
    code = submit(platform)
    tasks.complete(platform, accounts.find_user(platform, "motcua"),
                   reception_task(platform, code), {"reception_decision": "accept"})
    with platform.db.transaction() as session:
        actions = [e.action for e in session.execute(
            select(AuditEvent).where(AuditEvent.dossier_id.is_not(None))
            .order_by(AuditEvent.id)).scalars()]
    assert actions[:2] == ["submit", "notify"]
    assert "complete" in actions and actions.count("status") == 1
    report = audit.verify_chain(platform)
    assert report["ok"] and report["events"] > len(actions)


def test_an_edited_event_breaks_the_chain_where_it_was_edited(platform):
    submit(platform)
    with platform.db.transaction() as session:
        target = session.execute(select(AuditEvent).where(AuditEvent.action == "submit")).scalar()
        session.execute(update(AuditEvent).where(AuditEvent.id == target.id)
                        .values(actor="someone-else"))
    report = audit.verify_chain(platform)
    assert report == {"ok": False, "events": report["events"], "first_bad_id": target.id}


def test_a_deleted_event_breaks_the_chain(platform):
    submit(platform)
    with platform.db.transaction() as session:
        first = session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars().first()
        session.execute(delete(AuditEvent).where(AuditEvent.id == first + 1))
    assert not audit.verify_chain(platform)["ok"]


def test_removing_the_newest_event_is_caught_by_the_head(platform):
    submit(platform)
    with platform.db.transaction() as session:
        last = session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc())).scalars().first()
        session.execute(delete(AuditEvent).where(AuditEvent.id == last))
    assert not audit.verify_chain(platform)["ok"]
