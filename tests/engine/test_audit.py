"""The audit chain: every action is recorded, and editing or deleting any event is caught."""

import enum
import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, select, update

from engine import accounts, audit, tasks
from engine.models import AuditEvent
from tests.engine.factories import PROCEDURE, reception_task, submit
from tests.scenario import run_scenario

REPO = Path(__file__).resolve().parents[2]


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


# --- the stored detail and the hashed JSON, as they were computed before being made faster


def _stored_before(detail):
    return json.loads(json.dumps(detail or {}, default=str))


def _digest_before(prev_hash, at, actor, action, dossier_id, detail):
    tail = json.dumps([at.isoformat(), actor, action, dossier_id, detail], sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"), default=str)[1:]
    return hashlib.sha256(f'["{prev_hash}",{tail}'.encode()).hexdigest()


def _typed(value):
    """``value`` with the type of every part beside it (``1 == 1.0 == True`` in Python)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_typed(v) for v in value])
    return (type(value).__name__, repr(value))


class _Kind(enum.StrEnum):
    PAPER = "paper"


class _Level(enum.IntEnum):
    FULL = 4


_EDGE_DETAILS = [
    None, {}, [], *AWKWARD,
    {"from": "submitted", "to": "accepted", "task": "Task_SetAccepted"},
    {"n": 2**70, "x": -0.0, "y": 1e300, "z": float("inf"), "t": True, "f": False, "none": None},
    {"when": datetime(2026, 12, 7, 9, 30, tzinfo=UTC), "day": date(2026, 12, 7)},
    {"amount": Decimal("1500000.50")},
    {"pair": (1, 2), "nested": {"pair": ("a", ["b", ("c",)])}},
    {1: "int key", "1.5": "text key", 2.5: "float key", None: "null key", False: "bool key"},
    {"kind": _Kind.PAPER, "level": _Level.FULL}, {_Kind.PAPER: "enum key"},
    {"deep": {"er": [{"est": [[], {}, ""]}]}},
    {"data": {"licence_number": "GP-01", "vehicles": [{"plate": "29A-12345", "seats": 45}]}},
]


@pytest.mark.parametrize("detail", _EDGE_DETAILS, ids=range(len(_EDGE_DETAILS)))
def test_a_detail_is_kept_as_its_json_reads_back_and_hashed_as_before(detail):
    stored = audit._as_stored(detail or {})
    assert _typed(stored) == _typed(_stored_before(detail))
    assert json.dumps(stored) == json.dumps(_stored_before(detail))
    at = datetime(2026, 12, 7, 2, 30, 0, 123000, tzinfo=UTC)
    assert audit._digest(audit.GENESIS, at, "cán bộ", "status", 7, stored) == _digest_before(
        audit.GENESIS, at, "cán bộ", "status", 7, stored)


def test_a_detail_is_a_copy_of_the_callers():
    detail = {"data": {"plates": ["29A-12345"]}}
    stored = audit._as_stored(detail)
    detail["data"]["plates"].append("30B-67890")
    assert stored == {"data": {"plates": ["29A-12345"]}}


def test_a_detail_that_holds_itself_is_refused_as_before():
    detail = {"a": []}
    detail["a"].append(detail)
    with pytest.raises(ValueError, match="Circular"):
        _stored_before(detail)
    with pytest.raises(ValueError, match="Circular"):
        audit._as_stored(detail)


def test_a_lifecycles_events_are_stored_and_hashed_as_before(platform, monkeypatch):
    """Every detail a real scenario records is stored as before, and every stored hash is
    the one the earlier computation gives."""
    seen = []
    as_stored = audit._as_stored

    def checked(detail):
        before = _stored_before(detail)
        stored = as_stored(detail)
        seen.append(_typed(stored) == _typed(before))
        return stored

    monkeypatch.setattr(audit, "_as_stored", checked)
    scenario = REPO / "bpmn" / PROCEDURE / "scenarios" / "approve-and-sign.yaml"
    run_scenario(platform, yaml.safe_load(scenario.read_text(encoding="utf-8")))
    assert len(seen) > 10 and all(seen)
    with platform.db.read() as session:
        events = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert {"submit", "notify", "status", "complete"} <= {e.action for e in events}
    prev = audit.GENESIS
    for event in events:
        assert event.prev_hash == prev
        prev = _digest_before(prev, event.at, event.actor, event.action, event.dossier_id,
                              event.detail)
        assert event.hash == prev
