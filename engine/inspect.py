"""Where is this dossier: its path through the diagram of the version it runs on.

The studio draws the dossier on its diagram: the elements it has passed, the sequence
flows it took, the steps open now (who holds them, by when) and the timers waiting. This
is a detail page, so it reads the saved workflow (one deserialization); lists never do.
"""

from __future__ import annotations

from datetime import UTC

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from .documents import can_see_dossier
from .errors import PermissionDenied
from .lookup import by_code
from .models import Dossier, HumanTask, Instance
from .spiff import load_state
from .step.rows import moment
from .versions import MODEL


def trace(p, code: str, user) -> dict:
    """The dossier ``code`` on its diagram, for its agency's staff, analysts and admins (and
    its applicant, who sees the same steps in the dossier view).

    ``{code, procedure, version, bpmn, completed, taken_flows, active, timers, status}``:
    ``completed`` lists the ids of the tasks, events and gateways passed, in order (inside
    sub-processes too; a step done twice appears twice); ``taken_flows`` the sequence flows
    between them and into the open steps, best effort from the task tree.
    """
    with p.db.read() as session:
        dossier = by_code(session, Dossier, code)
        if user is None or not (user.is_analyst or can_see_dossier(user, dossier)):
            raise PermissionDenied("You may not see where this dossier is.",
                                   vi="Bạn không có quyền xem tiến trình của hồ sơ này.")
        version = dossier.version
        workflow = load_state(session.get(Instance, dossier.id).state, version)
        rows = {r.task_guid: r for r in session.execute(select(HumanTask).where(
            HumanTask.dossier_id == dossier.id, HumanTask.status == "open")).scalars()}
        bpmn_name = version.meta.get("process") or "process.bpmn"
        bpmn = version.files.get(bpmn_name) or next(
            (text for name, text in sorted(version.files.items()) if name.endswith(".bpmn")), "")
        tasks = [t for wf in (workflow, *workflow.subprocesses.values())
                 for t in wf.get_tasks(skip_subprocesses=True) if t.task_spec.bpmn_id]
        completed = sorted((t for t in tasks if t.state == TaskState.COMPLETED),
                           key=lambda t: t.last_state_change)
        open_now = [t for t in tasks if t.has_state(TaskState.READY | TaskState.WAITING
                                                    | TaskState.STARTED)]
        return {"code": dossier.code, "procedure": dossier.procedure.code,
                "version": version.number, "bpmn": bpmn,
                "completed": [t.task_spec.bpmn_id for t in completed],
                "taken_flows": _flows(version.files, sorted(
                    [*completed, *open_now], key=lambda t: t.last_state_change)),
                "active": [_active(t, rows.get(str(t.id))) for t in _active_tasks(tasks)],
                "timers": _timers(tasks), "status": dossier.status,
                "finished": dossier.finished_at is not None}


def _active_tasks(tasks) -> list:
    """Ready user tasks, and events waiting for something other than time (messages)."""
    out = []
    for task in tasks:
        event = getattr(task.task_spec, "event_definition", None)
        if task.state == TaskState.READY and task.task_spec.manual:
            out.append(task)
        elif task.state == TaskState.WAITING and event is not None \
                and not isinstance(event, TimerEventDefinition):
            out.append(task)
    return out


def _active(task, row: HumanTask | None) -> dict:
    spec = task.task_spec
    assignee = row.assignee if row is not None else None
    return {"element": spec.bpmn_id,
            "title": row.title if row is not None else (spec.bpmn_name or spec.bpmn_id),
            "role": row.role_code if row is not None else spec.lane,
            "assignee": assignee.username if assignee else None,
            "assignee_name": assignee.full_name if assignee else None,
            "due_at": row.due_at.isoformat() if row is not None and row.due_at else None,
            "task_id": row.id if row is not None else None}


def _timers(tasks) -> list[dict]:
    out = []
    for task in tasks:
        event = getattr(task.task_spec, "event_definition", None)
        if task.state == TaskState.WAITING and isinstance(event, TimerEventDefinition):
            due = moment(task._get_internal_data("event_value"))
            out.append({"element": task.task_spec.bpmn_id,
                        "due_at": due.astimezone(UTC).isoformat() if due else None})
    return sorted(out, key=lambda t: (t["due_at"] or "", t["element"]))


def _flows(files: dict[str, str], tasks) -> list[str]:
    """The sequence flows from each task's nearest passed element to the task, in order."""
    by_ends: dict[tuple[str, str], str] = {}
    for name in sorted(f for f in files if f.endswith(".bpmn")):
        try:
            root = etree.fromstring(files[name].encode("utf-8"))
        except etree.XMLSyntaxError:
            continue
        for flow in root.iter(f"{{{MODEL}}}sequenceFlow"):
            by_ends.setdefault((flow.get("sourceRef"), flow.get("targetRef")), flow.get("id"))
    taken: list[str] = []
    for task in tasks:
        parent = task.parent
        while parent is not None and not parent.task_spec.bpmn_id:
            parent = parent.parent
        if parent is None:
            continue
        flow = by_ends.get((parent.task_spec.bpmn_id, task.task_spec.bpmn_id))
        if flow and flow not in taken:
            taken.append(flow)
    return taken
