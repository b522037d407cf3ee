"""The platform's own rows (engine/models/operations.py): an e-mail or job is queued once per
key, pending, with no attempts yet."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.models import Job, Outbox


def test_an_outbox_entry_is_queued_once_per_key_and_starts_pending(platform):
    with platform.db.transaction() as session:
        session.add(Outbox(idempotency_key="k-1", recipient="an@example.vn", subject="Chào",
                           body="Nội dung"))
    with platform.db.read() as session:
        entry = session.execute(select(Outbox).where(Outbox.idempotency_key == "k-1")) \
            .scalar_one()
        assert (entry.kind, entry.status, entry.attempts, entry.attachments) == \
            ("email", "pending", 0, [])
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        session.add(Outbox(idempotency_key="k-1", recipient="b@example.vn", subject="", body=""))
        session.flush()


def test_a_job_starts_pending_with_an_empty_payload(platform):
    with platform.db.transaction() as session:
        session.add(Job(kind="slip", key="job-1"))
    with platform.db.read() as session:
        job = session.execute(select(Job).where(Job.key == "job-1")).scalar_one()
        assert (job.status, job.attempts, job.payload, job.last_error) == ("pending", 0, {}, "")
