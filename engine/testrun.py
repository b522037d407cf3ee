"""A test run of one dossier on a draft (chạy thử một hồ sơ), decisions taken by hand.

A test run is its inputs only: sample application data, the moment it started, and the
decisions taken so far — ``{"task": id, "data": {…}}`` for a user task completed by hand,
``{"timer": id}`` for a timer the analyst lets fire. :func:`run` replays them from the
start on the draft, in memory and in simulated time, exactly as :mod:`engine.whatif`
replays recorded dossiers (service tasks recorded, not run), and says where the dossier
now stands: the path taken, the steps waiting for a decision and their forms, the
timers, or how it ended. So nothing needs storing but those inputs, which the studio keeps
in the analyst's session.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import yaml
from SpiffWorkflow.util.task import TaskState

from . import clock, forms
from .calendar import load_calendar
from .inspect import _flows
from .scripting import make_evaluator
from .spiff import MotcuaWorkflow
from .step import rows
from .whatif import RecordingEngine, Stopped, parse_draft, step_label, why_stopped

MAX_DECISIONS = 200


def sample_application(files: dict[str, str], meta: dict) -> dict:
    """Sample data for the application form: the first walk-through scenario's, when the
    bundle has one, else a value of the right type for every field."""
    for name in sorted(files):
        if name.startswith("scenarios/") and name.endswith((".yaml", ".yml")):
            try:
                scenario = yaml.safe_load(files[name]) or {}
            except yaml.YAMLError:
                continue
            if isinstance(scenario.get("application"), dict):
                return dict(scenario["application"])
    schema = json.loads(files.get(meta.get("application_form") or "", "{}") or "{}")
    sample = {}
    for field, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type")
        options = [o.get("const") for o in prop.get("oneOf") or [] if "const" in o]
        sample[field] = (options[0] if options else 1 if kind in ("integer", "number")
                         else True if kind == "boolean" else [] if kind == "array"
                         else "2026-01-01" if prop.get("format") == "date" else "mẫu")
    return sample


def run(p, files: dict[str, str], *, application: dict, started_at: datetime,
        decisions: list[dict]) -> dict:
    """Where a dossier filed with ``application`` at ``started_at`` stands on the draft
    after ``decisions``: ``{completed, stop, path, flows, ready: [{element, name, role,
    form}], timers: [{element, name, due_at}], effects, applied, files}``.

    A decision that no longer fits (its step is not waiting) ends the replay there:
    ``applied`` says how many were taken. Raises :class:`InvalidBundle` for a bad draft
    and :class:`InvalidData` for a decision whose data its step's form refuses.
    """
    bundle = parse_draft(p, files)
    step = SimpleNamespace(dossier=SimpleNamespace(due_at=None))
    engine = RecordingEngine(make_evaluator(_calendar(p), step=step), lambda status: None)
    stop = None
    applied = 0
    with clock.simulated(started_at) as sim:
        workflow = MotcuaWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=engine)
        data = {"dossier": {"code": "CHAY-THU", "received_at": started_at.isoformat(),
                            "due_at": started_at.isoformat(), "procedure": bundle.meta.get(
                                "code", ""), "agency_code": bundle.meta.get("agency", ""),
                            "agency_name": "", "applicant": {"name": "Người chạy thử",
                                                             "email": "", "id_number": ""}},
                "application": dict(application)}
        for task in workflow.get_tasks(state=TaskState.READY):
            task.set_data(**data)
        try:
            _advance(workflow)
            for decision in decisions[:MAX_DECISIONS]:
                if not _take(workflow, bundle, decision, sim):
                    break
                applied += 1
        except Stopped as stopped:
            stop = stopped.stop
        tasks = [t for wf in (workflow, *workflow.subprocesses.values())
                 for t in wf.get_tasks(skip_subprocesses=True) if t.task_spec.bpmn_id]
        done = sorted((t for t in tasks if t.state == TaskState.COMPLETED),
                      key=lambda t: t.last_state_change)
        open_now = [t for t in tasks if t.has_state(TaskState.READY | TaskState.WAITING)]
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        timers = []
        for task in workflow.get_tasks(state=TaskState.WAITING):
            due = rows.moment(task._get_internal_data("event_value"))
            if due is not None:
                timers.append({"element": task.task_spec.bpmn_id,
                               "name": step_label(task.task_spec), "due_at": due.isoformat()})
    return {"completed": workflow.completed, "stop": stop, "applied": applied,
            "path": [t.task_spec.bpmn_id for t in done],
            "flows": _flows(bundle.files, sorted([*done, *open_now],
                                                 key=lambda t: t.last_state_change)),
            "ready": [{"element": t.task_spec.bpmn_id, "name": step_label(t.task_spec),
                       "role": t.task_spec.lane or "", "form": rows.form_path(t.task_spec)}
                      for t in ready],
            "timers": sorted(timers, key=lambda t: t["due_at"]), "effects": engine.effects,
            "files": bundle.files}


def _calendar(p):
    with p.db.read() as session:
        return load_calendar(session)


def _advance(workflow) -> None:
    try:
        workflow.refresh_timers()
        workflow.do_engine_steps()
    except Exception as exc:
        raise why_stopped(workflow, exc) from None


def _take(workflow, bundle, decision: dict, sim) -> bool:
    """Apply one decision; False when its step is not waiting (the run has changed)."""
    if decision.get("timer"):
        for task in workflow.get_tasks(state=TaskState.WAITING):
            if task.task_spec.bpmn_id == decision["timer"]:
                due = rows.moment(task._get_internal_data("event_value"))
                sim.moment = max(sim.moment, due) if due else sim.moment
                task._set_internal_data(event_fired=True)
                _advance(workflow)
                return True
        return False
    ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
             if t.task_spec.bpmn_id == decision.get("task")]
    if not ready:
        return False
    task = ready[0]
    data = dict(decision.get("data") or {})
    path = rows.form_path(task.task_spec)
    if path and path in bundle.files:
        schema = json.loads(bundle.files[path])
        keep = {name: "mẫu" for name in forms.document_fields(schema)}
        data = {**forms.validate(schema, data, keep=keep)}
    task.data.update(data)
    try:
        task.run()
    except Exception as exc:
        raise why_stopped(workflow, exc) from None
    _advance(workflow)
    return True

