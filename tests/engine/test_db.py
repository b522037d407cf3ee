"""engine.db: a read transaction never waits for a writer and cannot write; a write
transaction commits whole or not at all."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from engine.models import Agency

AGENCY = "000.00.14.H56"


def email(p) -> str:
    with p.db.read() as session:
        return session.execute(select(Agency.email).where(Agency.code == AGENCY)).scalar()


def test_a_read_does_not_wait_for_a_writer_and_sees_only_committed_data(platform):
    before = email(platform)
    writing, done = threading.Event(), threading.Event()

    def writer():
        with platform.db.transaction() as session:
            session.execute(update(Agency).where(Agency.code == AGENCY)
                            .values(email="dang-ghi@thanhhoa.gov.vn"))
            writing.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(10)
        assert email(platform) == before  # answered while the writer holds its lock
    finally:
        done.set()
        thread.join()
    assert email(platform) == "dang-ghi@thanhhoa.gov.vn"


def test_a_read_transaction_refuses_to_write_on_postgresql(platform):
    if not platform.db.is_postgres:
        pytest.skip("SQLite has no read-only transactions; reads there only skip the write lock")
    with pytest.raises(DBAPIError, match="read-only"), platform.db.read() as session:
        session.execute(update(Agency).where(Agency.code == AGENCY).values(email="x@y.vn"))
    assert email(platform) != "x@y.vn"


def test_a_write_transaction_that_fails_leaves_nothing(platform):
    before = email(platform)
    with pytest.raises(LookupError), platform.db.transaction() as session:
        session.execute(update(Agency).where(Agency.code == AGENCY).values(email="x@y.vn"))
        raise LookupError("the rest of the work failed")
    assert email(platform) == before
