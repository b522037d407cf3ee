"""Reading a step: the dossier row locked, its saved state, its version from a cache.

A step reads two rows: the dossier, locked (``SELECT … FOR UPDATE``; SQLite's
``BEGIN IMMEDIATE`` already serialises writers) with its agency, applicant and procedure
in the same row, made into ORM objects without the ORM's loading machinery when it is the
transaction's first read (:func:`read_locked`), then — after the lock is held, so that
it sees the last committed state — the saved workflow with its version's content hash.
The version itself (metadata, forms, document layouts, specs) comes from
:data:`VERSIONS`, an in-process cache: versions are immutable, so an entry never goes
stale, and it is keyed by id *and* content hash because ids repeat across databases
(tests, benchmarks). No hot row joins the version's 10+ KB of metadata.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import instance_state

from ..errors import NotFound
from ..models import Agency, Dossier, Instance, Procedure, ProcedureVersion, User
from ..unit import unit_of
from . import facts, sql, store


@dataclass(frozen=True, eq=False)
class Version:
    """A deployed procedure version as the engine reads it (never changes once deployed)."""

    id: int
    procedure_id: int
    number: int
    content_hash: str
    process_id: str
    meta: dict
    files: dict
    spec: dict
    deployed_by: str
    deployed_at: datetime


class _VersionCache:
    def __init__(self, size: int = 64):
        self.size = size
        self.items: OrderedDict[tuple[int, str], Version] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, session: Session, version_id: int, content_hash: str) -> Version:
        key = (version_id, content_hash)
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
                return found
        row = session.execute(select(ProcedureVersion).where(ProcedureVersion.id == version_id)
                              .execution_options(populate_existing=True)).scalar_one()
        found = Version(id=row.id, procedure_id=row.procedure_id, number=row.number,
                        content_hash=row.content_hash, process_id=row.process_id,
                        meta=row.meta, files=row.files, spec=row.spec,
                        deployed_by=row.deployed_by, deployed_at=row.deployed_at)
        with self.lock:
            self.items[key] = found
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return found

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


VERSIONS = _VersionCache()


#: What comes with a locked dossier row in the same statement: its agency, applicant and
#: procedure, which notifications, slips and a new process's data name (each would
#: otherwise be a round trip of its own); never the version's metadata, and not the
#: agencies that the applicant's and the procedure's own mappings would join in (a step
#: names the dossier's agency; the two others are read if something asks for them).
WITH_DOSSIER = (joinedload(Dossier.agency),
                joinedload(Dossier.applicant).lazyload(User.agency),
                joinedload(Dossier.procedure).lazyload(Procedure.agency))


# Built once: a statement object remembers its cache key, so running it again costs no
# construction and no key computation (a third of a step's client time otherwise).
_LOCK = (select(Dossier).where(Dossier.id == bindparam("dossier_id"))
         .with_for_update(of=Dossier).options(*WITH_DOSSIER)
         .execution_options(populate_existing=True))
_STATE = (select(Instance.state, ProcedureVersion.content_hash)
          .join(ProcedureVersion, ProcedureVersion.id == bindparam("version_id"))
          .where(Instance.dossier_id == bindparam("dossier_id")))
_CONTENT_HASH = select(ProcedureVersion.content_hash).where(
    ProcedureVersion.id == bindparam("version_id"))


# -- the locked dossier from one row ---------------------------------------------------

#: The objects a locked dossier comes with (:data:`WITH_DOSSIER`): the dossier's own
#: columns, then those of its agency, applicant and procedure, by relationship.
_PARTS = ((Dossier, None), (Agency, "agency"), (User, "applicant"), (Procedure, "procedure"))
_CLASSES = tuple(cls for cls, _ in _PARTS)
_RELATIONSHIPS = tuple(name for _, name in _PARTS[1:])


def columns_of(*classes) -> list:
    """Every column of each of ``classes`` (mapped classes), labelled apart, in the order
    :func:`objects_from` reads them back from a row."""
    return [attr.columns[0].label(f"c{number}_{attr.key}")
            for number, cls in enumerate(classes) for attr in cls.__mapper__.column_attrs]


def objects_from(session: Session, row, classes, at: int = 0) -> tuple[list, int]:
    """The objects of ``classes`` made from ``row``'s columns starting at ``at`` (as
    :func:`columns_of` selected them; None for a class whose id is null: an outer join
    that found nothing), each :func:`persistent` in ``session``; and where the row's next
    columns start."""
    made = []
    for cls in classes:
        made_as = _made_as(cls)
        end = at + len(made_as.keys)
        if row[at + made_as.id_at] is None:
            made.append(None)
        else:
            obj = made_as.new_instance()
            obj.__dict__.update(zip(made_as.keys, row[at:end], strict=True))
            made.append(_attach(session, made_as, obj))
        at = end
    return made, at


def persistent(session: Session, cls, values: dict):
    """An object of ``cls`` from a row's ``values`` (by attribute), in ``session`` as the ORM
    holds an object it loaded: persistent, nothing changed, relationships loaded when
    used. A column missing from ``values`` is expired: read when first used."""
    made_as = _made_as(cls)
    obj = made_as.new_instance()
    obj.__dict__.update(values)
    _attach(session, made_as, obj)
    missing = [key for key in made_as.keys if key not in values]
    if missing:
        session.expire(obj, missing)
    return obj


@dataclass(frozen=True)
class _MadeAs:
    """What making an object of a mapped class from its columns needs (:func:`_attach`)."""

    keys: tuple[str, ...]  # its column attributes, in :func:`columns_of`'s order
    id_at: int  # where its primary key, ``id``, is among them
    new_instance: Callable[[], object]
    identity_class: type  # the first part of its identity key


def _made_as(cls) -> _MadeAs:
    found = _MADE_AS.get(cls)
    if found is None:
        mapper = cls.__mapper__
        keys = tuple(attr.key for attr in mapper.column_attrs)
        if [mapper.get_property_by_column(column).key for column in mapper.primary_key] != ["id"]:
            raise TypeError(f"{cls.__name__}: objects are made from rows by an 'id' primary key")
        found = _MADE_AS[cls] = _MadeAs(keys, keys.index("id"), mapper.class_manager.new_instance,
                                        mapper.identity_key_from_primary_key([None])[0])
    return found


_MADE_AS: dict[type, _MadeAs] = {}


def _attach(session: Session, made_as: _MadeAs, obj):
    """``obj`` — just made by its class manager, its columns in its ``__dict__`` — made
    persistent in ``session`` as SQLAlchemy's loading makes the object of a row it has not
    seen (``sqlalchemy.orm.loading._instance``): its identity key set, the object put in
    the session's identity map and marked as the session's. Put straight into the
    instance's dictionary, values are what the ORM calls loaded: no history (they are their
    own committed values), nothing expired, and every attribute not there (a
    relationship) is loaded by its loader when first used.

    ``Session.add`` of the object made detached (``make_transient_to_detached``) ends in
    the same state, but on the way walks every relationship's save-update cascade, expires
    what is absent and fires the attach events: several times the cost of this for
    nothing a step uses. What this relies on beyond the public API — as SQLAlchemy's
    loading has done since before 1.4 and does in the pinned 2.0 (setup.cfg), and held to
    the ORM's own loading by tests/engine/step/test_load.py — is what loading itself sets: ``InstanceState.key``
    (class, primary key, identity token: None, the engine shards nothing) and
    ``InstanceState.session_id`` (the session's ``hash_key``), and the identity map's
    ``add``, which ``Session.add`` calls too: it also refuses a second object of an
    identity the session holds, with the same error. No event fires — neither the attach
    events of ``Session.add`` nor the ``load`` events of loading —: the engine listens to
    none of them, and must not start to without making them here too."""
    state = instance_state(obj)
    state.key = (made_as.identity_class, (obj.__dict__["id"],), None)
    session.identity_map.add(state)
    state.session_id = session.hash_key
    return obj


def locking(where, *, also=(), joins=(), lock=()):
    """The statement that locks the dossier ``where`` selects and reads it with its agency,
    applicant and procedure as one row of plain columns (:func:`read_locked`), then the
    columns ``also`` of the tables ``joins`` (``(table, on)``, inner joins) adds; between
    the two, what the step may need later (:data:`engine.step.facts.COLUMNS`). The
    tables ``lock`` are locked with the dossier: a row locked in the same statement is read
    as its last committed version even when the statement waited for the lock (PostgreSQL
    reads the other rows of a waiting ``FOR UPDATE`` as they were when it began)."""
    statement = select(*columns_of(*_CLASSES), *facts.COLUMNS, *also).select_from(Dossier)
    for table, on in joins:
        statement = statement.join(table, on)
    return (statement
            .outerjoin(Agency, Agency.id == Dossier.agency_id)
            .outerjoin(User, User.id == Dossier.applicant_id)
            .outerjoin(Procedure, Procedure.id == Dossier.procedure_id)
            .where(where).with_for_update(of=[Dossier.__table__, *lock]))


_LOCK_ROW = locking(Dossier.id == bindparam("dossier_id"))


def read_locked(session: Session, statement, params: dict, orm_statement) -> Dossier | None:
    """Lock a dossier and read it with its agency, applicant and procedure: ``statement``
    (made by :func:`locking`) or, in a transaction that already holds objects,
    ``orm_statement`` (the same read through the ORM, which reconciles them). None if no
    dossier matches.

    A step's first statement is this lock, and the ORM's way of turning one joined row into
    four objects (a loader built per run, one per relationship) cost more client time than
    the rest of the read: here the row is read on the driver (:func:`engine.step.sql.run`)
    and the objects are made from it as the ORM makes an object known to be current —
    persistent, nothing changed, every other relationship loaded when first used."""
    if not fresh(session):
        return session.execute(orm_statement, params).scalar()
    found = read_locked_row(session, statement, params)
    return found[0] if found is not None else None


def fresh(session: Session) -> bool:
    """Whether the transaction holds no objects yet (:func:`read_locked_row` may make
    them)."""
    return not (len(session.identity_map) or session.new or session.deleted)


def read_locked_row(session: Session, statement, params: dict) -> tuple[Dossier, tuple] | None:
    """:func:`read_locked` in a :func:`fresh` transaction: the dossier, and the rest of the
    row (the columns ``also`` of :func:`locking`); None if no dossier matches."""
    found = sql.run(session, statement, params)
    if not found:
        return None
    made, at = objects_from(session, found[0], _CLASSES)
    dossier, row = made[0], found[0]
    # loaded with the dossier, as the ORM's joined loading puts a many-to-one: the object
    # (or None) in the dictionary, no history (see _attach)
    dossier.__dict__.update(zip(_RELATIONSHIPS, made[1:], strict=True))
    facts.keep(unit_of(session), dossier.id, row[at:at + len(facts.COLUMNS)])
    return dossier, row[at + len(facts.COLUMNS):]


def lock_dossier(session: Session, dossier_id: int) -> Dossier:
    """The dossier row, locked until the transaction ends. Locking it again in the same
    transaction costs nothing: the row is already current."""
    locked = unit_of(session).locked
    if dossier_id in locked:
        dossier = session.get(Dossier, dossier_id)
    else:
        dossier = read_locked(session, _LOCK_ROW, {"dossier_id": dossier_id}, _LOCK)
    if dossier is None:
        raise NotFound("No such dossier.", vi="Không tìm thấy hồ sơ.")
    locked.add(dossier_id)
    return dossier


def saved_state(session: Session, dossier: Dossier) -> tuple[bytes, Version]:
    """The dossier's saved workflow and its version (read after the lock is held, and
    after this transaction's queued writes — an earlier step's — have been sent)."""
    store.flush(session)
    state, content_hash = session.execute(_STATE, {"version_id": dossier.version_id,
                                                   "dossier_id": dossier.id}).one()
    return state, VERSIONS.get(session, dossier.version_id, content_hash)


def version_of(session: Session, dossier: Dossier) -> Version:
    """The dossier's version (one small query for its content hash on a cache hit)."""
    return version_by_id(session, dossier.version_id)


def version_by_id(session: Session, version_id: int) -> Version:
    """A version by its id (one small query for its content hash on a cache hit)."""
    content_hash = session.execute(_CONTENT_HASH, {"version_id": version_id}).scalar_one()
    return VERSIONS.get(session, version_id, content_hash)
