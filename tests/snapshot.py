"""An initialised database built once per test session and restored for every test.

``motcua init`` (schema, reference data, every bundle in bpmn/) and the demo accounts cost
about half a second a test, most of it deploying the bundles. A test needs the result,
not the work, so the first test on each database builds it and every later one restores
it:

- SQLite: the initialised file is kept and copied over the test's own database file;
- PostgreSQL: the rows of every table are kept in memory; a test's database is emptied
  with one ``TRUNCATE … RESTART IDENTITY`` and the rows are inserted again, the serial
  sequences set past them. A schema that a test changed (the migration tests drop it) is
  noticed by its fingerprint and rebuilt.

Restored data is the same data, with the same ids: caches keyed by a version's id and
content hash (:mod:`engine.step.load`) stay right across tests.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Integer, bindparam, insert, make_url, select, text, update

from engine import demo, setup
from engine.schema import metadata

_COLUMNS = text("SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, column_name")


@dataclass
class _Snapshot:
    fingerprint: str = ""
    rows: dict[str, list[dict]] = field(default_factory=dict)
    sqlite_file: Path | None = None


_SNAPSHOTS: dict[tuple[str, str], _Snapshot] = {}


def initialise(p) -> None:
    """What every ``platform`` test starts from, made the slow way."""
    from tests.conftest import reset_database

    reset_database(p.db)
    setup.init(p, migrate=False)
    demo.create_accounts(p, with_pki=False)


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database)


def _fingerprint(conn) -> str:
    return hashlib.sha256(repr(conn.execute(_COLUMNS).all()).encode()).hexdigest()


def _serial_columns(table):
    return [c for c in table.primary_key.columns
            if isinstance(c.type, Integer) and c.autoincrement in (True, "auto")
            and len(table.primary_key.columns) == 1]


def prepare_database(settings, scratch: Path) -> None:
    """For SQLite: put an initialised copy where ``settings`` expects its database, before
    the platform opens it. (PostgreSQL is restored by :func:`restore` once it is open.)"""
    url = settings.database_url
    if not url.startswith("sqlite"):
        return
    key = ("sqlite", str(settings.bpmn_dir))
    snap = _SNAPSHOTS.get(key)
    if snap is None:
        from engine.platform import Platform

        template = scratch / "template.sqlite3"
        built = Platform(type(settings)(data_dir=scratch / "data",
                                        database_url=f"sqlite:///{template}",
                                        bpmn_dir=settings.bpmn_dir))
        initialise(built)
        built.close()
        snap = _SNAPSHOTS[key] = _Snapshot(sqlite_file=template)
    shutil.copyfile(snap.sqlite_file, _sqlite_path(url))


def restore(p) -> None:
    """Bring an open platform's database to the initialised state (PostgreSQL); SQLite was
    copied into place by :func:`prepare_database`."""
    if not p.db.is_postgres:
        return
    key = (p.settings.database_url, str(p.settings.bpmn_dir))
    snap = _SNAPSHOTS.get(key)
    if snap is not None:
        with p.db.engine.begin() as conn:
            if _fingerprint(conn) == snap.fingerprint:
                _refill(conn, snap)
                return
    initialise(p)
    with p.db.engine.connect() as conn:
        tables = [t for t in metadata.sorted_tables]
        _SNAPSHOTS[key] = _Snapshot(
            fingerprint=_fingerprint(conn),
            rows={t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in tables})


def _deferred_columns(table) -> list[str]:
    """Columns of a foreign key that closes a cycle (``use_alter``): filled after every
    table's rows are in, as ``create_all`` adds those constraints after every table."""
    return [c.parent.name for fk in table.foreign_key_constraints if fk.use_alter
            for c in fk.elements]


def _refill(conn, snap: _Snapshot) -> None:
    tables = metadata.sorted_tables
    conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables)
                         + " RESTART IDENTITY CASCADE")
    sequences, later = [], []
    for table in tables:
        rows = snap.rows.get(table.name)
        if not rows:
            continue
        deferred = _deferred_columns(table)
        if deferred:
            later.append((table, deferred, rows))
            rows = [{**r, **dict.fromkeys(deferred)} for r in rows]
        conn.execute(insert(table), rows)
        for column in _serial_columns(table):
            top = max(r[column.name] for r in rows)
            sequences.append(f"setval(pg_get_serial_sequence('\"{table.name}\"', "
                             f"'{column.name}'), {int(top) + 1}, false)")
    for table, deferred, rows in later:
        key = list(table.primary_key.columns)
        conn.execute(update(table).where(*(c == bindparam(f"k_{c.name}") for c in key))
                     .values({c: bindparam(f"v_{c}") for c in deferred}),
                     [{**{f"k_{c.name}": r[c.name] for c in key},
                       **{f"v_{c}": r[c] for c in deferred}} for r in rows])
    if sequences:
        conn.exec_driver_sql("SELECT " + ", ".join(sequences))
