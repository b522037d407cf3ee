"""What the earlier steps of a dossier decided, as a later step sees it (hồ sơ qua các bước).

A task page shows the decisions and notes of the steps completed before it — the handler's
recommendation, notes and proposed number in front of the head who approves. Which fields
a later step sees is data in the bundle: a form property's ``x-show-to``, a list of role
codes (the lanes of the steps that see it):

- absent: every later step of an officer's role sees the field; the applicant's steps
  (role ``applicant``) do not — internal notes stay internal unless a form says otherwise;
- ``["head"]``: only steps in the ``head`` lane; ``["applicant", "head"]`` also the
  applicant's own steps (e.g. a supplement request's items);
- ``[]``: no later step (a confirmation tick, a value only the diagram reads).

The rows come from ``human_task.data`` (what each completed step submitted), read by the
dossier's index (``ix_task_dossier``); nothing deserializes the workflow.
"""

from __future__ import annotations

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from .forms import form_schema
from .models import HumanTask, ProcedureVersion, User
from .vocabulary import RoleCode

SHOW_TO = "x-show-to"
APPLICANT = RoleCode.APPLICANT


def shown_to(prop: dict, role: str) -> bool:
    """Whether a later step in the lane ``role`` sees the field described by ``prop``."""
    roles = prop.get(SHOW_TO) if isinstance(prop, dict) else None
    if roles is None:
        return role != APPLICANT
    return role in roles


def show_to_problems(schema: dict, roles: set[str]) -> list[tuple[str, str]]:
    """(location, message) for each ``x-show-to`` of the form's properties that is not a
    list of known role codes; checked when a bundle is deployed."""
    problems = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or SHOW_TO not in prop:
            continue
        value = prop[SHOW_TO]
        where = f"properties/{name}/{SHOW_TO}"
        if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
            problems.append((where, "must be a list of role codes, e.g. [\"head\"]"))
            continue
        unknown = sorted(set(value) - roles)
        if unknown:
            problems.append((where, f"unknown role(s) {', '.join(unknown)} "
                                    f"(known: {', '.join(sorted(roles))})"))
    return problems


def _visible(schema: dict | None, data: dict, role: str) -> tuple[dict, dict]:
    """The part of a step's form and data that ``role`` sees: only fields the form
    describes (a value it does not describe is not shown)."""
    props = (schema or {}).get("properties") or {}
    keep = [k for k, prop in props.items() if k in data and shown_to(prop, role)]
    visible_schema = {**(schema or {}), "properties": {k: props[k] for k in keep}}
    visible_schema.pop("allOf", None)  # conditions on hidden fields mean nothing here
    return visible_schema, {k: data[k] for k in keep}


_EARLIER = (
    select(HumanTask.id, HumanTask.title, HumanTask.role_code, HumanTask.form,
           HumanTask.data, HumanTask.completed_at, User.full_name.label("completed_by"))
    .outerjoin(User, User.id == HumanTask.completed_by_id)
    .where(HumanTask.status == literal_column("'completed'")))


def earlier_steps(session: Session, task: HumanTask, version: ProcedureVersion) -> list[dict]:
    """The steps of ``task``'s dossier completed before it, latest first, each with the
    fields ``task``'s role may see: ``{id, title, role, completed_at, completed_by,
    form, data}`` (``form`` holds only those fields; ``completed_by`` is empty for the
    applicant's own steps). Steps with nothing to show are left out."""
    statement = _EARLIER.where(HumanTask.dossier_id == task.dossier_id, HumanTask.id != task.id)
    if task.completed_at is not None:
        statement = statement.where(HumanTask.completed_at <= task.completed_at)
    rows = session.execute(statement.order_by(HumanTask.completed_at.desc(),
                                              HumanTask.id.desc())).all()
    steps = []
    for row in rows:
        try:
            schema = form_schema(version, row.form)
        except KeyError:  # a form the dossier's (migrated) version no longer has
            schema = None
        form, data = _visible(schema, row.data or {}, task.role_code)
        if not data:
            continue
        steps.append({"id": row.id, "title": row.title, "role": row.role_code,
                      "completed_at": row.completed_at.isoformat() if row.completed_at else None,
                      "completed_by": "" if task.role_code == APPLICANT else
                      (row.completed_by or ""),
                      "form": form, "data": data})
    return steps


RECEPTION = RoleCode.RECEPTION


def reception_checklist(meta: dict, documents: list[dict], role: str,
                        form: dict | None) -> list[dict] | None:
    """The checklist of a step that receives the dossier: the procedure's required
    documents (``required_documents`` of procedure.yaml), each with the latest file the
    dossier holds for it (``documents``: the dossier view's), or None when it has none.

    Steps in the ``reception`` lane show it, and any step whose form says
    ``"x-checklist": true`` (a district office that receives); ``"x-checklist": false``
    turns it off. None when the step shows none or the procedure lists no documents."""
    required = meta.get("required_documents") or []
    wanted = (form or {}).get("x-checklist")
    if not required or not (wanted is True or (wanted is None and role == RECEPTION)):
        return None
    latest: dict[str, dict] = {}
    for doc in documents:
        held = latest.get(doc.get("name"))
        if held is None or (doc.get("revision") or 0, doc["id"]) > (held.get("revision") or 0,
                                                                   held["id"]):
            latest[doc.get("name")] = doc
    items = []
    for entry in required:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name") or {}
        names = name if isinstance(name, dict) else {"vi": str(name), "en": str(name)}
        items.append({"key": entry.get("key"), "name_vi": names.get("vi", ""),
                      "name_en": names.get("en") or names.get("vi", ""),
                      "document": latest.get(entry.get("key"))})
    return items
