"""The tables. Workflow state is one JSON blob per dossier; everything a list or a
report needs (tasks, timers, outbox, audit) is in rows of its own so that no query
ever deserializes a workflow.

One module per area; every table is importable from here, and importing this package
registers them all on :data:`engine.columns.Base`'s metadata."""

from .dossiers import (
    ClockStop,
    CodeSequence,
    Document,
    Dossier,
    DossierSequence,
    HumanTask,
    Instance,
    Message,
    RegistryEntry,
    Timer,
    WaitingMessage,
)
from .operations import (
    AuditEvent,
    AuditHead,
    CalendarOverride,
    Job,
    Outbox,
    PlatformSetting,
    Revision,
    WorkerHeartbeat,
)
from .people import AccountToken, Agency, ApiToken, Role, User, UserRole, UserSession
from .procedures import Procedure, ProcedureAgency, ProcedureDataStore, ProcedureVersion

__all__ = [
    "Agency",
    "Role",
    "User",
    "UserRole",
    "ApiToken",
    "UserSession",
    "AccountToken",
    "Procedure",
    "ProcedureVersion",
    "ProcedureAgency",
    "ProcedureDataStore",
    "Dossier",
    "Instance",
    "HumanTask",
    "Timer",
    "Message",
    "WaitingMessage",
    "Document",
    "DossierSequence",
    "ClockStop",
    "CodeSequence",
    "RegistryEntry",
    "Outbox",
    "Job",
    "AuditEvent",
    "AuditHead",
    "CalendarOverride",
    "WorkerHeartbeat",
    "PlatformSetting",
    "Revision",
]
