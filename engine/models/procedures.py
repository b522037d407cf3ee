"""Procedures, their deployed versions, the agencies that receive them and their data stores."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..columns import Base, utcnow

if TYPE_CHECKING:
    from .people import Agency


class Procedure(Base):
    """A procedure (thủ tục hành chính); its behaviour lives in its versions."""

    __tablename__ = "procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name_vi: Mapped[str] = mapped_column(String(500))
    name_en: Mapped[str] = mapped_column(String(500), default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    active_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure_version.id", use_alter=True, name="fk_procedure_active_version"))

    # Loaded when read, never joined: a version row carries 10+ KB of metadata.
    agency: Mapped[Agency | None] = relationship(lazy="joined")
    active_version: Mapped[ProcedureVersion | None] = relationship(
        foreign_keys=[active_version_id], post_update=True, lazy="select")


class ProcedureVersion(Base):
    """An immutable deployed bundle. ``content_hash`` makes redeploying the same bundle a no-op."""

    __tablename__ = "procedure_version"
    __table_args__ = (UniqueConstraint("procedure_id", "content_hash"),
                      UniqueConstraint("procedure_id", "number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"))
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict] = mapped_column(JSON)  # procedure.yaml, parsed
    # The two large columns load only when read (on a cache miss): a version row comes
    # along with every dossier.
    files: Mapped[dict] = mapped_column(JSON, deferred=True)  # relative path -> text
    process_id: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict] = mapped_column(JSON, deferred=True)  # serialized SpiffWorkflow specs
    deployed_by: Mapped[str] = mapped_column(String(80), default="system")
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcedureAgency(Base):
    """An agency that receives a procedure's dossiers (the applicant picks one when several
    do, e.g. the 27 district finance offices). Data an administrator edits."""

    __tablename__ = "procedure_agency"

    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)

    agency: Mapped[Agency] = relationship(lazy="joined")


class ProcedureDataStore(Base):
    """The value of one BPMN data store of a procedure (kho dữ liệu của thủ tục): shared by
    all its dossiers and versions, read and written in a step's transaction
    (:mod:`engine.datastores`)."""

    __tablename__ = "procedure_data_store"

    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
