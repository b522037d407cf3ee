"""What the applicant is told about a dossier (tiến độ hồ sơ): why it waits for them or was
refused, and a few plain steps instead of the audit log.

Everything here reads a dossier's view (:func:`engine.dossier_view.dossier_view`): its status,
dates, history (the audit events) and the slips still being prepared. Nothing names a
procedure: the reasons are the ``reason`` and ``items`` a diagram gave ``issue_slip``
(form 02 asks to supplement, any other slip with a reason after a refusal explains it),
and the steps follow the statuses of :mod:`engine.vocabulary`.
"""

from __future__ import annotations

from datetime import datetime

from . import clock
from .vocabulary import CLOSED_STATUSES, AuditAction, Status

#: Statuses that mean "an officer is working on it".
PROCESSING = (Status.ACCEPTED, Status.IN_PROGRESS, Status.APPROVED)
#: Statuses that mean the result exists (``processed``: ready; ``returned``: handed over).
RESULT = (Status.PROCESSED, Status.RETURNED)
#: Statuses that end a dossier without a result.
ENDED = tuple(sorted(CLOSED_STATUSES))


def _moment(value: datetime | str | None) -> datetime | None:
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.VIETNAM)


def _slip_events(view: dict) -> list[dict]:
    """``{at, form, reason, items}`` of every slip issued or still being prepared, oldest
    first: a slip being prepared already carries its reason (the step gave it)."""
    events = []
    for event in view.get("history") or []:
        detail = event.get("detail") or {}
        if event.get("action") == AuditAction.SLIP_ISSUED:
            events.append({"at": event["at"], "form": str(detail.get("form") or ""),
                           "reason": detail.get("reason") or "",
                           "items": detail.get("items") or "", "job": detail.get("job")})
    issued = {e["job"] for e in events if e.get("job")}
    for job in view.get("preparing") or []:
        if job.get("kind") == "slip" and job.get("key") not in issued:
            events.append({"at": job["created_at"], "form": str(job.get("form") or ""),
                           "reason": job.get("reason") or "", "items": job.get("items") or "",
                           "job": job.get("key")})
    return sorted(events, key=lambda e: _moment(e["at"]))


def _status_events(view: dict) -> list[tuple[datetime, str, str]]:
    """``(at, from, to)`` of every status change, oldest first."""
    out = []
    for event in view.get("history") or []:
        detail = event.get("detail") or {}
        if event.get("action") in (AuditAction.STATUS, AuditAction.WITHDRAW, AuditAction.STOP) and detail.get("to"):
            out.append((_moment(event["at"]), str(detail.get("from") or ""), str(detail["to"])))
    return out


#: The audit events the applicant's side may read, and what of their detail: who did it
#: (officers' user names) and the workflow's internals stay with the agency.
PUBLIC_EVENTS = {AuditAction.SUBMIT: ("due_at",), AuditAction.STATUS: ("from", "to"),
                 AuditAction.WITHDRAW: ("from", "to", "reason"),
                 AuditAction.STOP: ("from", "to", "reason"),
                 AuditAction.APOLOGY: ("reason", "from", "to"),
                 AuditAction.PAYMENT: ("amount", "currency"),
                 AuditAction.SLIP_ISSUED: ("form", "reason", "items"),
                 AuditAction.CLOCK_STOPPED: (), AuditAction.CLOCK_RESUMED: ("to", "working_days")}


def public_history(history: list[dict]) -> list[dict]:
    """The events of ``history`` an applicant may read (:data:`PUBLIC_EVENTS`), without
    their actor and with only the detail they need."""
    out = []
    for event in history:
        keys = PUBLIC_EVENTS.get(event.get("action"))
        if keys is None:
            continue
        detail = event.get("detail") or {}
        out.append({"at": event["at"], "action": event["action"], "actor": "",
                    "detail": {k: detail[k] for k in keys if k in detail}})
    return out


def was_supplemented(view: dict) -> bool:
    """Whether the dossier was ever asked to supplement (its status went through
    ``supplement_requested``)."""
    return any(to == "supplement_requested" for _at, _from, to in _status_events(view))


def split_items(items: str) -> list[str]:
    """The items to supplement as a list: one per line (or ``;``-separated on one line)."""
    text = str(items or "").strip()
    if not text:
        return []
    lines = [line.strip(" \t-•*") for line in text.splitlines()]
    if len([line for line in lines if line]) == 1 and ";" in text:
        lines = [part.strip(" \t-•*") for part in text.split(";")]
    return [line for line in lines if line]


def reasons(view: dict) -> dict:
    """Why the dossier waits for its applicant, or why it was refused.

    ``{"supplement": {at, reason, items} | None, "refusal": {at, reason} | None}``:
    ``supplement`` is the latest request to supplement (slip 02) while the dossier waits
    for it; ``refusal`` the reason of the latest slip carrying one after the dossier was
    refused."""
    status = view.get("status")
    slips = _slip_events(view)
    supplement = refusal = None
    if status == "supplement_requested":
        latest = next((s for s in reversed(slips) if s["form"] == "02"), None)
        if latest is not None:
            supplement = {"at": latest["at"], "reason": latest["reason"],
                          "items": split_items(latest["items"])}
    if status == "refused":
        refused_at = max((at for at, _f, to in _status_events(view) if to == "refused"),
                         default=None)
        candidates = [s for s in slips if s["reason"] and s["form"] != "02"
                      and (refused_at is None or _moment(s["at"]) >= refused_at)]
        if candidates:
            refusal = {"at": candidates[-1]["at"], "reason": candidates[-1]["reason"]}
    return {"supplement": supplement, "refusal": refusal}


def _on_time(done: datetime | None, due: datetime | None) -> str:
    """``early`` (an earlier day than due), ``on_time`` (by the due moment) or ``late``;
    "" when either is missing."""
    if done is None or due is None:
        return ""
    if done > due:
        return "late"
    local = clock.VIETNAM
    return "early" if done.astimezone(local).date() < due.astimezone(local).date() else "on_time"


def timeline(view: dict) -> list[dict]:
    """The dossier in a few plain steps for its applicant: received → being processed →
    (asked to supplement → supplemented) → result ready → returned, or how it ended.

    Each step is ``{step, at, done, on_time}``: ``step`` one of ``received``,
    ``processing``, ``supplement_requested``, ``supplemented``, ``result``, ``returned``,
    ``refused``, ``stopped``, ``withdrawn``; ``at`` ISO 8601 (for a step not reached yet,
    the appointment for the result, else None); ``on_time`` ``early`` / ``on_time`` /
    ``late`` for the result and its hand-over, judged against the appointment before any
    apology when the view has it (``original_due_at``), else the appointment in force."""
    due = _moment(view.get("original_due_at") or view.get("due_at"))
    steps = [{"step": "received", "at": view.get("received_at"), "done": True, "on_time": ""}]
    seen: set[str] = set()
    ended = None
    for at, before, to in _status_events(view):
        if to in PROCESSING and "processing" not in seen:
            seen.add("processing")
            steps.append({"step": "processing", "at": at.isoformat(), "done": True,
                          "on_time": ""})
        elif to == "supplement_requested":
            steps.append({"step": "supplement_requested", "at": at.isoformat(), "done": True,
                          "on_time": ""})
        if before == "supplement_requested" and to != "supplement_requested":
            steps.append({"step": "supplemented", "at": at.isoformat(), "done": True,
                          "on_time": ""})
        if to in RESULT and "result" not in seen:
            seen.add("result")
            steps.append({"step": "result", "at": at.isoformat(), "done": True,
                          "on_time": _on_time(at, due)})
        if to == "returned" and "returned" not in seen:
            seen.add("returned")
            steps.append({"step": "returned", "at": at.isoformat(), "done": True,
                          "on_time": _on_time(at, due)})
        if to in ENDED:
            ended = {"step": to, "at": at.isoformat(), "done": True,
                     "on_time": _on_time(at, due) if to == "refused" else ""}
    if ended is not None:
        return [*steps, ended]
    status = view.get("status")
    if status in ENDED:  # ended before any history was kept
        return [*steps, {"step": status, "at": view.get("finished_at"), "done": True,
                         "on_time": ""}]
    if "processing" not in seen and "result" not in seen:
        steps.append({"step": "processing", "at": None, "done": False, "on_time": ""})
    if "result" not in seen:
        steps.append({"step": "result", "at": view.get("due_at"), "done": False,
                      "on_time": ""})
    if "returned" not in seen:
        steps.append({"step": "returned", "at": None, "done": False, "on_time": ""})
    return steps
