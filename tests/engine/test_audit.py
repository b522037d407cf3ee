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


AWKWARD = [  # what the hashed JSON must carry exactly: diacritics, quotes, escapes, nesting
    {"ghi_chú": "Đã tiếp nhận hồ sơ", "lý do": 'thiếu "bản sao" \\ C:\\hồ sơ'},
    {"dòng": "một\nhai\tba\u0001", "emoji": "✅🇻🇳", "số": [1, 2.5, None, True]},
    {},
]


def test_events_written_in_one_transaction_chain_as_the_verifier_computes(platform):
    """Several events of one transaction, details with Vietnamese text and characters JSON
    escapes: each stored hash is the one :func:`audit._digest` gives (on PostgreSQL the
    server computes them in the transaction's write statement)."""
    with platform.db.transaction() as session:
        for i, detail in enumerate(AWKWARD):
            audit.append(session, actor="cán bộ", action=f"ghi-{i}", detail=detail)
    with platform.db.transaction() as session:  # and one alone
        audit.append(session, actor="hệ thống", action="một mình", dossier_id=None,
                     detail={"khóa": "giá trị"})
    with platform.db.read() as session:
        events = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    written = [e for e in events if e.action.startswith("ghi-") or e.action == "một mình"]
    assert [e.action for e in written] == ["ghi-0", "ghi-1", "ghi-2", "một mình"]
    assert [e.detail for e in written[:3]] == AWKWARD
    for event, before in zip(written, [events[events.index(written[0]) - 1], *written[:-1]],
                             strict=True):
        assert event.prev_hash == before.hash
        assert event.hash == audit._digest(event.prev_hash, event.at, event.actor, event.action,
                                           event.dossier_id, event.detail)
    assert audit.verify_chain(platform)["ok"]


def test_concurrent_transactions_chain_in_commit_order(platform):
    """Transactions appending at once each take the head as the one before it left it:
    the chain has no fork and verifies."""
    import threading

    start = threading.Barrier(6)
    errors = []

    def append(n: int) -> None:
        try:
            start.wait(10)
            for i in range(5):
                with platform.db.transaction() as session:
                    audit.append(session, actor=f"luồng {n}", action="ghi", detail={"i": i})
                    audit.append(session, actor=f"luồng {n}", action="ghi thêm", detail={})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with platform.db.read() as session:
        prevs = session.execute(select(AuditEvent.prev_hash)).scalars().all()
    assert len(prevs) == len(set(prevs))  # no two events chained on the same hash
    report = audit.verify_chain(platform)
    assert report["ok"] and report["events"] >= 60


def test_a_missing_chain_head_fails_the_transaction_instead_of_dropping_its_events(platform):
    """The head row is made at set-up and never removed; should it vanish, a transaction's
    events are refused with it (nothing written), not left out of the log."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from engine.models import AuditHead

    if not platform.db.is_postgres:
        pytest.skip("SQLite reads the head first and makes it again when it is missing")
    submit(platform)  # the head is known to exist: chains are computed by the server
    with platform.db.transaction() as session:
        session.execute(delete(AuditHead))
    with platform.db.read() as session:
        before = session.execute(select(AuditEvent.id)).scalars().all()
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        audit.append(session, actor="cán bộ", action="ghi", detail={"i": 1})
    with platform.db.read() as session:
        assert session.execute(select(AuditEvent.id)).scalars().all() == before
