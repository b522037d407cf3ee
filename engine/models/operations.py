"""The platform's own rows: the outbox, background jobs, the audit chain, calendar overrides,
worker heartbeats and settings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..columns import Base, utcnow


class Outbox(Base):
    """A side effect (an e-mail) to perform after commit, at most once per idempotency key."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="email")
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    # pending|sent|failed|skipped|cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attachments: Mapped[list] = mapped_column(JSON, default=list)  # document ids

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_dossier", "dossier_id"))  # a dossier's notifications


class Job(Base):
    """Work done after the step that asked for it has committed (rendering and sealing a
    slip…): written in the step's transaction, run right after commit in process or by a
    worker, retried with back-off, kept with its error when it fails (:mod:`engine.jobs`).
    ``key`` makes it idempotent: the same work is asked for once."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # pending|done|failed|skipped|cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_job_due", "status", "next_attempt_at"),
                      Index("ix_job_dossier", "dossier_id"))


class AuditEvent(Base):
    """One link of the hash-chained audit log."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_dossier", "dossier_id"),)


class AuditHead(Base):
    """A single row holding the chain's last hash; locking it orders concurrent appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    last_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)


class CalendarOverride(Base):
    """An announced day off (``off``) or make-up working day (``work``)."""

    __tablename__ = "calendar_override"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(255), default="")


class Revision(Base):
    """A number that triggers in the database move whenever a table it covers changes
    (:mod:`engine.revisions`), so that a process may keep what it built from those tables
    until the number moves. The numbers are random: a cache keyed by one cannot take one
    database's tables for another's."""

    __tablename__ = "revision"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class WorkerHeartbeat(Base):
    """When each background worker process last finished a round of its loop (readiness)."""

    __tablename__ = "worker_heartbeat"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlatformSetting(Base):
    """A value an administrator sets (engine/settings.py): the close of day, the afternoon
    cut-off, the form set in force…; a missing row means the built-in default."""

    __tablename__ = "platform_setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
