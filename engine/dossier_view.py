"""What applicants, officers and the public look-up see of a dossier: its summary in a
list, its full view, and the public view without personal data."""

from __future__ import annotations

from sqlalchemy.orm import Session

from . import progress
from .documents import is_agency_side, withheld
from .documents import view as document_view
from .dossier_rows import read_rows
from .models import (
    Dossier,
)
from .procedures import public_fee
from .vocabulary import status_labels

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
    back from a supplement request, :func:`engine.vocabulary.status_labels`), dates."""
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


def dossier_view(session: Session, dossier: Dossier, *, viewer: object = _AGENCY,
                 rows: dict | None = None) -> dict:
    """Everything about a dossier; for a ``viewer`` on the applicant's side, without the
    result documents not issued yet (:func:`engine.documents.withheld`). ``rows``: what
    :func:`read_rows` read already for this dossier."""
    view = summary(dossier)
    view["data"] = dossier.data
    # how its fee is paid and its result delivered (level 3: at the desk; 4: online)
    meta = dossier.version.meta or {}
    view["procedure"].update(level=meta.get("level", 4), online_label=meta.get("online_label", ""),
                             fee=public_fee(meta.get("fee")),  # a copy: meta is a shared cache entry
                             results=sorted(meta.get("documents") or {}))
    rows = rows if rows is not None else read_rows(session, dossier.code)
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
