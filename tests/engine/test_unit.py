"""engine.unit with engine.db.transaction: a transaction's audit events and queued writes go
out with its commit or not at all; after-commit work runs only once it has committed, and
its failure is logged, never raised into committed work."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, update

from engine import audit
from engine.models import Agency, AuditEvent
from engine.unit import unit_of


def count_events(p) -> int:
    with p.db.read() as session:
        return session.execute(select(func.count()).select_from(AuditEvent)).scalar()


def agency_email(p, code: str) -> str:
    with p.db.read() as session:
        return session.execute(select(Agency.email).where(Agency.code == code)).scalar()


AGENCY = "000.00.14.H56"


def test_queued_writes_and_events_go_out_with_the_commit(platform):
    events = count_events(platform)
    with platform.db.transaction() as session:
        unit_of(session).writes.append(
            update(Agency).where(Agency.code == AGENCY).values(email="mot-cua@thanhhoa.gov.vn"))
        audit.append(session, actor="admin", action="agency_edit", detail={"code": AGENCY})
    assert agency_email(platform, AGENCY) == "mot-cua@thanhhoa.gov.vn"
    assert count_events(platform) == events + 1
    assert audit.verify_chain(platform)["ok"]


def test_a_transaction_that_fails_sends_neither(platform):
    events, email = count_events(platform), agency_email(platform, AGENCY)
    with pytest.raises(ValueError), platform.db.transaction() as session:
        unit_of(session).writes.append(
            update(Agency).where(Agency.code == AGENCY).values(email="never@example.vn"))
        audit.append(session, actor="admin", action="agency_edit")
        raise ValueError("the step failed")
    assert (count_events(platform), agency_email(platform, AGENCY)) == (events, email)


def test_after_commit_work_runs_after_the_commit_and_only_then(platform):
    seen = []
    with platform.db.transaction() as session:
        audit.append(session, actor="admin", action="agency_edit")
        unit_of(session).after_commit.append(lambda: seen.append(count_events(platform)))
        assert seen == []
    assert seen == [count_events(platform)]  # it saw the committed event

    with pytest.raises(ValueError), platform.db.transaction() as session:
        unit_of(session).after_commit.append(lambda: seen.append("rolled back"))
        raise ValueError("no commit")
    assert "rolled back" not in seen


def test_failing_after_commit_work_is_logged_and_the_rest_still_runs(platform, caplog):
    seen = []

    def broken():
        raise OSError("disk full")

    with caplog.at_level(logging.ERROR, logger="engine.unit"), \
            platform.db.transaction() as session:
        audit.append(session, actor="admin", action="agency_edit")
        unit_of(session).after_commit.extend([broken, lambda: seen.append("ran")])
    assert seen == ["ran"]
    assert "after-commit work failed" in caplog.text


def test_a_session_not_opened_as_a_transaction_has_no_unit(platform):
    session = platform.db.sessions()
    try:
        with pytest.raises(RuntimeError, match="Database.transaction"):
            audit.append(session, actor="admin", action="agency_edit")
    finally:
        session.close()
