"""Dossiers and what runs them: instances, human tasks, timers, messages, documents, clock
stops, numbering and the register."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..columns import Base, utcnow

if TYPE_CHECKING:
    from .people import Agency, User
    from .procedures import Procedure, ProcedureVersion


class Dossier(Base):
    """A dossier (hồ sơ): one application, one process instance."""

    __tablename__ = "dossier"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(40), default="submitted")
    channel: Mapped[str] = mapped_column(String(10), default="online")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The dossier this one cooperates with (liên thông): a Department-side dossier started by
    # a message from a district office's dossier points at that dossier.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    # The process of the version this dossier runs when it is not the version's main one
    # (a cooperating process started by a message start event).
    process_id: Mapped[str | None] = mapped_column(String(255))
    # The stopped clock (DOMAIN.md §3): set while the applicant supplements; the total of
    # working days paused so far, and how many supplements were requested.
    clock_stopped_at: Mapped[datetime | None]
    paused_working_days: Mapped[int] = mapped_column(Integer, default=0)
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    # Set while an administrator has suspended the dossier's processing (tạm dừng xử lý,
    # :mod:`engine.incidents`): its steps, timers, messages and jobs wait until resumed.
    suspended_at: Mapped[datetime | None]
    # The appointment in force before any apology (form 04): set with ``due_at`` when the
    # appointment is first fixed, moved like it by supplement pauses, never by an apology.
    # Statistics judge on time against it (Decision 766).
    original_due_at: Mapped[datetime | None]
    # The hand-over of the result (trả kết quả): ``processed`` is the result ready
    # (``finished_at``), ``returned`` is when and how it reached the applicant
    # (``counter``, ``post`` or ``online``).
    returned_at: Mapped[datetime | None]
    return_method: Mapped[str | None] = mapped_column(String(10))
    # The reception officer who entered a dossier received at the counter or by post.
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The form set (legal basis of the slips, engine/formsets.py) chosen at receipt.
    form_set: Mapped[str | None] = mapped_column(String(40))
    # The dossier's code at the national public-service portal, once it has answered a
    # synchronisation (engine/national.py).
    national_code: Mapped[str | None] = mapped_column(String(80))

    # Many-to-one, loaded when read (from the session's identity map when already there):
    # a dossier row is hot, and joining these to every read of it cost more than it saved.
    procedure: Mapped[Procedure] = relationship(lazy="select")
    version: Mapped[ProcedureVersion] = relationship(lazy="select")
    agency: Mapped[Agency] = relationship(lazy="select")
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id], lazy="select")

    __table_args__ = (Index("ix_dossier_applicant", "applicant_id"),
                      Index("ix_dossier_agency_status", "agency_id", "status"),
                      Index("ix_dossier_parent", "parent_id"),
                      # an agency's dossiers newest first (engine.dossier_search)
                      Index("ix_dossier_agency_received", "agency_id", "received_at", "id"),
                      # Statistics read a period: dossiers received in it or finished in it.
                      Index("ix_dossier_received_at", "received_at"),
                      Index("ix_dossier_finished_at", "finished_at"))


class Instance(Base):
    """The saved SpiffWorkflow state of a dossier (without its specs, which live on the
    version): JSON compressed with zlib (:func:`engine.spiff.dump_state`); rows saved
    before compression hold the plain JSON bytes and still load."""

    __tablename__ = "instance"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), primary_key=True)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HumanTask(Base):
    """A ready user task: who may do it (role, agency, assignee), by when, with which form."""

    __tablename__ = "human_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    spec_name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500))
    role_code: Mapped[str] = mapped_column(String(40))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    form: Mapped[str | None] = mapped_column(String(255))
    properties: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|completed|cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    data: Mapped[dict | None] = mapped_column(JSON)  # what was submitted, for the history

    dossier: Mapped[Dossier] = relationship(lazy="select")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="select")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    # The inbox (engine.inbox) reads one ordered range of each partial index per page:
    # tasks assigned to the officer, and unclaimed tasks of each (role, agency) they hold.
    __table_args__ = (
        Index("ix_task_assignee_due", "assignee_id", "due_at", "id",
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("ix_task_unclaimed_due", "role_code", "agency_id", "due_at", "id",
              postgresql_where=text("status = 'open' AND assignee_id IS NULL"),
              sqlite_where=text("status = 'open' AND assignee_id IS NULL")),
        Index("ix_task_dossier", "dossier_id", "status"))


class Timer(Base):
    """A waiting timer event; workers claim due rows with ``FOR UPDATE SKIP LOCKED``."""

    __tablename__ = "timer"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    spec_name: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime]
    # waiting|fired|cancelled|error|skipped
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    fired_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Failed tries so far, the next try (back-off) and the element that failed (a service
    # task after the timer event, say): see :mod:`engine.incidents`.
    # Server defaults: the step path inserts these rows with INSERT … SELECT.
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    failed_element: Mapped[str] = mapped_column(String(255), server_default="")

    __table_args__ = (Index("ix_timer_due", "status", "due_at"),)


class Message(Base):
    """A BPMN message between dossiers (instances): written by a message throw event, message
    end event or send task in the sender's step, delivered by the worker to the dossier whose
    ``waiting_message`` row has the same name and correlation (see :mod:`engine.messages`)."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    correlation: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # pending|delivered|error|expired|skipped|cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    sender_dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    receiver_dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    sender_task: Mapped[str] = mapped_column(String(255), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")  # as on ``timer``
    next_attempt_at: Mapped[datetime | None]
    failed_element: Mapped[str] = mapped_column(String(255), server_default="")
    # the system account that posted it (POST /api/v1/messages), None for a dossier's message;
    # an id, not a foreign key: accounts are deactivated, never deleted
    sender_user_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_message_pending", "status", "correlation"),)


class WaitingMessage(Base):
    """A task waiting for a message, synced after every step like timers: a catch event, a
    receive task, a message boundary event or an event-based gateway's message branch (one
    row per message name). Delivery looks receivers up here, never in workflow states."""

    __tablename__ = "waiting_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    task_guid: Mapped[str] = mapped_column(String(36))
    spec_name: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    correlation: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("task_guid", "name"),
                      Index("ix_waiting_message_lookup", "name", "correlation"),
                      Index("ix_waiting_message_dossier", "dossier_id"))


class Document(Base):
    """A file of a dossier: an upload, or a generated (and possibly signed) result."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    name: Mapped[str] = mapped_column(String(120))  # logical name: a form field or result name
    kind: Mapped[str] = mapped_column(String(20), default="upload")  # upload|generated
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    signatures: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_document_dossier", "dossier_id", "name"),)


class DossierSequence(Base):
    """The last dossier number issued by an agency on a day (Circular 01/2018 Art. 19)."""

    __tablename__ = "dossier_sequence"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ClockStop(Base):
    """A period during which the dossier's clock stood still (a supplement request until
    the applicant completed it): DOMAIN.md §3, processing time excludes it."""

    __tablename__ = "clock_stop"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    reason: Mapped[str] = mapped_column(String(40), default="supplement")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    working_days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (Index("ix_clock_stop_dossier", "dossier_id"),)


class CodeSequence(Base):
    """A named counter for numbers that are issued once and never reused (budget-relationship
    unit codes, licence numbers…). Incremented with one atomic update."""

    __tablename__ = "code_sequence"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class RegistryEntry(Base):
    """Something a procedure issued and others must respect: a code (unique in its registry,
    never reused), a badge for a vehicle (one active entry per key)… ``registry`` names the
    book, ``key`` what it is about (a unit, a plate), ``number`` what was issued."""

    __tablename__ = "registry_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    registry: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    number: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(80), default="")
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|closed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("registry", "number"),
                      Index("ix_registry_key", "registry", "key", "status"))
