"""Cooperating processes (liên thông): which messages start a dossier of which process.

A procedure may name, beside the process a citizen's submission starts, *cooperating*
processes that a message start event starts (``cooperating:`` in procedure.yaml), e.g. the
Department of Finance's side of a budget-code dossier that a district office forwards.
:func:`start_receivers` lists, over every active version, the message names that start
such a process; deploy refuses a second procedure starting on a name already taken, and
the worker starts the dossier (:func:`engine.dossiers.start_dossier`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Procedure, ProcedureVersion
from .spiff import SPECS

#: :func:`start_messages` per spec object: a spec is never changed once parsed, and the
#: versions' specs are kept by the process (``engine.spiff.SPECS``), so a submission asks
#: each one once.
_STARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def start_messages(spec: BpmnProcessSpec) -> list[str]:
    """The names of the messages that start ``spec`` (its top-level message start events,
    each message of a start event with several)."""
    found = _STARTS.get(spec)
    if found is None:
        found = _STARTS[spec] = tuple(_start_messages(spec))
    return list(found)


def _start_messages(spec: BpmnProcessSpec) -> list[str]:
    names = set()
    for ts in spec.task_specs.values():
        definition = getattr(ts, "event_definition", None) if isinstance(ts, StartEvent) else None
        inner = (definition.event_definitions if isinstance(definition, MultipleEventDefinition)
                 else [definition])
        names |= {d.name for d in inner if isinstance(d, MessageEventDefinition)}
    return sorted(names)


@dataclass(frozen=True)
class StartReceiver:
    """A cooperating process of an active procedure version that a message starts."""

    message: str
    procedure_id: int
    procedure_code: str
    version_id: int
    process_id: str  # '' : the procedure's own process (started by another system)
    agency_code: str  # '' : the procedure's own agency
    deadline: dict | None  # the cooperating side's own deadline, if procedure.yaml gives one


def start_receivers(session: Session, *, exclude_procedure_id: int | None = None
                    ) -> dict[str, StartReceiver]:
    """Message name → the process it starts, over every active version: a cooperating
    process, or the procedure's own process when it starts on a message (another system
    posts it, ``POST /api/v1/messages``). (Deploy refuses a second procedure starting on a
    name already taken, so names are unique.)"""
    receivers: dict[str, StartReceiver] = {}
    rows = session.execute(select(Procedure, ProcedureVersion).join(
        ProcedureVersion, ProcedureVersion.id == Procedure.active_version_id)
        .order_by(Procedure.id)).all()
    for procedure, version in rows:
        if procedure.id == exclude_procedure_id:
            continue
        main = version.meta.get("process_id")
        if main:  # the procedure's own process, where another system's message starts it
            spec, _subs = SPECS.get(version)
            for name in start_messages(spec):
                receivers.setdefault(name, StartReceiver(
                    message=name, procedure_id=procedure.id, procedure_code=procedure.code,
                    version_id=version.id, process_id="", agency_code="", deadline=None))
        for entry in version.meta.get("cooperating") or []:
            spec, _subs = SPECS.get(version, entry["process_id"])
            for name in start_messages(spec):
                receivers.setdefault(name, StartReceiver(
                    message=name, procedure_id=procedure.id, procedure_code=procedure.code,
                    version_id=version.id, process_id=entry["process_id"],
                    agency_code=entry.get("agency") or "", deadline=entry.get("deadline")))
    return receivers
