"""Dossiers (hồ sơ): submission, codes, appointment dates, what applicants and officers see."""

from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import (
    Date,
    Integer,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from . import (
    audit,
    clock,
    deadlines,
    forms,
    formsets,
    inbound,
    messages,
    outside,
    runtime,
)
from .calendar import WorkingCalendar, calendar_and_settings
from .cooperation import StartReceiver, start_messages
from .documents import can_see_dossier, insert_documents
from .dossier_rows import LOOKUP_MINE, as_record, read_rows_outside
from .dossier_view import dossier_view, public_view, summary
from .errors import Conflict, InvalidData, NotFound, PermissionDenied, ScriptError
from .models import (
    Agency,
    ClockStop,
    Document,
    Dossier,
    DossierSequence,
    Message,
    Procedure,
    ProcedureVersion,
    User,
)
from .procedures import application_form, receives, receiving_agencies
from .spiff import SPECS
from .step import facts, load, sql
from .step.rows import waiting_definitions
from .unit import unit_of


def next_code(session: Session, agency, received_at: datetime) -> str:
    """``<agency code>-<YYMMDD>-<NNNN>``: a per-agency, per-day sequence (Circular 01/2018
    Art. 19), taken with one atomic upsert so concurrent submissions never share a number.
    (On PostgreSQL a new dossier takes it in the statement that inserts it: :class:`Opening`.)"""
    day = received_at.astimezone(clock.VIETNAM).date()
    ((number,),) = sql.run(session, _NEXT_NUMBER, {"agency_id": agency.id, "day": day})
    return f"{code_prefix(agency, day)}{number:04d}"


def code_prefix(agency, day) -> str:
    """What comes before the number in the codes of ``agency``'s dossiers of ``day``."""
    return f"{agency.code}-{day:%y%m%d}-"


# The upsert, in the syntax PostgreSQL and SQLite share. Written as text because SQLAlchemy
# never caches the compiled form of its dialects' ``on_conflict_do_update``: built as an
# expression, it was compiled again for every dossier.
_NEXT_NUMBER = text(
    f"INSERT INTO {DossierSequence.__tablename__} (agency_id, day, last) "
    "VALUES (:agency_id, :day, 1) "
    "ON CONFLICT (agency_id, day) DO UPDATE SET last = "
    f"{DossierSequence.__tablename__}.last + 1 RETURNING last"
).bindparams(bindparam("agency_id", type_=Integer), bindparam("day", type_=Date)
             ).columns(last=Integer)


def submit(p, user, procedure_code: str, data: dict, files: dict | None = None,
           agency_code: str | None = None) -> dict:
    """Submit a dossier online to ``agency_code`` (one of the procedure's receiving agencies:
    required when it has several): check the form and files, give it a code and an
    appointment date, start its process. Nothing is kept if anything is wrong."""
    if user is None:
        raise PermissionDenied("Sign in to submit a dossier.", vi="Hãy đăng nhập để nộp hồ sơ.")
    return outside.attempts(lambda: _submit(p, user, procedure_code, data, files, agency_code))


# Built once: what a submission reads first, in one statement on the driver — the
# procedure with the content hash of its version in force (the version itself comes from
# the per-process cache), the applicant's account, and each agency that receives the
# procedure (engine.procedures.receives): a row per agency, or one with no agency when
# none does; no row for an unknown code or a procedure with no version yet. Then what the
# new dossier's first national record and its appointment need (engine.step.facts).
_SUBMISSION = (select(*load.columns_of(Procedure, User, Agency), *facts.ON_SUBMISSION,
                      ProcedureVersion.content_hash)
               .select_from(Procedure)
               .join(ProcedureVersion, ProcedureVersion.id == Procedure.active_version_id)
               .outerjoin(User, User.id == bindparam("user_id", type_=Integer))
               .outerjoin(Agency, receives(Procedure.id, Procedure.agency_id))
               .where(Procedure.code == bindparam("code", type_=String))
               .order_by(Agency.code))


def _submit(p, user, procedure_code, data, files, agency_code) -> dict:
    with p.db.transaction() as session:
        found = sql.run(session, _SUBMISSION, {"code": procedure_code, "user_id": user.id})
        if not found:
            raise NotFound(f"No procedure {procedure_code!r}.",
                           vi=f"Không có thủ tục {procedure_code!r}.")
        (procedure, applicant), at = load.objects_from(session, found[0], (Procedure, User))
        if applicant is None:
            raise PermissionDenied("Sign in to submit a dossier.",
                                   vi="Hãy đăng nhập để nộp hồ sơ.")
        version = load.VERSIONS.get(session, procedure.active_version_id, found[0][-1])
        if start_messages(SPECS.get(version)[0]):
            raise Conflict(f"Procedure {procedure_code!r} is started by another system's "
                           "message, not submitted.",
                           vi=f"Thủ tục {procedure_code!r} được khởi tạo bằng thông điệp từ hệ "
                              "thống khác, không nộp trực tiếp.")
        agency = chosen_agency([agency for row in found
                                for agency in load.objects_from(session, row, (Agency,), at)[0]
                                if agency is not None], agency_code)
        schema = application_form(version, shared=True)
        revision, verified = found[0][-1 - len(facts.ON_SUBMISSION):-1]
        calendar, settings = calendar_and_settings(session, revision)
        new = opening(session, procedure=procedure, version=version, agency=agency,
                      applicant=applicant, channel="online", calendar=calendar,
                      settings=settings)
        refused: list[dict] = []
        # the files are checked and stored, then written with the dossier's row
        stored = forms.store_uploads(p, session, schema, files, dossier=new, user_id=user.id,
                                     collect=refused, opened=True)
        dossier = new.written(session)
        # a new dossier: no earlier national record, no payment yet
        facts.keep(unit_of(session), dossier.id, (revision, 0, 0, verified))
        dossier.data = forms.validate(schema, data or {}, uploads=stored, also=refused)
        audit.append(session, actor=user.username, action="submit", dossier_id=dossier.id,
                     detail={"procedure": procedure.code, "version": version.number,
                             "agency": agency.code, "due_at": dossier.due_at.isoformat()})
        start_process(p, session, dossier, applicant, version, actor=user.username,
                      calendar=calendar)
        return {"code": dossier.code, "status": dossier.status,
                "received_at": dossier.received_at.isoformat(),
                "due_at": dossier.due_at.isoformat(), "agency": agency.code}


def open_dossier(session: Session, *, procedure: Procedure, version, agency: Agency,
                 applicant: User, channel: str, data: dict | None = None,
                 parent_id: int | None = None, process_id: str | None = None,
                 deadline: dict | None = None, calendar: WorkingCalendar | None = None,
                 settings: dict[str, str] | None = None) -> Dossier:
    """Create a dossier row, however it came in (submitted by its applicant, or started by
    another dossier's message): its code from the receiving agency's daily sequence, its
    appointment from the procedure's deadline (or ``deadline``) on the working-day
    calendar. ``calendar`` and ``settings``: :func:`engine.calendar.calendar_and_settings`,
    when the caller has read them."""
    return opening(session, procedure=procedure, version=version, agency=agency,
                   applicant=applicant, channel=channel, data=data, parent_id=parent_id,
                   process_id=process_id, deadline=deadline, calendar=calendar,
                   settings=settings).written(session)


def opening(session: Session, *, procedure: Procedure, version, agency: Agency,
            applicant: User, channel: str, data: dict | None = None,
            parent_id: int | None = None, process_id: str | None = None,
            deadline: dict | None = None, calendar: WorkingCalendar | None = None,
            settings: dict[str, str] | None = None) -> Opening:
    """The dossier :func:`open_dossier` creates, its row not written yet: written with its
    files (:class:`Opening`)."""
    if calendar is None or settings is None:
        calendar, settings = calendar_and_settings(session)
    received_at = clock.now()
    meta = {**version.meta, "deadline": deadline} if deadline else version.meta
    due_at = deadlines.initial_due_at(calendar, meta, received_at, channel)
    values = dict(_NEW_DOSSIER)
    values.update({
        "procedure_id": procedure.id,
        "version_id": version.id, "agency_id": agency.id, "applicant_id": applicant.id,
        "status": "submitted", "channel": channel, "received_at": received_at,
        "due_at": due_at, "original_due_at": due_at, "data": data or {},
        "parent_id": parent_id, "process_id": process_id, "updated_at": received_at,
        "form_set": formsets.choose(version.meta, received_at, settings)})
    return Opening(values, received_at.astimezone(clock.VIETNAM).date(),
                   {"procedure": procedure, "agency": agency, "applicant": applicant})


class Opening:
    """A new dossier whose row is not written yet (:func:`opening`). Its uploads are stored
    with it: given to :func:`engine.documents.store_uploads` in place of the dossier, they
    are written by :meth:`write` with the row; :meth:`written` writes the
    row alone if they were not. On PostgreSQL that is one statement — the agency's number of
    the day taken, the dossier inserted with its code, its documents with its id —, on
    SQLite one statement each, the number first (:func:`next_code`)."""

    def __init__(self, values: dict, day, related: dict):
        self.values, self.day, self.related = values, day, related
        self.dossier: Dossier | None = None

    def written(self, session: Session) -> Dossier:
        """The dossier, its row written (alone, when :meth:`write` was not called)."""
        if self.dossier is None:
            self.write(session, [])
        return self.dossier

    def write(self, session: Session, documents: list[dict]) -> dict[str, int]:
        """Write the dossier's row and its ``documents`` (rows of the same columns, their
        ``dossier_id`` aside, each with its own ``name``); their ids by name."""
        if self.dossier is not None:
            raise RuntimeError("The dossier's row is written already.")
        agency, values = self.related["agency"], self.values
        if session.get_bind().dialect.name == "postgresql":
            ids = self._write_together(session, documents)
        else:
            values["code"] = next_code(session, agency, values["received_at"])
            ((values["id"],),) = sql.inserted(session, Dossier.__table__, [values],
                                              (Dossier.id,))
            ids = insert_documents(session, values["id"], documents)
        self.dossier = dossier = load.persistent(session, Dossier, values)  # the row as inserted
        for name, related in self.related.items():
            set_committed_value(dossier, name, related)
        return ids

    def _write_together(self, session: Session, documents: list[dict]) -> dict[str, int]:
        columns = tuple(sorted(set().union(*documents) - {"dossier_id"}))
        key = (columns, len(documents))
        statement = _OPENED.get(key)
        if statement is None:
            statement = _OPENED.setdefault(key, _opened(*key))
        agency, values = self.related["agency"], self.values
        params = {"p_agency_id": agency.id, "p_day": self.day,
                  "p_prefix": code_prefix(agency, self.day),
                  **{f"p_{name}_d": values[name] for name in _DOSSIER_COLUMNS}}
        params.update({f"p_{name}_{i}_f": row.get(name) for i, row in enumerate(documents)
                       for name in columns})
        found = sql.run(session, statement, params)
        values["id"], values["code"] = found[0][0], found[0][1]
        return {name: doc_id for *_, name, doc_id in found} if documents else {}


#: Every column of a new dossier's row but its id, with the table's constant defaults: each
#: is written, so the row is known whole without reading it back.
_NEW_DOSSIER = {attr.key: (default.arg if (default := attr.columns[0].default) is not None
                           and default.is_scalar else None)
                for attr in Dossier.__mapper__.column_attrs if attr.key != "id"}
#: The columns of a new dossier's row the statement of :class:`Opening` is given.
_DOSSIER_COLUMNS = tuple(sorted(_NEW_DOSSIER.keys() - {"code"}))


def _opened(columns: tuple[str, ...], n: int):
    """PostgreSQL's one statement of :meth:`Opening.write` for ``n`` documents of
    ``columns``: data-modifying CTEs — the agency's number of the day (the upsert of
    :data:`_NEXT_NUMBER`), the dossier made with it, and its documents —, their ids as
    rows ``(dossier id, code, document name, document id)`` (one, without a document, for
    none). The code is :func:`next_code`'s: the number zero-padded to four digits, all of
    its digits when it has more."""
    sequence, dossier, document = (DossierSequence.__table__, Dossier.__table__,
                                   Document.__table__)
    number = (pg_insert(sequence)
              .values(agency_id=sql.param("agency_id", sequence.c.agency_id),
                      day=sql.param("day", sequence.c.day), last=literal_column("1"))
              .on_conflict_do_update(index_elements=[sequence.c.agency_id, sequence.c.day],
                                     set_={"last": sequence.c.last + literal_column("1")})
              .returning(sequence.c.last).cte("dossier_number"))
    digits = cast(number.c.last, String)
    code = sql.param("prefix", dossier.c.code) + func.lpad(
        digits, func.greatest(literal_column("4"), func.length(digits)), literal_column("'0'"))
    new = (insert(dossier)
           .from_select(["code", *_DOSSIER_COLUMNS], select(
               code, *(sql.param(name, dossier.c[name], "_d") for name in _DOSSIER_COLUMNS))
               .select_from(number))
           .returning(dossier.c.id, dossier.c.code).cte("new_dossier"))
    if not n:
        return select(new.c.id, new.c.code)
    rows = [select(new.c.id.label("dossier_id"),
                   *(sql.param(f"{name}_{i}", document.c[name], "_f").label(name)
                     for name in columns)).select_from(new) for i in range(n)]
    files = (insert(document)
             .from_select(["dossier_id", *columns], rows[0] if n == 1 else union_all(*rows))
             .returning(document.c.name, document.c.id).cte("new_documents"))
    return select(new.c.id, new.c.code, files.c.name, files.c.id.label("document_id")
                  ).select_from(new.join(files, true()))


#: :func:`_opened`'s statements by their documents' columns and number (a form has few).
_OPENED: dict = {}


def start_process(p, session: Session, dossier: Dossier, applicant: User, version, *,
                  actor: str, calendar: WorkingCalendar | None = None) -> runtime.Step:
    """Start the new dossier's process with the data every process starts with (on
    ``calendar``, when the caller has read it)."""
    return runtime.start(p, session, dossier, initial_data(dossier, applicant), actor=actor,
                         version=version, calendar=calendar)


def receiving_agency(session: Session, procedure: Procedure, agency_code: str | None) -> Agency:
    """The agency a submission goes to: the applicant's choice among the procedure's receiving
    agencies (e.g. one of the district finance offices), or the only one there is."""
    return chosen_agency(receiving_agencies(session, procedure), agency_code)


def chosen_agency(agencies: list[Agency], agency_code: str | None) -> Agency:
    """:func:`receiving_agency` among ``agencies``, the procedure's receiving agencies."""
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


def get_dossier(p, code: str, *, user=None, id_number: str | None = None) -> dict:
    """A dossier as its applicant, its agency's staff, or anyone with the code and the
    applicant's ID number sees it.

    The status look-up, the API's hottest call: one statement (:data:`engine.dossier_rows._DOSSIER_ROWS`, one
    snapshot: :meth:`engine.db.Database.rows`; it never waits for a step, nor blocks one),
    the version's meta from the in-process cache.
    """
    rows = read_rows_outside(p.db, code.strip())
    with p.db.read_when_needed() as session:  # for a cache miss or a leader's check
        if not rows["dossier"]:
            raise NotFound(f"No dossier with code {code!r}.",
                           vi=f"Không tìm thấy hồ sơ mã {code!r}.")
        dossier = as_record(session, rows["dossier"][0])
        if can_see_dossier(user, dossier, session):
            return dossier_view(session, dossier, viewer=user, rows=rows)
        if bool(id_number) and id_number.strip() == dossier.applicant.id_number:
            return public_view(dossier_view(session, dossier, viewer=user, rows=rows))
        # The same answer as for an unknown code: a code alone reveals nothing.
        raise NotFound(f"No dossier with code {code!r} for this person.",
                       vi=f"Không tìm thấy hồ sơ mã {code!r} của người này.")


def list_my_dossiers(p, user) -> list[dict]:
    """The applicant's dossiers, newest first (a read transaction)."""
    with p.db.read() as session:
        rows = session.execute(LOOKUP_MINE, {"user_id": user.id}).all()
        waiting = [row.id for row in rows if row.status == "submitted"]
        supplemented = set(session.execute(
            select(ClockStop.dossier_id).where(ClockStop.dossier_id.in_(waiting))
        ).scalars()) if waiting else set()
        return [summary(as_record(session, row), supplemented=row.id in supplemented)
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
