"""engine.step.load: the dossier locked once per transaction, its saved state read after the
transaction's own queued writes, versions from a cache that never serves other content."""

from __future__ import annotations

import gc
import re
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, inspect, select, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import object_session
from sqlalchemy.orm.util import identity_key

from engine.errors import NotFound
from engine.models import Agency, Dossier, Instance, ProcedureVersion, User
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
    return {attr.key: getattr(obj, attr.key) for attr in inspect(type(obj)).mapper.column_attrs}


def test_the_locked_dossier_read_from_one_row_is_the_dossier_the_orm_reads(platform):
    """The first lock of a transaction builds the dossier and its agency, applicant and
    procedure from one row: the same values as the ORM's objects, persistent and clean,
    the three related objects there without another statement, and a change written."""
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


# -- the objects of a locked row against the ORM's (differential) ----------------------
#
# A step locks its dossier with the row read on the driver and the objects made from it
# (PATHS["row"]); a transaction that already holds objects locks through the ORM
# (PATHS["orm"], load._LOCK). Whatever follows must not tell them apart.

def _row(session, ident: int) -> Dossier:
    return load.lock_dossier(session, ident)


def _orm(session, ident: int) -> Dossier:
    dossier = session.execute(load._LOCK, {"dossier_id": ident}).scalar_one()
    unit_of(session).locked.add(ident)
    return dossier


PATHS = {"row": _row, "orm": _orm}
RELATED = ("agency", "applicant", "procedure")


@contextmanager
def statements(p):
    """The statements sent inside the block (SQLite's ``BEGIN IMMEDIATE`` aside)."""
    sent: list[str] = []

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith("BEGIN"):
            sent.append(statement)

    event.listen(p.db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(p.db.engine, "before_cursor_execute", record)


def dossier_updates(sent: list[str]) -> int:
    """How many updates of the dossier table ``sent`` holds (on PostgreSQL a step's writes
    are parts of one statement)."""
    return sum(len(re.findall(r'update\s+"?dossier"?\s+set', statement, re.IGNORECASE))
               for statement in sent)


def as_loaded(session, obj) -> dict:
    """What the session and the ORM know of ``obj``, in terms comparable across sessions:
    its identity and its place in the session, its history and what is loaded."""
    state = inspect(obj)
    return {
        "class": type(obj),
        "key": state.key,
        "persistent": state.persistent,
        "mapped by its key": session.identity_map.get(state.key) is obj,
        "in the session": obj in session and object_session(obj) is session,
        "changes": dict(state.committed_state),
        "modified": state.modified,
        "expired": set(state.expired_attributes),
        "unloaded": state.unloaded,
        "history": {attr.key: tuple(tuple(part) for part in state.attrs[attr.key].history)
                    for attr in state.mapper.column_attrs},
        "related": {rel.key: _identities(state.dict[rel.key])
                    for rel in state.mapper.relationships if rel.key in state.dict},
    }


def _identities(related):
    if related is None:
        return None
    if isinstance(related, list):  # a collection
        return sorted(inspect(obj).key for obj in related)
    return inspect(related).key


def as_locked(session, dossier) -> dict:
    """:func:`as_loaded` of the locked dossier and of each object it came with, and the
    session's own sets."""
    return {"dossier": as_loaded(session, dossier),
            **{name: as_loaded(session, getattr(dossier, name)) for name in RELATED},
            "identity map": set(session.identity_map.keys()),
            "new, dirty, deleted": (list(session.new), list(session.dirty),
                                    list(session.deleted))}


def test_the_objects_of_a_locked_row_are_those_the_orm_loads(platform):
    ident = dossier_id(platform, submit(platform))
    seen = {}
    for name, lock in PATHS.items():
        with pytest.raises(RuntimeError), platform.db.transaction() as session:
            dossier = lock(session, ident)
            seen[name] = as_locked(session, dossier)
            raise RuntimeError("nothing to keep")
    assert seen["row"] == seen["orm"]
    row = seen["row"]
    assert row["identity map"] == {
        identity_key(Dossier, ident), row["agency"]["key"], row["applicant"]["key"],
        row["procedure"]["key"]}
    assert row["dossier"]["unloaded"] == {"version"}
    assert row["dossier"]["changes"] == {} and not row["dossier"]["modified"]
    assert row["new, dirty, deleted"] == ([], [], [])


def test_a_locked_dossier_and_its_objects_are_found_by_identity_without_a_statement(platform):
    ident = dossier_id(platform, submit(platform))
    with platform.db.transaction() as session:
        dossier = load.lock_dossier(session, ident)
        with statements(platform) as sent:
            assert session.get(Dossier, ident) is dossier
            assert session.get(Agency, dossier.agency_id) is dossier.agency
            assert session.get(User, dossier.applicant_id) is dossier.applicant
            assert load.lock_dossier(session, ident) is dossier
        assert sent == []


def test_a_locked_dossiers_objects_leave_with_it(platform):
    """Held only by the session's weak identity map, the objects go when nothing else holds
    them, as loaded ones do; kept, they are detached when the transaction ends."""
    ident = dossier_id(platform, submit(platform))
    seen = {}
    for path, lock in PATHS.items():
        with platform.db.transaction() as session:
            lock(session, ident)  # not kept
            gc.collect()
            seen[path, "dropped"] = len(session.identity_map)
        with platform.db.transaction() as session:
            dossier = lock(session, ident)
            kept = [dossier, *(getattr(dossier, name) for name in RELATED)]
        seen[path, "kept"] = [(inspect(obj).detached, object_session(obj)) for obj in kept]
    assert seen == {(path, "dropped"): 0 for path in PATHS} | {
        (path, "kept"): [(True, None)] * 4 for path in PATHS}


#: What a step may ask of a locked dossier beyond its row: each loads when used.
USES = (("version", lambda dossier: dossier.version.id),
        ("applicant's roles", lambda dossier: sorted(role.role_code
                                                     for role in dossier.applicant.roles)),
        ("procedure's agency", lambda dossier: dossier.procedure.agency.id),
        ("applicant's agency", lambda dossier: getattr(dossier.applicant.agency, "id", None)))


def test_the_other_relationships_load_when_used_as_the_orms_do(platform):
    """The same answers with the same number of statements (none for an object the session
    holds already: the procedure's agency is the dossier's)."""
    ident = dossier_id(platform, submit(platform))
    seen = {}
    for path, lock in PATHS.items():
        with platform.db.transaction() as session:
            dossier = lock(session, ident)
            used = {}
            for name, use in USES:
                with statements(platform) as sent:
                    used[name] = (use(dossier), len(sent))
            used["state"] = as_locked(session, dossier)
            seen[path] = used
    assert seen["row"] == seen["orm"]
    version_key = seen["row"]["state"]["dossier"]["related"]["version"]
    assert seen["row"]["version"] == (version_key[1][0], 1)
    assert seen["row"]["procedure's agency"][1] == 0


@pytest.mark.parametrize("path", PATHS)
def test_a_changed_column_of_a_locked_dossier_is_written_once_at_commit(platform, path):
    ident = dossier_id(platform, submit(platform))
    with platform.db.read() as session:
        before = session.get(Dossier, ident).updated_at
    with statements(platform) as sent, platform.db.transaction() as session:
        dossier = PATHS[path](session, ident)
        dossier.status = "accepted"
        assert list(session.dirty) == [dossier]  # an attribute set is seen, as on any loaded object
        assert inspect(dossier).attrs.status.history.added == ["accepted"]
        assert dossier_updates(sent) == 0  # written with the step's statements at commit
    assert dossier_updates(sent) == 1
    with platform.db.read() as session:
        written = session.get(Dossier, ident)
        assert written.status == "accepted" and written.updated_at > before
    assert inspect(dossier).attrs.status.history.unchanged == ["accepted"]
    assert dossier.updated_at == written.updated_at


@pytest.mark.parametrize("path", PATHS)
def test_a_query_after_a_change_autoflushes_it_once(platform, path):
    ident = dossier_id(platform, submit(platform))
    with statements(platform) as sent, platform.db.transaction() as session:
        dossier = PATHS[path](session, ident)
        dossier.status = "accepted"
        assert session.execute(select(Dossier.status).where(Dossier.id == ident)
                               ).scalar_one() == "accepted"
        assert dossier_updates(sent) == 1 and not session.dirty
    assert dossier_updates(sent) == 1
    with platform.db.read() as session:
        assert session.get(Dossier, ident).status == "accepted"


@pytest.mark.parametrize("path", PATHS)
def test_a_changed_relationship_of_a_locked_dossier_is_the_orms_to_write(platform, path):
    ident = dossier_id(platform, submit(platform))
    with statements(platform) as sent, platform.db.transaction() as session:
        dossier = PATHS[path](session, ident)
        other = session.execute(select(Agency).where(Agency.id != dossier.agency_id)
                                .order_by(Agency.id)).scalars().first()
        dossier.agency = other
        dossier.status = "accepted"
        assert store.locked_dossier_writes(session, unit_of(session)) == []
        assert dossier in session.dirty
    assert dossier_updates(sent) == 1
    with platform.db.read() as session:
        written = session.get(Dossier, ident)
        assert (written.agency_id, written.status) == (other.id, "accepted")


def test_an_object_of_an_identity_the_session_holds_is_refused_as_session_add_does(platform):
    ident = dossier_id(platform, submit(platform))
    with pytest.raises(RuntimeError), platform.db.transaction() as session:
        held = session.get(Dossier, ident)
        values = _columns(held)
        with pytest.raises(InvalidRequestError, match="already present in this session"):
            load.persistent(session, Dossier, values)
        assert session.get(Dossier, ident) is held and len(session.identity_map) == 1
        raise RuntimeError("nothing to keep")


def test_a_column_missing_from_an_objects_values_is_read_when_used(platform):
    ident = dossier_id(platform, submit(platform))
    with platform.db.read() as session:
        agency = _columns(session.get(Dossier, ident).agency)
    with platform.db.transaction() as session:
        made = load.persistent(session, Agency,
                               {k: v for k, v in agency.items() if k != "name_vi"})
        assert inspect(made).expired_attributes == {"name_vi"} and not session.dirty
        with statements(platform) as sent:
            assert made.name_vi == agency["name_vi"]
        assert len(sent) == 1


def test_an_outer_joined_object_that_is_not_there_is_none(platform):
    width = len(Agency.__mapper__.column_attrs)
    with platform.db.transaction() as session:
        assert load.objects_from(session, (1,) + (None,) * width, (Agency,), 1) == ([None],
                                                                                  1 + width)
        assert len(session.identity_map) == 0
