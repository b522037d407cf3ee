"""Audit anchors: a rewritten and re-hashed audit row passes the chain check but not the
signed anchor, which names it."""

import json

from sqlalchemy import select, update

from engine import accounts, anchors, audit, tasks
from engine.audit import GENESIS, _digest
from engine.models import AuditEvent, AuditHead
from tests.engine.factories import reception_task, submit


def rewrite_and_rehash(p, event_id: int, **changes) -> None:
    """What someone with write access to the database could do: change one event, then
    recompute every hash after it (and the head) so the chain holds again."""
    with p.db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(**changes))
        prev = GENESIS
        for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
            event.prev_hash = prev
            event.hash = prev = _digest(prev, event.at, event.actor, event.action,
                                        event.dossier_id, event.detail)
        session.get(AuditHead, 1).last_hash = prev


def test_a_rewritten_and_rehashed_row_is_caught_by_the_anchor(platform):
    code = submit(platform)
    made = anchors.anchor(platform)
    assert made["events"] > 0 and made["path"].parent == platform.settings.data_dir / \
        "audit-anchors"
    assert anchors.anchor(platform)["events"] == 0  # nothing new: no second anchor
    tasks.complete(platform, accounts.find_user(platform, "motcua"),
                   reception_task(platform, code), {"reception_decision": "accept"})
    assert anchors.verify(platform)["ok"]  # later events: checked by the chain alone

    with platform.db.read() as session:
        victim = session.execute(select(AuditEvent.id).where(AuditEvent.id <= made["last_id"])
                                 .order_by(AuditEvent.id.desc())).scalars().first()
    rewrite_and_rehash(platform, victim, actor="ke-gian")
    assert audit.verify_chain(platform)["ok"]  # the chain alone no longer sees it
    result = anchors.verify(platform)
    assert not result["ok"] and result["first_bad_id"] == victim
    assert "anchor" in result["reason"]


def test_a_forged_anchor_is_refused(platform):
    submit(platform)
    path = anchors.anchor(platform)["path"]
    document = json.loads(path.read_text(encoding="utf-8"))
    document["payload"]["hashes"][0][1] = "0" * 64
    path.write_text(json.dumps(document), encoding="utf-8")
    result = anchors.verify(platform)
    assert not result["ok"] and result["first_bad_id"] is None
    assert path.name in result["reason"] and "signature" in result["reason"]


def test_a_deleted_anchored_event_is_named(platform):
    submit(platform)
    made = anchors.anchor(platform)
    with platform.db.transaction() as session:
        first = session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars().first()
        session.execute(AuditEvent.__table__.delete().where(AuditEvent.id == first))
    rewrite_and_rehash(platform, made["last_id"], actor="ke-gian")
    result = anchors.verify(platform)
    assert not result["ok"] and result["first_bad_id"] == first


def test_the_worker_anchors_at_its_interval(platform):
    from apscheduler.schedulers.background import BackgroundScheduler

    from engine import worker

    job = worker._scheduler(BackgroundScheduler, platform, 1.0).get_job("audit-anchor")
    assert job.trigger.interval.total_seconds() == platform.settings.audit_anchor_interval_seconds
    submit(platform)
    job.func(*job.args)  # what the scheduler runs at each interval
    assert anchors.verify(platform)["anchored_to"] > 0
    platform.settings.audit_anchor_interval_seconds = 0
    assert worker._scheduler(BackgroundScheduler, platform, 1.0).get_job("audit-anchor") is None
