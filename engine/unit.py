"""The unit of work: what one transaction will write besides its own statements.

:meth:`engine.db.Database.transaction` creates a :class:`Unit` with every session and
hands it over at the two moments that matter, in plain sight of the code that commits:

- **before commit** the transaction sends what the unit collected: the step path's row
  writes (:mod:`engine.step.store`) and the audit events, chained, in one insert and one
  update of the chain head (:func:`engine.audit.chain`) — one statement on PostgreSQL;
- **after commit** it runs the callbacks the transaction registered (jobs run in process
  right after commit, :mod:`engine.jobs`), each failure logged, never raised: the work is
  committed and the worker retries it.

Nothing listens on the global ``Session`` class; a session made outside
``transaction()`` has no unit, and the engine functions that need one say so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

KEY = "motcua_unit"


@dataclass
class Unit:
    """The pending writes and the locks of one transaction."""

    #: Audit events as ``(at, actor, action, dossier_id, detail)``, written before commit.
    audit: list[tuple] = field(default_factory=list)
    #: Core statements of the step path not sent yet (:func:`engine.step.store.send_pending`).
    writes: list = field(default_factory=list)
    #: Idempotency keys of the e-mails queued in this transaction.
    outbox_keys: set[str] = field(default_factory=set)
    #: Dossier ids whose row this transaction holds locked.
    locked: set[int] = field(default_factory=set)
    #: Dossier id -> (sequence, status) of the last national-portal record queued
    #: (:mod:`engine.national`).
    national_sequence: dict[int, tuple[int, str | None]] = field(default_factory=dict)
    #: Dossier id -> (records queued before this transaction, paid payments, identity
    #: verified): the national record's facts read with the dossier's lock
    #: (:mod:`engine.step.facts`).
    national_facts: dict[int, tuple[int, int, bool]] = field(default_factory=dict)
    #: The calendar's revision as the transaction's locked read found it (None: not read).
    calendar_revision: int | None = None
    #: Callables run once the transaction has committed.
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: The transaction's connection, once a statement has asked for it
    #: (:func:`engine.step.sql.run`: ``Session.connection()`` costs a state-machine walk).
    connection: object | None = None
    #: The engine the unit begins its own connection's transaction on (:meth:`connect`);
    #: None: it takes the session's.
    engine: object | None = None
    #: The Core transaction the unit began on :attr:`connection` (None: the session's own
    #: transaction holds the connection and commits it).
    transaction: object | None = None

    def take_audit(self) -> list[tuple]:
        pending, self.audit = self.audit, []
        return pending

    def take_writes(self) -> list:
        pending, self.writes = self.writes, []
        return pending

    def connect(self, session: Session) -> Connection:
        """The transaction's connection, its transaction begun.

        When the session has begun nothing yet (a step's first statement is sent on the
        driver, :mod:`engine.step.sql`), the unit checks a connection out of the engine
        and begins its transaction itself, and binds the session to that connection: ORM
        work later in the transaction (autoflush, a query, the flush before commit) joins
        it, as a session bound to a connection in a transaction does
        (``join_transaction_mode="rollback_only"``), and :meth:`Database.transaction
        <engine.db.Database.transaction>` commits it. The session's own transaction — a
        ``SessionTransaction``, a state machine walked at every begin, connection, commit
        and close — is then begun only by ORM work (a changed object begins it without a
        connection; a query or a flush joins the connection), and never commits or checks
        out a connection itself. When the session has begun first (ORM work before any
        driver statement), its connection is the transaction's, and it commits."""
        if self.connection is None:
            if self.engine is None or session.in_transaction():
                self.connection = session.connection()
            else:
                connection = self.engine.connect()
                try:
                    self.transaction = connection.begin()
                except BaseException:
                    connection.close()
                    raise
                session.bind = self.connection = connection
        return self.connection

    def committed(self) -> None:
        callbacks, self.after_commit = self.after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # committed work is safe; the worker picks it up again
                log.exception("after-commit work failed; the worker will retry it")


def unit_of(session: Session) -> Unit:
    """The unit of the transaction ``session`` belongs to."""
    unit = session.info.get(KEY)
    if unit is None:
        raise RuntimeError("this session was not opened by Database.transaction(): it has no "
                           "unit of work to hold audit events, locks and jobs")
    return unit
