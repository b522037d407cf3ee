"""Incidents (sự cố): background work that failed, and what an administrator does about it.

Four kinds of background work can fail: a **timer** whose step fails (often a service task
or script after the timer event), a **message** whose delivery step fails, a **job** (a slip
to render and seal, :mod:`engine.jobs`) and an **outbox** e-mail (:mod:`engine.outbox`).
Each is retried automatically with exponential back-off (timers and messages here,
:func:`failed_try`; jobs and e-mails in their own modules) and only then fails finally: it
is set aside with its error and the element that failed, and the administrators get an
e-mail (:func:`alert_admins`). The operations console (``/admin/su-co``) lists them
(:func:`overview`) and an administrator may:

- **retry** — run it again now, with a fresh count of attempts;
- **skip** (with a reason) — a timer fires and a message is delivered *passing over* the
  element that failed (it is completed without running: the administrator has done its
  work by hand); a job is not produced and an e-mail not sent;
- **cancel** — it is dropped: a timer never fires, a message is never delivered, a job or
  e-mail is not done; the dossier goes on only by its other paths.

An administrator may also **suspend** a dossier's processing: while suspended, the worker
leaves its timers, messages and jobs alone and every step on it (an officer completing a
task…) is refused with a clear message (:func:`engine.runtime.run_loaded`), until it is
**resumed**. Every action is audited
on the dossier with the administrator's name (and the reason, for a skip or a suspension).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, clock, jobs, runtime
from .errors import Conflict, InvalidData, NotFound
from .lookup import by_code
from .models import Dossier, Job, Message, Outbox, Timer, WaitingMessage
from .outbox import ALERT_PREFIX, alert_admins  # noqa: F401  (the console's alerts)
from .step.load import lock_dossier

log = logging.getLogger(__name__)

#: Tries of a timer's or message's step before its failure is final.
MAX_ATTEMPTS = 5
KINDS = ("timer", "message", "job", "outbox")
_MODELS = {"timer": Timer, "message": Message, "job": Job, "outbox": Outbox}
_FAILED = {"timer": "error", "message": "error", "job": "failed", "outbox": "failed"}
_PENDING = {"timer": "waiting", "message": "pending", "job": "pending", "outbox": "pending"}
_LABELS = {"timer": ("Hẹn giờ", "Timer"), "message": ("Thông điệp", "Message"),
           "job": ("Tác vụ nền", "Job"), "outbox": ("Thư đi", "Outgoing e-mail")}


def element_of(exc: BaseException) -> str:
    """The diagram element a step's error names (a failing script or service task), or ''."""
    if getattr(exc, "motcua_element", None):  # a service task (engine.scripting)
        return str(exc.motcua_element)
    details = getattr(exc, "details", None)
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and item.get("element"):
                return str(item["element"])
    return ""


def failed_try(p, kind: str, row_id: int, error: str, element: str = "") -> None:
    """Record a failed try of a timer's or message's step: due again after a back-off, or,
    after :data:`MAX_ATTEMPTS` tries, failed finally (status ``error``) and the
    administrators told. A row no longer waiting is left as it is."""
    with p.db.transaction() as session:
        row = session.get(_MODELS[kind], row_id)
        if row is None or row.status != _PENDING[kind]:
            return
        row.attempts += 1
        row.last_error = error[:2000]
        row.failed_element = element[:255]
        if row.attempts < MAX_ATTEMPTS:
            row.next_attempt_at = clock.now() + jobs.backoff(row.attempts)
            return
        row.status = "error"
        dossier_id = row.dossier_id if kind == "timer" else (row.receiver_dossier_id
                                                               or row.sender_dossier_id)
        alert_admins(p, session, kind=kind, row_id=row_id, dossier_id=dossier_id,
                     element=element or (row.spec_name if kind == "timer" else row.name),
                     error=error)


#: How many items of each kind the console lists at most (the oldest first).
LIMIT = 500
_ELEMENT = {"timer": lambda row: row.failed_element or row.spec_name,
            "message": lambda row: row.failed_element or row.name,
            "job": lambda row: row.kind,
            "outbox": lambda row: f"{row.recipient}: {row.subject}"}
_WHEN = {"timer": lambda row: row.next_attempt_at or row.due_at,
         "message": lambda row: row.next_attempt_at or row.created_at,
         "job": lambda row: row.next_attempt_at, "outbox": lambda row: row.next_attempt_at}


def overview(p) -> dict:
    """What the console shows: ``failed`` (final failures), ``retrying`` (failed tries
    waiting for their next one) — each ``{kind, kind_vi, kind_en, id, dossier, element,
    error, attempts, at}`` — and the ``suspended`` dossiers ``{code, since}``."""
    failed, retrying = [], []
    with p.db.read() as session:
        found = []
        for kind, model in _MODELS.items():
            query = (select(model).where((model.status == _FAILED[kind])
                                         | ((model.status == _PENDING[kind])
                                            & (model.attempts > 0)))
                     .order_by(model.id).limit(LIMIT))
            found += [(kind, row) for row in session.execute(query).scalars()]
        ids = {_dossier_of(kind, row) for kind, row in found} - {None}
        codes = dict(session.execute(select(Dossier.id, Dossier.code)
                                     .where(Dossier.id.in_(ids))).all()) if ids else {}
        for kind, row in found:
            vi, en = _LABELS[kind]
            code = codes.get(_dossier_of(kind, row), "")
            if kind == "message":  # addressed by the receiver's code until delivered
                code = codes.get(row.receiver_dossier_id) or row.correlation
            item = {"kind": kind, "kind_vi": vi, "kind_en": en, "id": row.id, "dossier": code,
                    "element": _ELEMENT[kind](row), "error": row.last_error or "",
                    "attempts": row.attempts, "at": _WHEN[kind](row)}
            (failed if row.status == _FAILED[kind] else retrying).append(item)
        suspended = [{"code": code, "since": since} for code, since in session.execute(
            select(Dossier.code, Dossier.suspended_at).where(Dossier.suspended_at.is_not(None))
            .order_by(Dossier.suspended_at))]
    order = lambda item: (item["at"] is None, item["at"], item["kind"], item["id"])  # noqa: E731
    return {"failed": sorted(failed, key=order), "retrying": sorted(retrying, key=order),
            "suspended": suspended}


def _locked_row(session: Session, kind: str, row_id: int):
    """The row of ``kind`` (its dossier locked first, the order every step takes)."""
    if kind not in _MODELS:
        raise NotFound(f"No such kind of work: {kind!r}.", vi=f"Không có loại việc {kind!r}.")
    model = _MODELS[kind]
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"No {kind} #{row_id}.", vi=f"Không tìm thấy {_LABELS[kind][0]} "
                                                   f"#{row_id}.")
    dossier_id = _dossier_of(kind, row)
    if dossier_id is not None:
        lock_dossier(session, dossier_id)
    session.refresh(row, with_for_update=True)
    return row, dossier_id


def _dossier_of(kind: str, row) -> int | None:
    if kind == "message":
        return row.receiver_dossier_id or row.sender_dossier_id
    return row.dossier_id


def _must_have_failed(kind: str, row) -> None:
    if row.status != _FAILED[kind] and not (row.status == _PENDING[kind] and row.attempts > 0):
        raise Conflict(f"{_LABELS[kind][1]} #{row.id} has not failed (it is {row.status}).",
                       vi=f"{_LABELS[kind][0]} #{row.id} không ở trạng thái lỗi "
                          f"({row.status}).")


def retry(p, kind: str, row_id: int, *, actor: str) -> None:
    """Run a failed (or retrying) item again at the worker's next round, attempts reset."""
    with p.db.transaction() as session:
        row, dossier_id = _locked_row(session, kind, row_id)
        _must_have_failed(kind, row)
        row.status, row.attempts = _PENDING[kind], 0
        row.next_attempt_at = None if kind in ("timer", "message") else clock.now()
        if kind in ("job", "outbox"):
            row.last_error = ""
        audit.append(session, actor=actor, action="incident_retried", dossier_id=dossier_id,
                     detail={"kind": kind, "id": row_id, "error": row.last_error})


def cancel(p, kind: str, row_id: int, *, actor: str) -> None:
    """Drop a failed item: it is never tried again."""
    with p.db.transaction() as session:
        row, dossier_id = _locked_row(session, kind, row_id)
        _must_have_failed(kind, row)
        row.status = "cancelled"
        audit.append(session, actor=actor, action="incident_cancelled", dossier_id=dossier_id,
                     detail={"kind": kind, "id": row_id, "error": row.last_error})


def skip(p, kind: str, row_id: int, *, reason: str, actor: str) -> None:
    """Go past a failed item (see the module docstring); ``reason`` is required and kept in
    the audit log. A timer or message is taken in its dossier's step, with the failed
    element completed without running; a job or e-mail is marked ``skipped``."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidData("Give the reason for skipping.", vi="Hãy ghi lý do bỏ qua.",
                          details={"reason": "required"})
    with p.db.transaction() as session:
        row, dossier_id = _locked_row(session, kind, row_id)
        _must_have_failed(kind, row)
        detail = {"kind": kind, "id": row_id, "reason": reason, "error": row.last_error,
                  "element": getattr(row, "failed_element", "")}
        if kind in ("timer", "message"):
            _take_passing_over(p, session, kind, row, dossier_id)
        row.status = "skipped"
        audit.append(session, actor=actor, action="incident_skipped", dossier_id=dossier_id,
                     detail=detail)


class _Reached(Exception):
    def __init__(self, task):
        super().__init__(task.task_spec.bpmn_id)
        self.task = task


def _pass_over(step, element: str) -> None:
    """Run the engine until ``element`` is ready, then complete it without running it."""
    if not element:
        return

    def stop_there(task):
        if task.task_spec.bpmn_id == element:
            raise _Reached(task)

    try:
        step.workflow.refresh_timers()  # a fired timer event becomes ready only then
        step.workflow.do_engine_steps(will_complete_task=stop_there)
    except _Reached as reached:
        reached.task.complete()


def _take_passing_over(p, session: Session, kind: str, row, dossier_id: int | None) -> None:
    element = row.failed_element
    if kind == "timer":
        def act(step):
            if not runtime.fire_timer(step, row):
                raise Conflict("The dossier no longer waits for this timer; cancel it.",
                               vi="Hồ sơ không còn chờ hẹn giờ này; hãy hủy nó.")
            _pass_over(step, element)
    else:
        waiting = session.execute(select(WaitingMessage.dossier_id, WaitingMessage.task_guid)
                                  .where(WaitingMessage.name == row.name,
                                         WaitingMessage.correlation == row.correlation)).first()
        if waiting is None:
            raise Conflict("No dossier waits for this message; cancel it.",
                           vi="Không hồ sơ nào chờ thông điệp này; hãy hủy nó.")
        dossier_id, guid = waiting
        lock_dossier(session, dossier_id)

        def act(step):
            from . import messages
            if not messages.deliver(step, row, guid):
                raise Conflict("The dossier does not wait for this message; cancel it.",
                               vi="Hồ sơ không chờ thông điệp này; hãy hủy nó.")
            _pass_over(step, element)
    runtime.run_step(p, dossier_id, act, actor="system", session=session)


def suspend(p, code: str, *, actor: str, reason: str = "") -> None:
    """Suspend a dossier's processing (tạm dừng xử lý) until :func:`resume`."""
    with p.db.transaction() as session:
        dossier = _locked_dossier(session, code)
        if dossier.suspended_at is not None:
            raise Conflict(f"Dossier {code} is already suspended.",
                           vi=f"Hồ sơ {code} đã đang tạm dừng.")
        dossier.suspended_at = clock.now()
        audit.append(session, actor=actor, action="dossier_suspended", dossier_id=dossier.id,
                     detail={"reason": (reason or "").strip()})


def resume(p, code: str, *, actor: str) -> None:
    """Resume a suspended dossier: its due timers, messages and jobs run at the next round."""
    with p.db.transaction() as session:
        dossier = _locked_dossier(session, code)
        if dossier.suspended_at is None:
            raise Conflict(f"Dossier {code} is not suspended.",
                           vi=f"Hồ sơ {code} không bị tạm dừng.")
        since = dossier.suspended_at
        dossier.suspended_at = None
        audit.append(session, actor=actor, action="dossier_resumed", dossier_id=dossier.id,
                     detail={"suspended_at": since.isoformat()})


def _locked_dossier(session: Session, code: str) -> Dossier:
    return lock_dossier(session, by_code(session, Dossier, code).id)


__all__ = ["MAX_ATTEMPTS", "alert_admins", "cancel", "element_of", "failed_try", "overview",
           "resume", "retry", "skip", "suspend"]
