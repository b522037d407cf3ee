"""Human tasks: claiming and completing a step of a dossier (the inbox is :mod:`engine.inbox`).

Completing locks the dossier, re-reads the task row under that lock and refuses a task
that someone else completed or claimed in the meantime (409), so a task is never completed
twice. An unclaimed task of one's role may be completed directly: claiming is implied.

**Signatures are made before the lock.** A step that signs a document needs the officer's
key and ~50 ms of cryptography; none of it happens while the dossier is locked. The first
attempt, under the lock, finds which revision of the document is to be signed and gives
up before writing anything; the signature is made on that revision with no lock held; the
second attempt checks, under the lock, that it is still the latest revision (else it signs
the new one) and stores it with the rest of the step.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session, aliased

from . import audit, casefile, clock, forms, outside, runtime
from .documents import latest, store_document
from .dossier_view import dossier_view
from .errors import Conflict, InvalidData, NotFound, PermissionDenied
from .forms import form_schema
from .inbox import all_tasks
from .models import (
    Agency,
    Document,
    Dossier,
    HumanTask,
    Instance,
    Procedure,
    ProcedureVersion,
    User,
)
from .step import sql, store
from .step.load import VERSIONS, WITH_DOSSIER, fresh, locking, read_locked_row
from .vocabulary import RoleCode

#: Times a signature is made again because the document changed while it was being made.
SIGNING_ATTEMPTS = 3

#: The form of a task that has none: it takes no data.
_NO_FORM = forms.shared_schema({"type": "object", "properties": {}})


def _may_act(user, task: HumanTask, agency_code: str | None,
             applicant_id: int | None = None) -> bool:
    if user is None:
        return False
    if task.role_code == RoleCode.APPLICANT:
        owner = applicant_id if applicant_id is not None else task.dossier.applicant_id
        return owner == user.id
    return user.has_role(task.role_code, agency_code)


def _agency_code(session: Session, agency_id: int | None) -> str | None:
    return session.get(Agency, agency_id).code if agency_id else None


def _row_view(task: HumanTask | Row, user, dossier_code: str, procedure,
              assignee: User | None) -> dict:
    """The inbox row of ``task`` (an object or a row of its columns) of the dossier
    ``dossier_code`` of ``procedure`` (anything with its ``name_vi`` and ``name_en``)."""
    return {"id": task.id, "title": task.title, "spec_name": task.spec_name,
            "status": task.status, "dossier_code": dossier_code,
            "procedure_name": procedure.name_vi,
            "procedure_name_en": procedure.name_en,
            "role": task.role_code,
            "assignee": assignee.username if assignee else None,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "created_at": task.created_at.isoformat(),
            "mine": assignee is not None and assignee.id == user.id}


def list_tasks(p, user) -> list[dict]:
    """Every open task the user may act on: assigned to them, or unclaimed for one of their
    roles. Pages of it, and a dossier's own tasks, come from :mod:`engine.inbox`."""
    return all_tasks(p, user)


def _load(session: Session, task_id: int) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("No such task.", vi="Không tìm thấy công việc.")
    return task


def _no_task() -> NotFound:
    return NotFound("No such task.", vi="Không tìm thấy công việc.")


# Built once (their cache keys remembered). A completion's one read: the lock
# of the task's dossier with its agency, applicant and procedure, the task, the saved
# workflow, its version's content hash and the task's agency code. The task's and the saved
# workflow's rows are locked with the dossier, so that they are read as last committed even
# when the statement waited for the lock.
_TASK_AGENCY = aliased(Agency)
_TASK_COLUMNS = {**{column.key: column for column in HumanTask.__table__.c},
                 "state": Instance.state, "content_hash": ProcedureVersion.content_hash,
                 "agency_code": select(_TASK_AGENCY.code)
                 .where(_TASK_AGENCY.id == HumanTask.agency_id).scalar_subquery()}
#: What both a completion's and a claim's read join to the dossier, and lock with it.
_TASK_JOINS = [(HumanTask, HumanTask.dossier_id == Dossier.id),
               (Instance, Instance.dossier_id == Dossier.id),
               (ProcedureVersion, ProcedureVersion.id == Dossier.version_id)]
_TASK_LOCKS = [HumanTask.__table__, Instance.__table__]
_LOCK_WITH_TASK = locking(
    HumanTask.id == bindparam("task_id"),
    also=[column.label(f"t_{name}") for name, column in _TASK_COLUMNS.items()],
    joins=_TASK_JOINS, lock=_TASK_LOCKS)
_TaskRow = namedtuple("_TaskRow", list(_TASK_COLUMNS))

# A claim's one read: the same rows locked by the same joins as a completion's, and only
# what a claim decides and answers with: the task's columns but its data, the dossier's
# code and applicant, its procedure's names, the task's agency code. A claim needs no
# objects, no saved workflow and none of the dossier's own data, which the completion's
# read makes into objects and parses.
_CLAIM_COLUMNS = [column for column in HumanTask.__table__.c
                  if column.key not in ("data", "properties", "form", "task_guid")]


def _claim_lock():
    statement = select(*_CLAIM_COLUMNS, Dossier.code.label("dossier_code"),
                       Dossier.applicant_id.label("dossier_applicant_id"),
                       Procedure.name_vi.label("name_vi"), Procedure.name_en.label("name_en"),
                       _TASK_COLUMNS["agency_code"].label("agency_code")).select_from(Dossier)
    for table, on in _TASK_JOINS:
        statement = statement.join(table, on)
    return (statement.outerjoin(Procedure, Procedure.id == Dossier.procedure_id)
            .where(HumanTask.id == bindparam("task_id"))
            .with_for_update(of=[Dossier.__table__, *_TASK_LOCKS]))


_CLAIM_LOCK = _claim_lock()

# A completion's read in a transaction that already holds objects (the ORM reconciles them): the lock,
# then the rest.
_LOCK_FOR_TASK = (select(Dossier)
                  .where(Dossier.id == select(HumanTask.dossier_id)
                         .where(HumanTask.id == bindparam("task_id")).scalar_subquery())
                  .with_for_update(of=Dossier).options(*WITH_DOSSIER)
                  .execution_options(populate_existing=True))
_TASK_AND_STATE = (
    select(*HumanTask.__table__.c, Instance.state, ProcedureVersion.content_hash,
           Agency.code.label("agency_code"))
    .join(Instance, Instance.dossier_id == HumanTask.dossier_id)
    .join(ProcedureVersion, ProcedureVersion.id == bindparam("version_id"))
    .outerjoin(Agency, Agency.id == HumanTask.agency_id)
    .where(HumanTask.id == bindparam("task_id")))


@dataclass
class _Locked:
    """A task read under its dossier's lock, with what its step needs (the task as a row of
    its columns: a step changes it with a Core write, :func:`engine.step.store.complete_task`)."""

    task: Row
    dossier: Dossier
    agency_code: str | None
    state: bytes
    content_hash: str


def _read_locked(session: Session, task_id: int) -> _Locked:
    """Lock the task's dossier and read, current under the lock, the task, the dossier, the
    saved workflow, the version's content hash and the task's agency code: one statement in
    a transaction's first read (:data:`_LOCK_WITH_TASK`), two otherwise."""
    if fresh(session):
        found = read_locked_row(session, _LOCK_WITH_TASK, {"task_id": task_id})
        if found is None:
            raise _no_task()
        dossier, rest = found
        task = _TaskRow._make(rest)
    else:
        dossier = session.execute(_LOCK_FOR_TASK, {"task_id": task_id}).scalar()
        task = dossier and sql.first(session, _TASK_AND_STATE, {  # read after the lock
            "task_id": task_id, "version_id": dossier.version_id})
        if task is None:
            raise _no_task()
    runtime.unit_locked(session, dossier.id)
    return _Locked(task, dossier, task.agency_code, task.state, task.content_hash)


def get_task(p, user, task_id: int) -> dict:
    with p.db.read() as session:
        task = _load(session, task_id)
        agency_code = _agency_code(session, task.agency_id)
        if not (_may_act(user, task, agency_code) or user.is_admin):
            raise PermissionDenied("This task is not for you.", vi="Công việc này không dành cho bạn.")
        view = _row_view(task, user, task.dossier.code, task.dossier.procedure, task.assignee)
        version = task.dossier.version
        open_ = task.status == "open"
        view.update(form=form_schema(version, task.form),
                    sign_document=(task.properties or {}).get("signDocument"),
                    can_claim=open_ and task.assignee_id is None and task.role_code != RoleCode.APPLICANT,
                    can_complete=open_ and task.assignee_id in (None, user.id),
                    earlier=casefile.earlier_steps(session, task, version),
                    application_form=form_schema(version, version.meta.get("application_form")),
                    dossier=dossier_view(session, task.dossier, viewer=user))
        view["checklist"] = casefile.reception_checklist(
            version.meta, view["dossier"]["documents"], task.role_code, view["form"])
        return view


def _check_open(session: Session, task: HumanTask | Row, user) -> None:
    """A Conflict unless ``task`` (an object or a row of its columns) is open and unclaimed
    or claimed by ``user``."""
    def name(user_id: int | None) -> str:
        found = session.get(User, user_id) if user_id else None
        return found.full_name if found else ""

    if task.status != "open":
        who = name(task.completed_by_id)
        raise Conflict(f"This task was already {task.status}{' by ' + who if who else ''}.",
                       vi="Công việc này đã được xử lý" + (f" bởi {who}." if who else "."))
    if task.assignee_id not in (None, user.id):
        who = name(task.assignee_id)
        raise Conflict(f"This task is claimed by {who}.",
                       vi=f"Công việc này đã được {who} nhận xử lý.")


def claim(p, user, task_id: int) -> dict:
    """Take an unclaimed task of one of your roles, so that no one else works on it."""
    with p.db.transaction() as session:
        task = sql.first(session, _CLAIM_LOCK, {"task_id": task_id})  # its dossier locked
        if task is None:
            raise _no_task()
        runtime.unit_locked(session, task.dossier_id)
        if not _may_act(user, task, task.agency_code, task.dossier_applicant_id):
            raise PermissionDenied("This task is not for you.", vi="Công việc này không dành cho bạn.")
        _check_open(session, task, user)
        if task.assignee_id is None:
            store.claim_task(session, task.id, user.id)
            audit.append(session, actor=user.username, action="claim", dossier_id=task.dossier_id,
                         detail={"task": task.spec_name})
        return _row_view(task, user, task.dossier_code, task, user)  # (open, now the user's)


@dataclass(frozen=True)
class _Signature:
    """A signature made outside the lock on one revision of a document."""

    document_id: int
    content: bytes


class _SignFirst(Exception):
    """The step signs ``document``, and there is no signature of its current revision yet."""

    def __init__(self, document: Document, agency=None):
        super().__init__(document.id)
        self.document_id = document.id
        self.storage_key = document.storage_key
        self.signatures = document.signatures
        #: The dossier's agency (code, name, e-mail), which seals the result last.
        self.agency = (agency.code, agency.name_vi, agency.email or "") if agency else None


def complete(p, user, task_id: int, data: dict, files: dict | None = None, *,
             passphrase: str | None = None, signs_document: int | None = None) -> dict:
    """Complete a task with its form data (and sign its document when the step says so),
    then run the dossier's process to its next wait state, all in one transaction; the
    signature itself is made before it (see the module docstring).

    ``signs_document``: the id of the document revision the officer was shown; if the
    document has a newer revision by now, nothing is signed and InvalidData asks them to
    look at it again (they sign exactly what they saw)."""
    signature = None
    for _attempt in range(SIGNING_ATTEMPTS + 1):
        try:
            return outside.attempts(
                lambda signature=signature: _complete(p, user, task_id, data, files,
                                                      passphrase, signature, signs_document))
        except _SignFirst as needed:
            signature = _sign(p, user, needed, passphrase)
    raise Conflict("The document to sign kept changing while it was being signed; try again.",
                   vi="Văn bản cần ký liên tục thay đổi trong khi ký; hãy thử lại.")


def _complete(p, user, task_id, data, files, passphrase, signature: _Signature | None,
              shown: int | None = None) -> dict:
    with p.db.transaction() as session:
        locked = _read_locked(session, task_id)
        task, dossier = locked.task, locked.dossier
        if not _may_act(user, task, locked.agency_code, dossier.applicant_id):
            raise PermissionDenied("This task is not for you.", vi="Công việc này không dành cho bạn.")
        _check_open(session, task, user)
        version = VERSIONS.get(session, dossier.version_id, locked.content_hash)
        sign_name = (task.properties or {}).get("signDocument")
        document = None
        if sign_name:
            if not passphrase:
                raise InvalidData("Enter the passphrase of your signing key.",
                                  vi="Nhập mật khẩu khóa ký số của bạn.",
                                  details=[{"field": "passphrase", "message": "Required to sign."}])
            document = latest(session, dossier.id, sign_name)
            if document is None:
                raise InvalidData(f"There is no document '{sign_name}' to sign yet.",
                                  vi=f"Chưa có văn bản '{sign_name}' để ký.")
            if shown is not None and shown != document.id:
                changed = ("The document to sign changed after you opened it: look at the "
                           "new version, then sign again.")
                raise InvalidData(changed, vi="Văn bản cần ký đã thay đổi sau khi bạn mở: "
                                              "hãy xem bản mới rồi ký lại.",
                                  details=[{"field": "sign_document", "message": changed}])
            if signature is None or signature.document_id != document.id:
                # nothing written yet: rolled back, signed, retried
                raise _SignFirst(document, dossier.agency)
        schema = forms.shared_form(version, task.form) or _NO_FORM  # read, never changed
        refused: list[dict] = []
        stored = forms.store_uploads(p, session, schema, files, dossier=dossier, user_id=user.id,
                                     collect=refused)
        clean = forms.validate(schema, data or {}, uploads=stored, also=refused)

        def act(step: runtime.Step) -> None:
            spiff_task = step.task(task.task_guid)
            if spiff_task is None or not spiff_task.state == runtime.TaskState.READY:
                raise Conflict("This step is no longer waiting for input.",
                               vi="Bước này không còn chờ xử lý.")
            if document is not None:
                _store_signature(p, session, user, dossier, document, signature)
            step.settled.add(task.task_guid)
            step.completed_by[task.spec_name] = user.id
            spiff_task.internal_data[runtime.COMPLETED_BY] = user.id
            spiff_task.data.update(clean)
            spiff_task.run()

        store.complete_task(session, task.id, user_id=user.id, assignee_id=task.assignee_id,
                            data=clean)
        audit.append(session, actor=user.username, action="complete", dossier_id=dossier.id,
                     detail={"task": task.spec_name, "title": task.title, "data": clean})
        runtime.run_loaded(p, session, dossier, locked.state, version, act,
                           actor=user.username)
        return {"id": task.id, "status": "completed", "dossier_code": dossier.code,
                "dossier_status": dossier.status}


def _sign(p, user, needed: _SignFirst, passphrase: str | None) -> _Signature:
    """Sign the document revision ``needed`` names, with no lock held; the officer who signs
    its last slot also has the agency seal it and its validation data added
    (:func:`signing.seal.finish`). A timestamp authority that does not answer fails the
    whole signature (nothing is stored, the task stays open with the officer's input)."""
    from signing.errors import SigningError
    from signing.images import signature_image
    from signing.sign import sign_pdf
    from signing.timestamps import TimestampError

    try:  # the officer's key: a key file or a PKCS#11 token (p.signers), unlocked by the PIN
        stamper = p.timestamper()
        with p.signers.officer(user.username, passphrase) as signer:
            signed = sign_pdf(p.storage.get(needed.storage_key), signer,
                              slot=needed.signatures + 1, signing_time=clock.now(),
                              agency=user.agency_name, title=user.title, timestamper=stamper,
                              image=signature_image(p.pki_dir, user.username, user.full_name))
        if needed.agency is not None:
            signed = _finish(p, signed, needed.agency, stamper)
    except SigningError as exc:
        vi = getattr(exc, "vi", "") or ("Không ký được văn bản. Hãy thử lại; nếu vẫn không "
                                        "được, hãy báo quản trị viên kiểm tra chứng thư số.")
        # a time-stamping authority that failed is not the passphrase's fault
        where = "sign_document" if isinstance(exc, TimestampError) else "passphrase"
        raise InvalidData(str(exc), vi=vi, details=[{"field": where, "message": str(exc),
                                                     "message_vi": vi}]) from exc
    return _Signature(needed.document_id, signed)


def _finish(p, signed: bytes, agency: tuple[str, str, str], stamper) -> bytes:
    """Seal the result with the agency's seal once every officer signed, add its LTV data."""
    from signing.seal import finish

    code, name, email = agency
    return finish(signed, pki_dir=p.pki_dir, agency_code=code, agency_name=name,
                  seal_signer=lambda: p.signers.agency(code, name=name, email=email),
                  timestamper=stamper, signing_time=clock.now())


def _store_signature(p, session: Session, user, dossier: Dossier, document: Document,
                     signature: _Signature) -> None:
    new = store_document(p, session, dossier=dossier, name=document.name,
                         filename=document.filename, media_type=document.media_type,
                         content=signature.content, kind=document.kind, created_by_id=user.id,
                         signatures=document.signatures + 1)
    audit.append(session, actor=user.username, action="sign", dossier_id=dossier.id,
                 detail={"document": document.name, "document_id": new.id, "sha256": new.sha256,
                         "signature": new.signatures})
