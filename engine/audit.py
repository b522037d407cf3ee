"""The hash-chained audit log (nhật ký): every action appends an event whose hash covers
the previous event's hash, so any edit or deletion in the middle breaks the chain.

Events are collected by the transaction's unit of work (:mod:`engine.unit`) and written
just before it commits: the single ``audit_head`` row is locked once, at the end, which
orders concurrent transactions by commit while holding that lock only for the last moment
of each; then one insert of every event and one update of the head, sent with the step's other
writes. A transaction that rolls back leaves no event.

An event's hash is SHA-256 of the JSON array ``[previous hash, at, actor, action, dossier,
detail]`` (:func:`_digest`). On SQLite the head is read and locked first and the hashes
computed here. On PostgreSQL the step's one write statement does it all: it locks the
head (a lock that waited reads the head as last committed), computes each hash with the
server's ``sha256`` from the head and the rest of the event's JSON, which is computed
here, inserts the events and moves the head — no round trip of its own.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from datetime import datetime

from sqlalchemy import Text, bindparam, func, insert, literal_column, select, union_all, update
from sqlalchemy.orm import Session

from . import clock
from .models import AuditEvent, AuditHead
from .step import sql
from .step.sql import Template, Write, insert_template, insert_values, param
from .unit import unit_of

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, action: str, dossier_id: int | None,
            detail: dict | None) -> str:
    body = _PREFIX.format(prev_hash) + _tail(at, actor, action, dossier_id, detail)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


#: The hashed JSON array is its first element, the previous hash (hexadecimal: JSON
#: writes it as it is, in quotes), then the rest: ``["<prev>",`` and :func:`_tail`.
_PREFIX = '["{}",'


def _tail(at: datetime, actor: str, action: str, dossier_id: int | None,
          detail: dict | None) -> str:
    """The hashed JSON after its first element: ``json.dumps`` of the event's other values,
    its opening bracket left out."""
    return _TAIL_JSON.encode([at.isoformat(), actor, action, dossier_id, detail])[1:]


#: ``json.dumps``'s encoders for these options, made once (``json.dumps`` makes one per
#: call when given an option).
_TAIL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                              default=str)
_DETAIL_JSON = json.JSONEncoder(default=str)
#: The scalars that read back from JSON as they were written.
_SCALARS = frozenset((str, int, float, bool, type(None)))


def append(session: Session, *, actor: str, action: str, dossier_id: int | None = None,
           detail: dict | None = None) -> None:
    """Record one event as part of the caller's transaction: its unit of work writes it
    just before commit (:mod:`engine.unit`); a transaction that rolls back leaves none."""
    now = clock.now()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what every database keeps
    detail = _as_stored(detail or {})
    unit_of(session).audit.append((at, actor, action, dossier_id, detail))


def _as_stored(detail: dict) -> dict:
    """``detail`` as its JSON reads back (non-JSON values as their ``str``), a copy: made
    directly when it holds only JSON's own types (dicts with text keys, lists, scalars),
    else through JSON."""
    try:
        return _copied(detail)
    except (TypeError, RecursionError):
        return json.loads(_DETAIL_JSON.encode(detail))


def _copied(value):
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(key)
            out[key] = _copied(item)
        return out
    if kind is list:
        return [_copied(item) for item in value]
    raise TypeError(value)


def ensure_head(session: Session) -> None:
    """Create the chain's head row if it is missing (at set-up, before any concurrent
    append could race to create it)."""
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, last_hash=GENESIS, last_id=0))
        session.flush()


_HEAD = select(AuditHead.last_hash).where(AuditHead.id == 1).with_for_update()


def _locked_head(session: Session) -> str:
    """The chain's last hash, its row locked until commit (created on the first event)."""
    found = sql.run(session, _HEAD, {})  # no ORM step, no autoflush
    last = found[0][0] if found else None
    if last is None:
        session.execute(insert(AuditHead).values(id=1, last_hash=GENESIS, last_id=0))
        last = GENESIS
    return last


def chain(session: Session, pending: list[tuple]) -> list:
    """The writes of ``pending`` events: the chain's head locked, every event inserted,
    chained on it, and the head moved — for :func:`engine.step.sql.send` to send with the
    step's other writes, at the last moment of the transaction. On PostgreSQL, once the
    head is known to exist, one statement that chains them itself (module docstring)."""
    bind = session.get_bind().engine  # the session may be bound to the unit's connection
    if bind.dialect.name == "postgresql" and bind in _HEAD_EXISTS:
        tails = {f"tail_{i}": _tail(at, actor, action, dossier_id, detail)
                 for i, (at, actor, action, dossier_id, detail) in enumerate(pending)}
        values = {f"{name}_{i}": value for i, event in enumerate(pending)
                  for name, value in zip(_GIVEN, event, strict=True)}
        return [Write(_server_chained(len(pending)), {**values, **tails})]
    prev = _locked_head(session)
    if bind.dialect.name == "postgresql":
        _HEAD_EXISTS.add(bind)
    rows = []
    for at, actor, action, dossier_id, detail in pending:
        digest = _digest(prev, at, actor, action, dossier_id, detail)
        rows.append({"at": at, "actor": actor, "action": action, "dossier_id": dossier_id,
                     "detail": detail, "prev_hash": prev, "hash": digest})
        prev = digest
    values = insert_values(_COLUMNS, rows)
    if bind.dialect.name == "postgresql":
        return [Write(_chained(len(rows)), {**values, "last_hash": prev})]
    return [Write(insert_template(_EVENTS, _COLUMNS, len(rows)), values),
            Write(_MOVE_HEAD, {"last_hash": prev})]


#: Engines whose database has shown its head row (made at set-up and never removed):
#: their chains are computed by the server. The first chain of a process reads the head
#: itself, and creates it if it is missing.
_HEAD_EXISTS: weakref.WeakSet = weakref.WeakSet()


_EVENTS, _HEADS = AuditEvent.__table__, AuditHead.__table__
_COLUMNS = ("action", "actor", "at", "detail", "dossier_id", "hash", "prev_hash")
_MOVE_HEAD = Template(
    lambda tag: update(_HEADS).where(_HEADS.c.id == 1)
    .values(last_hash=param("last_hash", _HEADS.c.last_hash, tag),
            last_id=select(func.max(_EVENTS.c.id)).scalar_subquery()))
_CHAINED: dict[int, Template] = {}


def _chained(n: int) -> Template:
    """PostgreSQL's one statement for ``n`` events chained here: their insert, a CTE of the
    head's update (built once per number of events)."""
    events = insert_template(_EVENTS, _COLUMNS, n)
    return _built_once(_CHAINED, n, lambda tag: _head_moved(
        events.build(tag), param("last_hash", _HEADS.c.last_hash, tag)))


def _head_moved(events, last_hash):
    """The update that moves the head to ``last_hash`` and the last of ``events`` (an
    insert), that insert a CTE of it."""
    inserted = events.returning(_EVENTS.c.id).cte("audit_inserted")
    return (update(_HEADS).where(_HEADS.c.id == 1)
            .values(last_hash=last_hash,
                    last_id=select(func.max(inserted.c.id)).scalar_subquery())
            .add_cte(inserted))


def _built_once(cache: dict[int, Template], n: int, build) -> Template:
    """The template ``build`` makes for ``n`` events, kept in ``cache`` for the usual
    sizes (a bulk action's statement is not kept)."""
    found = cache.get(n)
    if found is None:
        found = Template(build)
        if n <= 32:
            found = cache.setdefault(n, found)
    return found


#: An event's values as :func:`append` queues them, by their columns' names.
_GIVEN = ("at", "actor", "action", "dossier_id", "detail")
_SERVER_CHAINED: dict[int, Template] = {}


def _server_chained(n: int) -> Template:
    """PostgreSQL's one statement that chains ``n`` events on the locked head: a CTE per
    event computes its hash from the one before (``sha256`` of ``["<prev>",`` and the
    event's :func:`_tail`, given as a parameter), then the events are inserted in order
    and the head moved (built once per number of events)."""
    def build(tag: str):
        link = (select(_HEADS.c.last_hash.label("hash")).where(_HEADS.c.id == 1)
                .with_for_update().cte("audit_locked_head"))
        links = []
        for i in range(n):
            body = (literal_column("'[\"'", Text()) + link.c.hash + literal_column("'\",'", Text())
                    + bindparam(f"p_tail_{i}{tag}", type_=Text()))
            digest = func.encode(func.sha256(func.convert_to(body, literal_column("'UTF8'"))),
                                 literal_column("'hex'"))
            link = select(link.c.hash.label("prev"), digest.label("hash")).cte(f"audit_link_{i}")
            links.append(link)
        # Each row is one whatever the links hold: a head that is missing (it is made at
        # set-up and never removed) gives NULL hashes, which the table refuses, never an
        # event silently left out.
        rows = [select(*(param(f"{name}_{i}", _EVENTS.c[name], tag).label(name)
                         for name in _GIVEN),
                       select(link.c.prev).scalar_subquery().label("prev_hash"),
                       select(link.c.hash).scalar_subquery().label("hash"))
                for i, link in enumerate(links)]
        events = insert(_EVENTS).from_select([*_GIVEN, "prev_hash", "hash"],
                                             union_all(*rows) if n > 1 else rows[0])
        return _head_moved(events, select(link.c.hash).scalar_subquery())

    return _built_once(_SERVER_CHAINED, n, build)


def verify_chain(p) -> dict:
    """Recompute every hash in order. ``{ok, events, first_bad_id}``."""
    prev = GENESIS
    count = 0
    with p.db.transaction() as session:
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
        for event in rows:
            expected = _digest(prev, event.at, event.actor, event.action, event.dossier_id,
                               event.detail)
            if event.prev_hash != prev or event.hash != expected:
                return {"ok": False, "events": count, "first_bad_id": event.id}
            prev = event.hash
            count += 1
        head = session.get(AuditHead, 1)
        if head is not None and head.last_hash != prev:
            return {"ok": False, "events": count, "first_bad_id": head.last_id}
    return {"ok": True, "events": count, "first_bad_id": None}
