"""Registries: numbers issued once and never reused, and books of what was issued to whom.

A procedure's diagram calls these operators from service tasks; admin pages and other Python
code read the books with :func:`lookup`. Everything runs inside the caller's transaction
(the dossier's step), so an issued number and the entry that records it commit or roll back
together with the rest of the step.

**Sequences** (``code_sequence`` rows) give the next number of a series with ONE atomic
statement, ``INSERT … ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last``: on
PostgreSQL the row lock it takes makes concurrent steps wait for each other's commit, on
SQLite writers are serialised (``BEGIN IMMEDIATE``). A sequence only moves forward, so a
committed number is never issued again; a step that rolls back takes its increment with it,
so the series stays gap-free. The ``UNIQUE (registry, number)`` constraint of
``registry_entry`` is the last guard when a registry is written.

**Books** (``registry_entry`` rows) record what was issued about a key (a unit, a vehicle
plate): its kind, number, validity and status. Checking that a key is free and writing the
new entry must not interleave between two concurrent dossiers, or both would pass the check
for the same key. No row may exist yet to ``SELECT … FOR UPDATE``, so every operator that
reads or writes the book of a key first takes a **transaction-scoped lock on (registry,
key)**: ``pg_advisory_xact_lock`` on PostgreSQL (released at commit or rollback; no rows
left behind; a 64-bit hash of the name, where a collision only makes two keys wait for
each other), nothing on SQLite, where the whole transaction already holds the write lock.
The guarantee therefore holds when a diagram checks and writes in the same step (service
tasks between two wait states), which is how an approval is drawn.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from sqlalchemy import Integer, String, bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import audit, clock
from .errors import OperatorError
from .models import CodeSequence, RegistryEntry
from .operators import StepContext, operator

ACTIVE, CLOSED = "active", "closed"


# -- plain functions (any caller with a session) ------------------------------------------

def next_value(session: Session, series: str) -> int:
    """The next number of ``series``, taken with one atomic upsert (see the module docstring)."""
    if not series or len(series) > 80:
        raise OperatorError("invalid_series", f"A series name needs 1 to 80 characters: {series!r}.",
                            vi=f"Tên dãy số phải có từ 1 đến 80 ký tự: {series!r}.")
    return int(session.execute(_NEXT_VALUE, {"name": series}).scalar_one())


# In the syntax PostgreSQL and SQLite share, written once: SQLAlchemy never caches the
# compiled form of its dialects' ``ON CONFLICT`` inserts.
_NEXT_VALUE = text(
    f"INSERT INTO {CodeSequence.__tablename__} (name, last) VALUES (:name, 1) "
    f"ON CONFLICT (name) DO UPDATE SET last = {CodeSequence.__tablename__}.last + 1 "
    "RETURNING last").bindparams(bindparam("name", type_=String)).columns(last=Integer)


def lock_key(session: Session, registry: str, key: str) -> None:
    """Hold a lock on (registry, key) until the transaction ends (PostgreSQL); SQLite's
    ``BEGIN IMMEDIATE`` transactions already exclude each other."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"registry\0{registry}\0{key}".encode()).digest()
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                    {"k": int.from_bytes(digest[:8], "big", signed=True)})


def _today() -> date:
    return clock.local_now().date()


def active_entries(session: Session, registry: str, key: str, *, on: date | None = None
                   ) -> list[RegistryEntry]:
    """The entries of ``key`` that are active and not expired on ``on`` (today)."""
    day = on or _today()
    rows = session.execute(select(RegistryEntry).where(
        RegistryEntry.registry == registry, RegistryEntry.key == key,
        RegistryEntry.status == ACTIVE).order_by(RegistryEntry.id)).scalars()
    return [e for e in rows if e.valid_to is None or e.valid_to >= day]


def entry_view(entry: RegistryEntry) -> dict:
    """An entry as plain JSON (for task data, admin pages and the API)."""
    return {"id": entry.id, "registry": entry.registry, "key": entry.key, "kind": entry.kind,
            "number": entry.number, "status": entry.status,
            "valid_from": entry.valid_from.isoformat() if entry.valid_from else None,
            "valid_to": entry.valid_to.isoformat() if entry.valid_to else None,
            "attributes": dict(entry.attributes or {}),
            "dossier_id": entry.dossier_id,
            "created_at": entry.created_at.isoformat() if entry.created_at else None,
            "closed_at": entry.closed_at.isoformat() if entry.closed_at else None}


def lookup(session: Session, registry: str, key: str) -> list[dict]:
    """Every entry of ``key`` in ``registry`` (active and closed), oldest first."""
    rows = session.execute(select(RegistryEntry).where(
        RegistryEntry.registry == registry, RegistryEntry.key == str(key))
        .order_by(RegistryEntry.id)).scalars()
    return [entry_view(e) for e in rows]


def _date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.astimezone(clock.VIETNAM).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        text_value = str(value)
        if "T" in text_value:
            return _date(datetime.fromisoformat(text_value), name)
        return date.fromisoformat(text_value)
    except ValueError:
        raise OperatorError("invalid_date", f"{name} is not an ISO 8601 date: {value!r}.",
                            vi=f"{name} không phải ngày dạng ISO 8601: {value!r}.") from None


def _close(session: Session, entries, step: StepContext, registry: str, key: str) -> list[str]:
    closed = []
    for entry in entries:
        entry.status = CLOSED
        entry.closed_at = clock.now()
        closed.append(entry.number or "")
    if closed:
        audit.append(session, actor=step.actor, action="registry_close",
                     dossier_id=step.dossier.id,
                     detail={"registry": registry, "key": key, "numbers": closed})
    return closed


def _write(step: StepContext, **values) -> RegistryEntry:
    """Insert an entry; a number already in the registry is a business error, not a crash
    (the savepoint keeps the step's transaction usable for an error boundary event)."""
    entry = RegistryEntry(dossier_id=step.dossier.id, status=ACTIVE, created_at=clock.now(),
                          **values)
    try:
        with step.session.begin_nested():
            step.session.add(entry)
    except IntegrityError:
        raise OperatorError(
            "number_taken",
            f"Number {values.get('number')!r} is already in registry {values['registry']!r}.",
            vi=f"Số {values.get('number')!r} đã có trong sổ {values['registry']!r}.") from None
    audit.append(step.session, actor=step.actor, action="registry_add",
                 dossier_id=step.dossier.id,
                 detail={"registry": entry.registry, "key": entry.key, "kind": entry.kind,
                         "number": entry.number, "entry_id": entry.id})
    return entry


def _attributes(value) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise OperatorError("invalid_attributes", "attributes must be a mapping of names to values.",
                            vi="attributes phải là một bảng tên → giá trị.")
    # plain JSON (dates become strings), as the JSON column and the audit detail need
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


# -- operators (service tasks) ---------------------------------------------------------

@operator
def issue_number(step: StepContext, task, series: str, prefix: str = "", digits: int = 6,
                 registry: str = "", key: str = "", kind: str = "", attributes=None) -> dict:
    """Issue the next number of ``series`` as ``prefix`` + the number zero-padded to
    ``digits`` (e.g. series 'dvqhns-1', prefix '1', digits 6 → '1000042'); never reused.
    With ``registry``, also record it there for ``key`` (an active entry of ``kind``)."""
    digits = int(digits)
    value = next_value(step.session, str(series))
    if value >= 10 ** digits:
        raise OperatorError(
            "sequence_exhausted",
            f"Series {series!r} has used every {digits}-digit number (next would be {value}).",
            vi=f"Dãy số {series!r} đã dùng hết các số có {digits} chữ số (số tiếp theo: {value}).")
    number = f"{prefix}{value:0{digits}d}"
    result = {"number": number}
    if registry:
        lock_key(step.session, str(registry), str(key))
        entry = _write(step, registry=str(registry), key=str(key), number=number, kind=str(kind),
                       attributes=_attributes(attributes))
        result["entry_id"] = entry.id
    audit.append(step.session, actor=step.actor, action="issue_number",
                 dossier_id=step.dossier.id,
                 detail={"series": str(series), "number": number, "registry": str(registry)})
    step.events.append(f"number:{number}")
    return result


@operator
def registry_require_free(step: StepContext, task, registry: str, key: str, kind: str = "",
                          code: str = "registry_conflict", message: str = "") -> dict:
    """Stop with the business error ``code`` when ``key`` already holds an active, unexpired
    entry in ``registry`` (with ``kind``: of another kind — renewing the same kind is
    allowed). Locks the key until the step commits (see the module docstring)."""
    registry, key = str(registry), str(key)
    lock_key(step.session, registry, key)
    active = active_entries(step.session, registry, key)
    blocking = [e for e in active if not kind or e.kind != str(kind)]
    if blocking:
        held = ", ".join(f"{e.kind or '-'} {e.number or ''}".strip() for e in blocking)
        raise OperatorError(str(code),
                            str(message or f"{key} already holds an active entry in {registry}: "
                                           f"{held}."),
                            vi=str(message or f"{key} đã có mục còn hiệu lực trong sổ {registry}: "
                                              f"{held}."),
                            details=[{"kind": e.kind, "number": e.number,
                                      "valid_to": e.valid_to.isoformat() if e.valid_to else None}
                                     for e in blocking])
    return {"free": True,
            "active": [{"kind": e.kind, "number": e.number,
                        "valid_to": e.valid_to.isoformat() if e.valid_to else None}
                       for e in active]}


@operator
def registry_add(step: StepContext, task, registry: str, key: str, kind: str = "",
                 number: str = "", valid_from=None, valid_to=None, attributes=None,
                 replace: bool = True) -> dict:
    """Record an active entry for ``key`` in ``registry``; with ``replace`` (the default),
    close the key's earlier active entries of the same kind first (a renewal)."""
    registry, key, kind = str(registry), str(key), str(kind)
    lock_key(step.session, registry, key)
    start, end = _date(valid_from, "valid_from"), _date(valid_to, "valid_to")
    if start and end and end < start:
        raise OperatorError("invalid_date", f"valid_to {end} is before valid_from {start}.",
                            vi=f"Ngày hết hiệu lực {end:%d/%m/%Y} trước ngày hiệu lực "
                               f"{start:%d/%m/%Y}.")
    closed = []
    if replace:
        previous = step.session.execute(select(RegistryEntry).where(
            RegistryEntry.registry == registry, RegistryEntry.key == key,
            RegistryEntry.kind == kind, RegistryEntry.status == ACTIVE)).scalars().all()
        closed = _close(step.session, previous, step, registry, key)
    entry = _write(step, registry=registry, key=key, kind=kind, number=str(number) or None,
                   valid_from=start, valid_to=end, attributes=_attributes(attributes))
    return {"entry_id": entry.id, "closed": closed}


@operator
def registry_close(step: StepContext, task, registry: str, key: str, kind: str = "") -> dict:
    """Close the active entries of ``key`` in ``registry`` (only those of ``kind`` if given):
    a code withdrawn, a badge revoked. Their numbers stay taken."""
    registry, key = str(registry), str(key)
    lock_key(step.session, registry, key)
    query = select(RegistryEntry).where(RegistryEntry.registry == registry,
                                        RegistryEntry.key == key, RegistryEntry.status == ACTIVE)
    if kind:
        query = query.where(RegistryEntry.kind == str(kind))
    closed = _close(step.session, step.session.execute(query).scalars().all(), step,
                    registry, key)
    return {"closed": closed}


OPERATORS = (issue_number, registry_require_free, registry_add, registry_close)
