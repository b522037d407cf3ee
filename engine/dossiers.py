"""Dossiers (hồ sơ): submission, codes, appointment dates, what applicants and officers see."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    String,
    bindparam,
    cast,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import (
    audit,
    clock,
    deadlines,
    forms,
    formsets,
    inbound,
    messages,
    outside,
    progress,
    runtime,
)
from . import settings as platform_settings
from .calendar import load_calendar
from .cooperation import StartReceiver, start_messages
from .db import UTCDateTime
from .documents import can_see_dossier, is_agency_side, withheld
from .documents import view as document_view
from .errors import Conflict, InvalidData, NotFound, PermissionDenied, ScriptError
from .models import (
    Agency,
    AuditEvent,
    ClockStop,
    Document,
    Dossier,
    HumanTask,
    Job,
    Message,
    Outbox,
    Procedure,
    ProcedureVersion,
    User,
)
from .procedures import application_form, public_fee, receiving_agencies
from .spiff import SPECS
from .statuses import status_labels
from .step import load
from .step.rows import waiting_definitions
from .versions import version_meta


def next_code(session: Session, agency, received_at: datetime) -> str:
    """``<agency code>-<YYMMDD>-<NNNN>``: a per-agency, per-day sequence (Circular 01/2018
    Art. 19), taken with one atomic upsert so concurrent submissions never share a number."""
    from .models import DossierSequence

    day = received_at.astimezone(clock.VIETNAM).date()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (insert(DossierSequence).values(agency_id=agency.id, day=day, last=1)
            .on_conflict_do_update(index_elements=["agency_id", "day"],
                                   set_={"last": DossierSequence.last + 1})
            .returning(DossierSequence.last))
    number = session.execute(stmt).scalar_one()
    return f"{agency.code}-{day:%y%m%d}-{number:04d}"


def submit(p, user, procedure_code: str, data: dict, files: dict | None = None,
           agency_code: str | None = None) -> dict:
    """Submit a dossier online to ``agency_code`` (one of the procedure's receiving agencies:
    required when it has several): check the form and files, give it a code and an
    appointment date, start its process. Nothing is kept if anything is wrong."""
    if user is None:
        raise PermissionDenied("Sign in to submit a dossier.", vi="Hãy đăng nhập để nộp hồ sơ.")
    return outside.attempts(lambda: _submit(p, user, procedure_code, data, files, agency_code))


def _submit(p, user, procedure_code, data, files, agency_code) -> dict:
    with p.db.transaction() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == procedure_code)).scalar()
        if procedure is None or procedure.active_version_id is None:
            raise NotFound(f"No procedure {procedure_code!r}.",
                           vi=f"Không có thủ tục {procedure_code!r}.")
        version = load.version_by_id(session, procedure.active_version_id)
        if start_messages(SPECS.get(version)[0]):
            raise Conflict(f"Procedure {procedure_code!r} is started by another system's "
                           "message, not submitted.",
                           vi=f"Thủ tục {procedure_code!r} được khởi tạo bằng thông điệp từ hệ "
                              "thống khác, không nộp trực tiếp.")
        agency = receiving_agency(session, procedure, agency_code)
        schema = application_form(version)
        applicant = session.get(User, user.id)
        dossier = open_dossier(session, procedure=procedure, version=version, agency=agency,
                               applicant=applicant, channel="online")
        refused: list[dict] = []
        stored = forms.store_uploads(p, session, schema, files, dossier=dossier, user_id=user.id,
                                     collect=refused)
        dossier.data = forms.validate(schema, data or {}, uploads=stored, also=refused)
        audit.append(session, actor=user.username, action="submit", dossier_id=dossier.id,
                     detail={"procedure": procedure.code, "version": version.number,
                             "agency": agency.code, "due_at": dossier.due_at.isoformat()})
        start_process(p, session, dossier, applicant, version, actor=user.username)
        return {"code": dossier.code, "status": dossier.status,
                "received_at": dossier.received_at.isoformat(),
                "due_at": dossier.due_at.isoformat(), "agency": agency.code}


def open_dossier(session: Session, *, procedure: Procedure, version, agency: Agency,
                 applicant: User, channel: str, data: dict | None = None,
                 parent_id: int | None = None, process_id: str | None = None,
                 deadline: dict | None = None) -> Dossier:
    """Create a dossier row, however it came in (submitted by its applicant, or started by
    another dossier's message): its code from the receiving agency's daily sequence, its
    appointment from the procedure's deadline (or ``deadline``) on the working-day
    calendar."""
    received_at = clock.now()
    meta = {**version.meta, "deadline": deadline} if deadline else version.meta
    due_at = deadlines.initial_due_at(load_calendar(session), meta, received_at, channel)
    dossier = Dossier(code=next_code(session, agency, received_at), procedure_id=procedure.id,
                      version_id=version.id, agency_id=agency.id, applicant_id=applicant.id,
                      status="submitted", channel=channel, received_at=received_at,
                      due_at=due_at, original_due_at=due_at, data=data or {},
                      parent_id=parent_id, process_id=process_id,
                      form_set=formsets.choose(version.meta, received_at,
                                               platform_settings.values(session)))
    session.add(dossier)
    session.flush()
    return dossier


def start_process(p, session: Session, dossier: Dossier, applicant: User, version, *,
                  actor: str):
    """Start the new dossier's process with the data every process starts with."""
    return runtime.start(p, session, dossier, initial_data(dossier, applicant), actor=actor,
                         version=version)


def receiving_agency(session: Session, procedure: Procedure, agency_code: str | None) -> Agency:
    """The agency a submission goes to: the applicant's choice among the procedure's receiving
    agencies (e.g. one of the district finance offices), or the only one there is."""
    agencies = receiving_agencies(session, procedure)
    if not agencies:
        raise InvalidData("This procedure has no receiving agency yet.",
                          vi="Thủ tục chưa có cơ quan tiếp nhận hồ sơ.")
    code = (agency_code or "").strip()
    if code:
        chosen = next((a for a in agencies if a.code == code), None)
        if chosen is None:
            raise InvalidData(
                f"Agency {code!r} does not receive dossiers of this procedure.",
                vi=f"Cơ quan {code!r} không tiếp nhận hồ sơ của thủ tục này.",
                details=[{"field": "agency",
                          "message": "Choose one of the agencies that receive this procedure.",
                          "message_vi": "Hãy chọn một trong các cơ quan tiếp nhận thủ tục này."}])
        return chosen
    if len(agencies) > 1:
        raise InvalidData(
            "Choose the agency that receives your dossier.",
            vi="Hãy chọn cơ quan tiếp nhận hồ sơ.",
            details=[{"field": "agency",
                      "message": "Choose the agency that receives your dossier (one of "
                                 f"{', '.join(a.code for a in agencies)}).",
                      "message_vi": "Hãy chọn cơ quan tiếp nhận hồ sơ."}])
    return agencies[0]


def initial_data(dossier: Dossier, applicant: User) -> dict:
    """The workflow data a process starts with (see bpmn/README.md)."""
    return {
        "dossier": {"code": dossier.code, "received_at": dossier.received_at.isoformat(),
                    "due_at": dossier.due_at.isoformat(), "agency_code": dossier.agency.code,
                    "agency_name": dossier.agency.name_vi, "procedure": dossier.procedure.code,
                    "applicant": {"name": applicant.full_name, "email": applicant.email,
                                  "id_number": applicant.id_number}},
        "application": dict(dossier.data),
    }


def _find(session: Session, code: str) -> Dossier:
    dossier = session.execute(select(Dossier).where(Dossier.code == code.strip())).scalar()
    if dossier is None:
        raise NotFound(f"No dossier with code {code!r}.", vi=f"Không tìm thấy hồ sơ mã {code!r}.")
    return dossier


#: The status look-up's one indexed read of the dossier: its own columns and the names it
#: shows. Never a version's ``meta`` (:func:`engine.versions.version_meta` caches it by
#: version id) nor the eager joins of the ORM classes.
_LOOKUP = (
    select(Dossier.id, Dossier.code, Dossier.status, Dossier.channel, Dossier.data,
           Dossier.received_at, Dossier.due_at, Dossier.finished_at, Dossier.parent_id,
           Dossier.applicant_id, Dossier.agency_id, Dossier.procedure_id, Dossier.version_id,
           ProcedureVersion.content_hash,
           Procedure.code.label("procedure_code"), Procedure.name_vi.label("procedure_vi"),
           Procedure.name_en.label("procedure_en"), Agency.code.label("agency_code"),
           Agency.name_vi.label("agency_vi"), Agency.name_en.label("agency_en"),
           User.full_name.label("applicant_name"), User.id_number.label("applicant_id_number"))
    .join(Procedure, Procedure.id == Dossier.procedure_id)
    .join(ProcedureVersion, ProcedureVersion.id == Dossier.version_id)
    .join(Agency, Agency.id == Dossier.agency_id)
    .join(User, User.id == Dossier.applicant_id))
_LOOKUP_MINE = (_LOOKUP.where(Dossier.applicant_id == bindparam("user_id"))
                .order_by(Dossier.received_at.desc(), Dossier.id.desc()))


def _record(session: Session, row) -> SimpleNamespace:
    """A read-only stand-in for a :class:`Dossier` with what :func:`summary`,
    :func:`dossier_view` and the visibility rules read (``procedure``, ``agency``,
    ``applicant``, ``version.meta``), built from a :data:`_LOOKUP` row or the ``dossier``
    row of :func:`_dossier_rows` (same names)."""
    return SimpleNamespace(
        id=row.id, code=row.code, status=row.status, channel=row.channel, data=row.data,
        received_at=row.received_at, due_at=row.due_at, finished_at=row.finished_at,
        parent_id=row.parent_id, applicant_id=row.applicant_id, agency_id=row.agency_id,
        procedure_id=row.procedure_id, version_id=row.version_id,
        procedure=SimpleNamespace(id=row.procedure_id, code=row.procedure_code,
                                  name_vi=row.procedure_vi, name_en=row.procedure_en),
        agency=SimpleNamespace(id=row.agency_id, code=row.agency_code, name_vi=row.agency_vi,
                               name_en=row.agency_en),
        applicant=SimpleNamespace(id=row.applicant_id, full_name=row.applicant_name,
                                  id_number=row.applicant_id_number),
        version=SimpleNamespace(id=row.version_id, content_hash=row.content_hash,
                                meta=version_meta(session, row.version_id, row.content_hash)))


def get_dossier(p, code: str, *, user=None, id_number: str | None = None) -> dict:
    """A dossier as its applicant, its agency's staff, or anyone with the code and the
    applicant's ID number sees it.

    The status look-up, the API's hottest call: one statement (:data:`_DOSSIER_ROWS`, one
    snapshot: :meth:`engine.db.Database.rows`; it never waits for a step, nor blocks one),
    the version's meta from the in-process cache.
    """
    rows = _grouped(p.db.rows(_DOSSIER_ROWS, {"code": code.strip()}))
    with p.db.read_when_needed() as session:  # for a cache miss or a leader's check
        if not rows["dossier"]:
            raise NotFound(f"No dossier with code {code!r}.",
                           vi=f"Không tìm thấy hồ sơ mã {code!r}.")
        dossier = _record(session, rows["dossier"][0])
        if can_see_dossier(user, dossier, session):
            return dossier_view(session, dossier, viewer=user, rows=rows)
        if bool(id_number) and id_number.strip() == dossier.applicant.id_number:
            return public_view(dossier_view(session, dossier, viewer=user, rows=rows))
        # The same answer as for an unknown code: a code alone reveals nothing.
        raise NotFound(f"No dossier with code {code!r} for this person.",
                       vi=f"Không tìm thấy hồ sơ mã {code!r} của người này.")


#: What each history entry's ``detail`` may show on the public look-up, by action: the
#: dates and titles the look-up page prints, never notes, names or form data.
_PUBLIC_DETAIL = {"status": ("to",), "complete": ("title",), "sign": ("document",),
                  "render": ("document",), "apology": ("to", "reason"),
                  "submit": ("due_at",), "clock_resumed": ("to", "working_days")}


def public_view(view: dict) -> dict:
    """What anyone with the code and the applicant's ID number may see (the public look-up,
    ``/tra-cuu``, and its API): the procedure, agency, status, dates, the citizen's timeline
    (:func:`engine.progress.timeline`: steps, dates, on time or not), the open steps
    without their officers, and the history's actions without their actors or notes. No
    application data, contact details, documents, notifications or user names."""
    keep = ("code", "procedure", "agency", "status", "status_vi", "status_en", "channel",
            "received_at", "due_at", "finished_at", "timeline")
    public = {key: view[key] for key in keep if key in view}
    public["procedure"] = {key: view["procedure"][key] for key in ("code", "name_vi", "name_en")}
    public["steps"] = [{"title": s["title"], "role": s["role"], "due_at": s["due_at"]}
                       for s in view.get("steps") or []]
    public["history"] = [
        {"at": e["at"], "action": e["action"],
         "detail": {key: (e["detail"] or {})[key]
                    for key in _PUBLIC_DETAIL.get(e["action"], ())
                    if key in (e["detail"] or {})}}
        for e in view.get("history") or []]
    return public


def summary(dossier: Dossier, *, supplemented: bool = False) -> dict:
    """The dossier in a list: code, procedure, agency, status (``supplemented``: it came
    back from a supplement request, :func:`engine.statuses.status_labels`), dates."""
    return {"code": dossier.code,
            "procedure": {"code": dossier.procedure.code, "name_vi": dossier.procedure.name_vi,
                          "name_en": dossier.procedure.name_en},
            "agency": {"code": dossier.agency.code, "name_vi": dossier.agency.name_vi,
                       "name_en": dossier.agency.name_en},
            "applicant": {"name": dossier.applicant.full_name},
            "status": dossier.status,
            **status_labels(dossier.status, supplemented=supplemented),
            "channel": dossier.channel,
            "received_at": dossier.received_at.isoformat(),
            "due_at": dossier.due_at.isoformat() if dossier.due_at else None,
            "finished_at": dossier.finished_at.isoformat() if dossier.finished_at else None}


_AGENCY = object()  # dossier_view's default viewer: the agency's side, which sees everything


def dossier_view(session: Session, dossier: Dossier, *, viewer=_AGENCY,
                 rows: dict | None = None) -> dict:
    """Everything about a dossier; for a ``viewer`` on the applicant's side, without the
    result documents not issued yet (:func:`engine.documents.withheld`). ``rows``: what
    :func:`_dossier_rows` read already for this dossier."""
    view = summary(dossier)
    view["data"] = dossier.data
    # how its fee is paid and its result delivered (level 3: at the desk; 4: online)
    meta = dossier.version.meta or {}
    view["procedure"].update(level=meta.get("level", 4), online_label=meta.get("online_label", ""),
                             fee=public_fee(meta.get("fee")),  # a copy: meta is a shared cache entry
                             results=sorted(meta.get("documents") or {}))
    rows = rows if rows is not None else _dossier_rows(session, dossier.code)
    # cooperating dossiers (liên thông): the one that started this one, those it started
    view["parent"] = next((r.code for r in rows["family"] if r.id == dossier.parent_id), None)
    view["children"] = [r.code for r in rows["family"] if r.parent_id == dossier.id]
    view["history"] = [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
        for e in rows["history"]]
    view["steps"] = [
        {"task_id": t.id, "title": t.title, "role": t.role_code, "assignee": t.assignee,
         "due_at": t.due_at.isoformat() if t.due_at else None}
        for t in rows["steps"]]
    # the applicant sees a result in its final revision only (drafts and the revisions
    # between signatures stay with the agency)
    agency_side = viewer is _AGENCY or is_agency_side(viewer, dossier)
    newest = {d.name: d.revision for d in rows["documents"]}  # ordered by name, revision
    results = set(meta.get("documents") or {})
    view["documents"] = [
        document_view(d) for d in rows["documents"]
        if agency_side or not (withheld(viewer, dossier, d)
                               or (d.name in results and d.revision < newest[d.name]))]
    view["notifications"] = [
        {"at": o.created_at.isoformat(), "subject": o.subject, "status": o.status}
        for o in rows["notifications"]]
    # what a step asked for that is still being made, e.g. a slip (engine.jobs): pending
    # or failed jobs; that one failed, and why, only for the agency's side
    staff = agency_side
    view["preparing"] = [
        {"kind": j.kind, "document": (j.payload or {}).get("document", ""),
         "title": (j.payload or {}).get("title", ""),
         "status": j.status if staff else "pending",
         "error": j.last_error if staff and j.status == "failed" else "",
         "attempts": j.attempts if staff else 0, "created_at": j.created_at.isoformat(),
         # a slip carries its reason from the step that asked for it (engine.progress)
         "key": j.key, "form": (j.payload or {}).get("form", ""),
         "reason": (j.payload or {}).get("reason", ""),
         "items": (j.payload or {}).get("items", "")}
        for j in rows["preparing"]]
    # what the applicant reads: why it waits or was refused, and a few plain steps
    view["reasons"] = progress.reasons(view)
    view["timeline"] = progress.timeline(view)
    if progress.was_supplemented(view):
        view.update(status_labels(dossier.status, supplemented=True))
    if not agency_side:  # the full audit history stays with the agency
        view["history"] = progress.public_history(view["history"])
    return view


# -- a dossier and its lists: one statement ------------------------------------------
#
# What a dossier's view shows — the dossier itself (the columns of _LOOKUP), the
# cooperating dossiers, the history, the open steps, the documents, the notifications, the
# jobs still preparing something — comes back from ONE statement by dossier code: a UNION
# ALL of one SELECT per list over shared typed slots (i… integers, s… strings, t… times,
# j JSON), sorted by list and then by each list's own order. One round trip instead of
# seven: on a database server shared with other work, round trips, not rows, are what a
# status look-up waits for. Each branch is declared as {name: (slot, column)};
# _dossier_rows hands back namespaces with the real names (``doc.filename``, never
# ``row.s2``).

_SLOTS = {**{f"i{n}": BigInteger() for n in range(1, 7)},
          **{f"s{n}": String() for n in range(1, 13)},
          "t1": UTCDateTime(), "t2": UTCDateTime(), "t3": UTCDateTime(), "j": JSON(),
          "order_s": String(), "order_i": BigInteger()}
# The dossier named by :code, for the other branches (a CTE: looked up once).
_ME = select(Dossier.id, Dossier.parent_id).where(Dossier.code == bindparam("code")).cte("me")
_MY_ID = select(_ME.c.id).scalar_subquery()
_MY_PARENT = select(_ME.c.parent_id).scalar_subquery()
_BRANCHES: dict[str, tuple[dict, object, object]] = {
    # name: ({field: (slot, column)}, FROM (a table or a join), WHERE)
    "dossier": ({"id": ("i1", Dossier.id), "parent_id": ("i2", Dossier.parent_id),
                 "applicant_id": ("i3", Dossier.applicant_id),
                 "agency_id": ("i4", Dossier.agency_id),
                 "procedure_id": ("i5", Dossier.procedure_id),
                 "version_id": ("i6", Dossier.version_id), "code": ("s1", Dossier.code),
                 "status": ("s2", Dossier.status), "channel": ("s3", Dossier.channel),
                 "content_hash": ("s4", ProcedureVersion.content_hash),
                 "procedure_code": ("s5", Procedure.code),
                 "procedure_vi": ("s6", Procedure.name_vi),
                 "procedure_en": ("s7", Procedure.name_en), "agency_code": ("s8", Agency.code),
                 "agency_vi": ("s9", Agency.name_vi), "agency_en": ("s10", Agency.name_en),
                 "applicant_name": ("s11", User.full_name),
                 "applicant_id_number": ("s12", User.id_number),
                 "received_at": ("t1", Dossier.received_at), "due_at": ("t2", Dossier.due_at),
                 "finished_at": ("t3", Dossier.finished_at), "data": ("j", Dossier.data)},
                Dossier.__table__
                .join(Procedure.__table__, Procedure.id == Dossier.procedure_id)
                .join(ProcedureVersion.__table__, ProcedureVersion.id == Dossier.version_id)
                .join(Agency.__table__, Agency.id == Dossier.agency_id)
                .join(User.__table__, User.id == Dossier.applicant_id),
                Dossier.code == bindparam("code")),
    "family": ({"id": ("i1", Dossier.id), "parent_id": ("i2", Dossier.parent_id),
                "code": ("s1", Dossier.code), "_": ("order_i", Dossier.id)},
               Dossier.__table__, or_(Dossier.id == _MY_PARENT, Dossier.parent_id == _MY_ID)),
    "history": ({"at": ("t1", AuditEvent.at), "actor": ("s1", AuditEvent.actor),
                 "action": ("s2", AuditEvent.action), "detail": ("j", AuditEvent.detail),
                 "_": ("order_i", AuditEvent.id)},
                AuditEvent.__table__, AuditEvent.dossier_id == _MY_ID),
    "steps": ({"id": ("i1", HumanTask.id), "title": ("s1", HumanTask.title),
               "role_code": ("s2", HumanTask.role_code), "assignee": ("s3", User.username),
               "due_at": ("t1", HumanTask.due_at), "_": ("order_i", HumanTask.id)},
              HumanTask.__table__.outerjoin(User.__table__, User.id == HumanTask.assignee_id),
              (HumanTask.dossier_id == _MY_ID) & (HumanTask.status == "open")),
    "documents": ({"id": ("i1", Document.id), "size": ("i2", Document.size),
                   "revision": ("i3", Document.revision),
                   "signatures": ("i4", Document.signatures), "name": ("s1", Document.name),
                   "filename": ("s2", Document.filename),
                   "media_type": ("s3", Document.media_type), "kind": ("s4", Document.kind),
                   "created_at": ("t1", Document.created_at), "_": ("order_s", Document.name),
                   "__": ("order_i", Document.revision)},
                  Document.__table__, Document.dossier_id == _MY_ID),
    "notifications": ({"created_at": ("t1", Outbox.created_at),
                       "subject": ("s1", Outbox.subject), "status": ("s2", Outbox.status),
                       "_": ("order_i", Outbox.id)},
                      Outbox.__table__,
                      # what was sent to people, not the records sent to the national portal
                      (Outbox.dossier_id == _MY_ID) & (Outbox.kind != "national_sync")),
    "preparing": ({"kind": ("s1", Job.kind), "status": ("s2", Job.status),
                   "last_error": ("s3", Job.last_error), "attempts": ("i1", Job.attempts),
                   "key": ("s4", Job.key), "payload": ("j", Job.payload),
                   "created_at": ("t1", Job.created_at),
                   "_": ("order_i", Job.id)},
                  Job.__table__, (Job.dossier_id == _MY_ID) & (Job.status != "done")),
}
_KINDS = list(_BRANCHES)


def _branch_select(number: int, fields: dict, source, where):
    """One SELECT of the union. Only the first one types its empty slots (``CAST(NULL AS
    …)``): the databases type a union's columns from all branches, SQLAlchemy from the
    first; bare NULLs elsewhere keep the statement short (psycopg caches the parsing of
    statements up to 4 KB)."""
    by_slot = {slot: column for slot, column in fields.values()}
    columns = [literal_column(str(number), Integer()).label("k")]
    for slot, type_ in _SLOTS.items():
        column = by_slot.get(slot)
        if column is None:
            column = cast(null(), type_) if number == 0 else null()
        columns.append(column.label(slot))
    return select(*columns).select_from(source).where(where)


_DOSSIER_ROWS = union_all(*(_branch_select(n, *_BRANCHES[kind])
                            for n, kind in enumerate(_KINDS))).order_by("k", "order_s",
                                                                        "order_i")
_COLUMN = {slot: index for index, slot in enumerate(["k", *_SLOTS])}  # position in a row
_FIELDS = [[(name, _COLUMN[slot]) for name, (slot, _c) in _BRANCHES[kind][0].items()
            if not name.startswith("_")] for kind in _KINDS]


def _dossier_rows(session: Session, code: str) -> dict[str, list[SimpleNamespace]]:
    """The dossier ``code`` (a list of one, or empty) and its lists of :data:`_BRANCHES`,
    each in its order, from one statement in ``session``'s transaction."""
    return _grouped(session.execute(_DOSSIER_ROWS, {"code": code}))


def _grouped(rows) -> dict[str, list[SimpleNamespace]]:
    """:data:`_DOSSIER_ROWS`'s rows by list, each row a namespace of its fields."""
    out: dict[str, list[SimpleNamespace]] = {kind: [] for kind in _KINDS}
    for row in rows:
        kind = row[0]
        out[_KINDS[kind]].append(SimpleNamespace(**{name: row[index]
                                                    for name, index in _FIELDS[kind]}))
    return out


def list_my_dossiers(p, user) -> list[dict]:
    """The applicant's dossiers, newest first (a read transaction)."""
    with p.db.read() as session:
        rows = session.execute(_LOOKUP_MINE, {"user_id": user.id}).all()
        waiting = [row.id for row in rows if row.status == "submitted"]
        supplemented = set(session.execute(
            select(ClockStop.dossier_id).where(ClockStop.dossier_id.in_(waiting))
        ).scalars()) if waiting else set()
        return [summary(_record(session, row), supplemented=row.id in supplemented)
                for row in rows]


# -- dossiers started by a message (liên thông) ----------------------------------------

#: The channel of a dossier another agency's dossier forwarded: it arrives electronically
#: (the national sync record knows only 1 counter, 2 online, 3 post).
FORWARDED_CHANNEL = "online"


def start_dossier(p, session: Session, message: Message, receiver: StartReceiver) -> Dossier:
    """Start a dossier of ``receiver``'s cooperating process with ``message`` (the caller
    holds the message row and commits): created, coded, audited, its start event caught the
    message and its process ran to its first wait state, the message marked delivered."""
    sender = session.get(Dossier, message.sender_dossier_id) if message.sender_dossier_id else None
    payload = message.payload if isinstance(message.payload, dict) else {}
    if sender is None and message.sender_user_id:  # posted by another system (engine.inbound)
        applicant = inbound.applicant_of(session, message.sender_user_id, payload)
    elif sender is None:
        raise InvalidData(
            f"Message {message.name!r} would start a dossier of {receiver.procedure_code}, but it "
            "comes from no dossier: there is no applicant to give it.",
            vi=f"Thông điệp {message.name!r} khởi tạo hồ sơ thủ tục {receiver.procedure_code} "
               "nhưng không gửi từ hồ sơ nào: không xác định được người nộp.")
    else:
        applicant = sender.applicant
    procedure = session.get(Procedure, receiver.procedure_id)
    version = load.version_by_id(session, receiver.version_id)
    agency = procedure.agency
    if receiver.agency_code:
        agency = session.execute(select(Agency).where(Agency.code == receiver.agency_code)).scalar()
    if agency is None:
        raise InvalidData(
            f"The agency {receiver.agency_code!r} of {receiver.procedure_code}'s process "
            f"{receiver.process_id} no longer exists.",
            vi=f"Cơ quan {receiver.agency_code!r} xử lý quy trình {receiver.process_id} của thủ "
               f"tục {receiver.procedure_code} không còn tồn tại.")
    application = payload.get("application")
    dossier = open_dossier(session, procedure=procedure, version=version, agency=agency,
                           applicant=applicant, channel=FORWARDED_CHANNEL,
                           data=dict(application) if isinstance(application, dict) else {},
                           parent_id=sender.id if sender else None,
                           process_id=receiver.process_id or None, deadline=receiver.deadline)
    audit.append(session, actor="system", action="started_by_message", dossier_id=dossier.id,
                 detail={"message": message.name, "message_id": message.id,
                         "parent": sender.code if sender else None,
                         "procedure": procedure.code, "version": version.number,
                         "process": receiver.process_id or version.meta.get("process_id"),
                         "due_at": dossier.due_at.isoformat()})
    step = start_process(p, session, dossier, applicant, version, actor="system")
    start = next((t for t in step.workflow.get_tasks(state=TaskState.WAITING)
                  if isinstance(t.task_spec, StartEvent)
                  and any(isinstance(d, MessageEventDefinition) and d.name == message.name
                          for d in waiting_definitions(t))), None)
    if start is None:
        raise ScriptError(f"Process {receiver.process_id} did not wait for message "
                          f"{message.name!r} at its start.",
                          vi=f"Quy trình {receiver.process_id} không chờ thông điệp "
                             f"{message.name!r} ở sự kiện bắt đầu.")
    guid = str(start.id)
    if not runtime.run_step(p, dossier.id, lambda s: messages.deliver(s, message, guid), actor="system",
                            session=session):
        raise ScriptError(f"The start event of {receiver.process_id} refused message "
                          f"{message.name!r}.",
                          vi=f"Sự kiện bắt đầu của {receiver.process_id} không nhận thông điệp "
                             f"{message.name!r}.")
    return dossier
