"""Human tasks: the inbox, claiming, and completing a step of a dossier.

The inbox is an indexed query over ``human_task`` rows; no workflow is loaded to list
tasks. Completing locks the dossier, re-reads the task row under that lock and refuses a
task that someone else completed or claimed in the meantime (409), so a task is never
completed twice.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from . import audit, clock, forms, runtime
from .documents import latest, store_document
from .dossiers import dossier_view
from .errors import Conflict, InvalidData, NotFound, PermissionDenied
from .models import Agency, Dossier, HumanTask
from .procedures import form_schema


def _may_act(user, task: HumanTask, agency_code: str | None) -> bool:
    if user is None:
        return False
    if task.role_code == "applicant":
        return task.dossier.applicant_id == user.id
    return user.has_role(task.role_code, agency_code)


def _agency_code(session: Session, agency_id: int | None) -> str | None:
    return session.get(Agency, agency_id).code if agency_id else None


def _row_view(task: HumanTask, user) -> dict:
    return {"id": task.id, "title": task.title, "status": task.status,
            "dossier_code": task.dossier.code,
            "procedure_name": task.dossier.procedure.name_vi,
            "procedure_name_en": task.dossier.procedure.name_en,
            "role": task.role_code,
            "assignee": task.assignee.username if task.assignee else None,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "created_at": task.created_at.isoformat(),
            "mine": task.assignee_id == user.id}


def list_tasks(p, user) -> list[dict]:
    """Every open task the user may act on: assigned to them, or unclaimed for one of their
    roles. Pages of it, and a dossier's own tasks, come from :mod:`engine.inbox`."""
    from .inbox import all_tasks

    return all_tasks(p, user)


def _load(session: Session, task_id: int, *, lock: bool = False) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("No such task.", vi="Không tìm thấy công việc.")
    if lock:
        runtime.lock_dossier(session, task.dossier_id)
        session.refresh(task)
    return task


def get_task(p, user, task_id: int) -> dict:
    with p.db.transaction() as session:
        task = _load(session, task_id)
        agency_code = _agency_code(session, task.agency_id)
        if not (_may_act(user, task, agency_code) or user.is_admin):
            raise PermissionDenied("This task is not for you.", vi="Công việc này không dành cho bạn.")
        view = _row_view(task, user)
        version = task.dossier.version
        open_ = task.status == "open"
        view.update(form=form_schema(version, task.form),
                    sign_document=(task.properties or {}).get("signDocument"),
                    can_claim=open_ and task.assignee_id is None and task.role_code != "applicant",
                    can_complete=open_ and task.assignee_id in (None, user.id),
                    application_form=form_schema(version, version.meta.get("application_form")),
                    dossier=dossier_view(session, task.dossier, viewer=user))
        return view


def _check_open(task: HumanTask, user) -> None:
    if task.status != "open":
        who = task.completed_by.full_name if task.completed_by else ""
        raise Conflict(f"This task was already {task.status}{' by ' + who if who else ''}.",
                       vi="Công việc này đã được xử lý" + (f" bởi {who}." if who else "."))
    if task.assignee_id not in (None, user.id):
        raise Conflict(f"This task is claimed by {task.assignee.full_name}.",
                       vi=f"Công việc này đã được {task.assignee.full_name} nhận xử lý.")


def claim(p, user, task_id: int) -> dict:
    """Take an unclaimed task of one of your roles, so that no one else works on it."""
    with p.db.transaction() as session:
        task = _load(session, task_id, lock=True)
        if not _may_act(user, task, _agency_code(session, task.agency_id)):
            raise PermissionDenied("This task is not for you.", vi="Công việc này không dành cho bạn.")
        _check_open(task, user)
        if task.assignee_id is None:
            task.assignee_id = user.id
            audit.append(session, actor=user.username, action="claim", dossier_id=task.dossier_id,
                         detail={"task": task.spec_name})
        session.flush()
        session.refresh(task)
        return _row_view(task, user)


def complete(p, user, task_id: int, data: dict, files: dict | None = None, *,
             passphrase: str | None = None) -> dict:
    """Complete a task with its form data (and sign its document when the step says so),
    then run the dossier's process to its next wait state, all in one transaction."""
    with p.db.transaction() as session:
        task = _load(session, task_id, lock=True)
        if not _may_act(user, task, _agency_code(session, task.agency_id)):
            raise PermissionDenied("This task is not for you.", vi="Công việc này không dành cho bạn.")
        _check_open(task, user)
        dossier = task.dossier
        schema = form_schema(dossier.version, task.form) or {"type": "object", "properties": {}}
        stored = forms.store_uploads(p, session, schema, files, dossier=dossier, user_id=user.id)
        clean = forms.validate(schema, {**(data or {}), **stored})
        sign_name = (task.properties or {}).get("signDocument")

        def act(step: runtime.Step) -> None:
            spiff_task = step.task(task.task_guid)
            if spiff_task is None or not spiff_task.state == runtime.TaskState.READY:
                raise Conflict("This step is no longer waiting for input.",
                               vi="Bước này không còn chờ xử lý.")
            if sign_name:
                _sign(p, session, user, dossier, sign_name, passphrase)
            spiff_task.data.update(clean)
            spiff_task.run()

        task.status = "completed"
        task.completed_by_id = user.id
        task.completed_at = clock.now()
        task.assignee_id = task.assignee_id or user.id
        task.data = clean
        audit.append(session, actor=user.username, action="complete", dossier_id=dossier.id,
                     detail={"task": task.spec_name, "title": task.title, "data": clean})
        runtime.run_step(p, dossier.id, act, actor=user.username, session=session)
        return {"id": task.id, "status": "completed", "dossier_code": dossier.code,
                "dossier_status": dossier.status}


def _sign(p, session: Session, user, dossier: Dossier, name: str, passphrase: str | None) -> None:
    from signing.errors import SigningError
    from signing.pki import load_signer
    from signing.sign import sign_pdf

    if not passphrase:
        raise InvalidData("Enter the passphrase of your signing key.",
                          vi="Nhập mật khẩu khóa ký số của bạn.",
                          details=[{"field": "passphrase", "message": "Required to sign."}])
    doc = latest(session, dossier.id, name)
    if doc is None:
        raise InvalidData(f"There is no document '{name}' to sign yet.",
                          vi=f"Chưa có văn bản '{name}' để ký.")
    try:
        signer = load_signer(p.pki_dir, user.username, passphrase)
        signed = sign_pdf(p.storage.get(doc.storage_key), signer, slot=doc.signatures + 1,
                          signing_time=clock.now(), agency=user.agency_name, title=user.title)
    except SigningError as exc:
        raise InvalidData(str(exc), vi=str(exc),
                          details=[{"field": "passphrase", "message": str(exc)}]) from exc
    new = store_document(p, session, dossier=dossier, name=name, filename=doc.filename,
                         media_type=doc.media_type, content=signed, kind=doc.kind,
                         created_by_id=user.id, signatures=doc.signatures + 1)
    audit.append(session, actor=user.username, action="sign", dossier_id=dossier.id,
                 detail={"document": name, "document_id": new.id, "sha256": new.sha256,
                         "signature": new.signatures})
