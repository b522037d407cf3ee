"""engine.step.load: the dossier locked once per transaction, its saved state read after the
transaction's own queued writes, versions from a cache that never serves other content."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, update

from engine.errors import NotFound
from engine.models import Dossier, Instance, ProcedureVersion
from engine.step import load, store
from engine.unit import unit_of
from tests.engine.factories import submit


def dossier_id(p, code: str) -> int:
    with p.db.read() as session:
        return session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()


def test_an_unknown_dossier_is_not_found(platform):
    with pytest.raises(NotFound) as err, platform.db.transaction() as session:
        load.lock_dossier(session, 10**9)
    assert "Không tìm thấy" in err.value.vi


def test_the_lock_holds_another_transaction_until_commit(platform):
    ident = dossier_id(platform, submit(platform))
    if not platform.db.is_postgres:
        pytest.skip("SQLite serialises whole transactions; the row lock is PostgreSQL's")
    order = []

    def second():
        with platform.db.transaction() as session:
            load.lock_dossier(session, ident)
            order.append("second locked")

    with platform.db.transaction() as session:
        load.lock_dossier(session, ident)
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.3)
        order.append("first commits")
    other.join()
    assert order == ["first commits", "second locked"]


def test_the_saved_state_includes_this_transactions_queued_write(platform):
    ident = dossier_id(platform, submit(platform))
    with pytest.raises(RuntimeError), platform.db.transaction() as session:
        dossier = load.lock_dossier(session, ident)
        state, version = load.saved_state(session, dossier)
        assert version.id == dossier.version_id
        store.save_state(session, ident, b"x-not-really-a-state", False)
        assert load.lock_dossier(session, ident) is dossier  # no second lock
        again, _ = load.saved_state(session, dossier)
        assert again == b"x-not-really-a-state"
        assert unit_of(session).writes == []
        raise RuntimeError("roll the step back")
    with platform.db.read() as session:
        assert session.get(Instance, ident).state == state


def test_a_version_is_cached_by_id_and_content(platform):
    ident = dossier_id(platform, submit(platform))
    with platform.db.read() as session:
        version_id = session.get(Dossier, ident).version_id
        first = load.version_by_id(session, version_id)
        assert load.version_by_id(session, version_id) is first
        # the same id holding other content (a database rebuilt under the process) is read anew
        real = first.content_hash
    with platform.db.transaction() as session:
        session.execute(update(ProcedureVersion).where(ProcedureVersion.id == version_id)
                        .values(content_hash="0" * 64))
    with platform.db.read() as session:
        other = load.version_by_id(session, version_id)
    assert other is not first and other.content_hash == "0" * 64
    with platform.db.transaction() as session:
        session.execute(update(ProcedureVersion).where(ProcedureVersion.id == version_id)
                        .values(content_hash=real))


def _columns(obj) -> dict:
    from sqlalchemy import inspect

    return {attr.key: getattr(obj, attr.key) for attr in inspect(type(obj)).mapper.column_attrs}


def test_the_locked_dossier_read_from_one_row_is_the_dossier_the_orm_reads(platform):
    """The first lock of a transaction builds the dossier and its agency, applicant and
    procedure from one row: the same values as the ORM's objects, persistent and clean,
    the three related objects there without another statement, and a change written."""
    from sqlalchemy import event

    ident = dossier_id(platform, submit(platform))
    with platform.db.read() as session:
        expected = session.execute(select(Dossier).where(Dossier.id == ident)).scalar_one()
        related = {name: _columns(getattr(expected, name))
                   for name in ("agency", "applicant", "procedure")}
        expected = _columns(expected)
    sent = []

    def count(conn, cursor, statement, *args):
        if statement.split()[0].upper() == "SELECT":  # (SQLite's BEGIN IMMEDIATE aside)
            sent.append(statement)

    with platform.db.transaction() as session:
        event.listen(platform.db.engine, "before_cursor_execute", count)
        try:
            dossier = load.lock_dossier(session, ident)
            assert _columns(dossier) == expected
            assert {name: _columns(getattr(dossier, name)) for name in related} == related
            assert len(sent) == 1
            assert "FOR UPDATE" in sent[0].upper() or not platform.db.is_postgres
        finally:
            event.remove(platform.db.engine, "before_cursor_execute", count)
        assert dossier in session and not session.dirty and not session.new
        assert dossier.version.id == dossier.version_id  # other relationships load when used
        dossier.status = "accepted"
    with platform.db.read() as session:
        assert session.get(Dossier, ident).status == "accepted"


def test_a_transaction_that_holds_objects_locks_through_the_orm(platform):
    """Objects already in the session are reconciled with the locked row, not duplicated."""
    first, second = (dossier_id(platform, submit(platform)) for _ in range(2))
    with platform.db.transaction() as session:
        held = session.get(Dossier, second)
        load.lock_dossier(session, first)
        assert load.lock_dossier(session, second) is held
        held.status = "accepted"
    with platform.db.read() as session:
        assert session.get(Dossier, second).status == "accepted"
