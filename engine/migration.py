"""Moving running dossiers from one version of their procedure to another.

A dossier keeps the version it was submitted on until an analyst moves it. Moving uses
SpiffWorkflow's own diff and migration (``SpiffWorkflow.bpmn.util.diff``): the saved
workflow is compared with the target version's specs (:class:`SpecDiff` /
:class:`WorkflowDiff` for the process and every sub-process it has entered), and
``migrate_workflow`` re-points every task at its aligned spec and re-predicts the
branches below the tasks the dossier waits on.

What may move (decided per dossier, the same way by :func:`preview` and :func:`migrate`):

- every task the dossier sits on (ready, waiting, started) still exists in the target,
  with the same id, and changed at most harmlessly: its name, documentation, incoming or
  outgoing flows (what comes *after* it is re-predicted from the new diagram) and its
  ``spiffworkflow:properties`` (form, ``dueIn``, ``signDocument``…, which the open
  human-task row then takes over). A changed lane, kind of element, timer or message,
  script, or other extension of such a task blocks the move, naming the element;
- every step the dossier has already passed still exists (the saved history names specs);
- parallel branches or attached events that were already started (for example the
  deadline timers on the sub-process being handled) are the same in the target;
- after the trial migration, every task of the workflow belongs to the target's specs and
  the state survives a save/restore round trip.

Waiting timers keep their computed due time (a reset would restart relative durations).
Moving runs through :func:`engine.runtime.run_step`, so it is one transaction per dossier
that locks the dossier row, advances the engine, saves the state and re-syncs the
human-task and timer rows; it is audited as ``migrate`` with ``{from, to}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from . import audit, runtime
from .calendar import load_calendar
from .errors import EngineError
from .models import Dossier, HumanTask, Instance, ProcedureVersion
from .operators import StepContext
from .scripting import MotcuaScriptEngine, make_evaluator
from .spiff import REGISTRY, SPECS, dump_state, load_state
from .step import rows
from .versions import find_version, procedure_row

SITTING = TaskState.READY | TaskState.WAITING | TaskState.STARTED
UNSURE = TaskState.PREDICTED_MASK | TaskState.FUTURE
HARMLESS = {"bpmn_name", "documentation", "inputs", "outputs"}
MULTI_INSTANCE_KEYS = ("key_or_index", "item")
READABLE = {"typename": "kind of element", "lane": "lane", "cond_task_specs": "conditions",
            "default_task_spec": "default flow", "prescript": "pre-script",
            "postscript": "post-script", "io_specification": "inputs/outputs",
            "data_input_associations": "data inputs", "data_output_associations": "data outputs",
            "spec": "sub-process", "script": "script", "name": "id", "bpmn_id": "id",
            "manual": "manual", "cancel_activity": "interrupting", "operation_name": "operator",
            "operation_params": "parameters"}
VI = {"kind of element": "loại phần tử", "lane": "làn (vai trò)", "conditions": "điều kiện",
      "default flow": "luồng mặc định", "timer": "hẹn giờ", "event": "sự kiện",
      "pre-script": "kịch bản trước", "post-script": "kịch bản sau", "script": "kịch bản",
      "sub-process": "tiến trình con", "interrupting": "kiểu ngắt", "parameters": "tham số"}


@dataclass
class Verdict:
    """Why a dossier cannot move, in English and Vietnamese (empty: it can)."""

    en: list[str] = field(default_factory=list)
    vi: list[str] = field(default_factory=list)

    def add(self, en: str, vi: str) -> None:
        if en not in self.en:
            self.en.append(en)
            self.vi.append(vi)

    def __bool__(self) -> bool:
        return bool(self.en)

    @property
    def reason(self) -> str:
        return _sentence(self.en)

    @property
    def reason_vi(self) -> str:
        return _sentence(self.vi)


class _Refused(Exception):
    """Raised inside the step to roll the move back; ``args[0]`` is the :class:`Verdict`."""


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + ("." if text else "")


def _label(spec) -> str:
    element = spec.bpmn_id or spec.name.split(".")[0]
    return f"{element} ({spec.bpmn_name})" if spec.bpmn_name else element


def _workflows(workflow) -> list:
    return [workflow, *workflow.subprocesses.values()]


def _specs(workflow, target: ProcedureVersion) -> tuple:
    """The target version's spec for the process this workflow runs (a dossier of a
    cooperating process runs one of the version's other processes) and its sub-processes."""
    return SPECS.get(target, getattr(workflow, "process_id", None))


def _diffs(workflow, target: ProcedureVersion, verdict: Verdict) -> list[tuple] | None:
    """``[(workflow, SpecDiff, WorkflowDiff, new spec)]`` for the process and each sub-process."""
    try:
        spec, deps = _specs(workflow, target)
    except KeyError:
        verdict.add(f"the process {workflow.process_id} is not in version {target.number}",
                    f"quy trình {workflow.process_id} không có trong phiên bản {target.number}")
        return None
    out = []
    try:
        for wf in _workflows(workflow):
            new = spec if wf is workflow else deps.get(wf.spec.name)
            if new is None:
                verdict.add(f"the sub-process {wf.spec.name} is not in version {target.number}",
                            f"tiến trình con {wf.spec.name} không có trong phiên bản "
                            f"{target.number}")
                continue
            spec_diff = SpecDiff(REGISTRY, wf.spec, new)
            out.append((wf, spec_diff, WorkflowDiff(wf, spec_diff), new))
    except Exception as exc:  # the library raises plain errors on shapes it cannot align
        verdict.add(f"version {target.number} could not be compared with this dossier: {exc}",
                    f"không so sánh được phiên bản {target.number} với hồ sơ này: {exc}")
        return None
    return out


def assess(workflow, target: ProcedureVersion) -> tuple[Verdict, list[tuple] | None]:
    """Decide from the diff whether ``workflow`` may move to ``target`` (before trying)."""
    verdict = Verdict()
    diffs = _diffs(workflow, target, verdict)
    n = target.number
    for wf, spec_diff, wf_diff, _new in diffs or []:
        removed = {t.id for t in wf_diff.removed}
        for task in wf.get_tasks(skip_subprocesses=True):
            old, label = task.task_spec, _label(task.task_spec)
            if task.has_state(UNSURE):
                continue  # predicted: re-predicted from the new diagram, checked afterwards
            if task.id in removed:
                if task.has_state(SITTING):
                    verdict.add(f"{label} is where the dossier is now and is not in version {n}",
                                f"{label} là bước hồ sơ đang dừng nhưng không có trong phiên "
                                f"bản {n}")
                else:
                    verdict.add(f"{label}, which the dossier has passed, is not in version {n}",
                                f"{label}, bước hồ sơ đã qua, không có trong phiên bản {n}")
                continue
            new = wf_diff.alignment[task]
            if new.name != old.name:  # aligned by position, under another id
                verdict.add(f"{label} is not in version {n} (its place there is {new.name})",
                            f"{label} không có trong phiên bản {n} (thay bằng {new.name})")
                continue
            keys = spec_diff.changed.get(old, [])
            if task.has_state(SITTING):
                what = incompatible(old, new, keys)
                if what:
                    vi = ", ".join(VI.get(w, w) for w in what)
                    verdict.add(f"{label}, where the dossier is now, changed in version {n} "
                                f"({', '.join(what)})",
                                f"{label}, bước hồ sơ đang dừng, đã thay đổi trong phiên bản {n} "
                                f"({vi})")
            elif _split_changed(task, old, new, keys):
                verdict.add(f"the branches already started at {label} differ in version {n}",
                            f"các nhánh đã bắt đầu tại {label} khác đi trong phiên bản {n}")
    return verdict, diffs


def incompatible(old, new, keys: list[str]) -> list[str]:
    """The changes in ``keys`` that a dossier sitting on ``old`` cannot carry over."""
    out = []
    for key in keys:
        if key in HARMLESS:
            continue
        if key == "extensions":
            a = {k: v for k, v in (old.extensions or {}).items() if k != "properties"}
            b = {k: v for k, v in (new.extensions or {}).items() if k != "properties"}
            out += [f"extension {k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif key == "event_definition":
            a, b = (_event(old.event_definition), _event(new.event_definition))
            if a != b:
                out.append("timer" if isinstance(old.event_definition, TimerEventDefinition)
                           else "event")
        else:
            out.append(READABLE.get(key, key))
    return out


def _event(definition) -> dict:
    dct = REGISTRY.convert(definition)
    return {k: v for k, v in dct.items() if k not in ("name", "description")}


def _split_changed(task, old, new, keys: list[str]) -> bool:
    """A passed split (parallel gateway, the events attached to an activity…) whose branches
    are still running and whose outgoing branches changed: the new branches would never start."""
    if "outputs" not in keys or isinstance(old, ExclusiveGateway):
        return False
    if max(len(old.outputs), len(new.outputs)) < 2:
        return False
    return any(child.has_state(SITTING) for child in task.children)


def apply(workflow, target: ProcedureVersion, diffs: list[tuple]) -> None:
    """Migrate ``workflow`` in place onto ``target``'s specs (its script engine must be ours:
    resetting a waiting timer evaluates its expression)."""
    spec, deps = _specs(workflow, target)
    timers = {t.id: dict(t.internal_data) for wf in _workflows(workflow)
              for t in wf.get_tasks(state=TaskState.WAITING, skip_subprocesses=True)
              if isinstance(getattr(t.task_spec, "event_definition", None),
                            TimerEventDefinition)}
    # The library resets every ready and waiting task when it migrates, which takes from a
    # multi-instance child its place in the collection (its output would land nowhere) and
    # its item (the vehicle it is about): both kept here and given back.
    instances = {t.id: _instance_of(t) for wf in _workflows(workflow)
                 for t in wf.get_tasks(state=SITTING, skip_subprocesses=True)
                 if any(k in t.internal_data for k in MULTI_INSTANCE_KEYS)}
    owners = {sp_id: runtime.find_task(workflow, str(sp_id)) for sp_id in workflow.subprocesses}
    old_specs = {sp_id: task.task_spec for sp_id, task in owners.items() if task is not None}
    for wf, _spec_diff, wf_diff, new in diffs:
        migrate_workflow(wf_diff, wf, new)
    workflow.subprocess_specs = deps
    for sp_id, sp in workflow.subprocesses.items():
        task = owners.get(sp_id)
        if task is not None and sp_id in old_specs:
            sp.completed_event.disconnect(old_specs[sp_id]._on_subworkflow_completed)
            sp.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
    for wf in _workflows(workflow):
        for task in list(wf.get_tasks(state=TaskState.STARTED, skip_subprocesses=True)):
            _repredict(task)
        for task in wf.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
            if task.id in timers:
                task.internal_data = timers[task.id]
        for task in wf.get_tasks(state=SITTING, skip_subprocesses=True):
            if task.id in instances:
                place, item = instances[task.id]
                task.internal_data = {**place, **task.internal_data}
                task.data = {**item, **task.data}


def _instance_of(task) -> tuple[dict, dict]:
    """A multi-instance child's place (``key_or_index``, ``item``) and its item variable."""
    place = {k: task.internal_data[k] for k in MULTI_INSTANCE_KEYS if k in task.internal_data}
    item_spec = getattr(task.parent.task_spec, "input_item", None) if task.parent else None
    name = getattr(item_spec, "bpmn_id", None)
    item = {name: task.data[name]} if name and name in task.data else {}
    return place, item


def _repredict(task) -> None:
    """Replace the predicted branch below a started task (a sub-process being handled) with
    one predicted from its new spec, as the library does for ready and waiting tasks."""
    for child in list(task.children):
        if child.has_state(UNSURE):
            task.workflow._remove_task(child.id)
    task.task_spec._predict_hook(task)
    for child in task.children:
        child.task_spec._predict(child, mask=UNSURE)


def verify(workflow, target: ProcedureVersion) -> Verdict:
    """After :func:`apply`: every task is on the target's specs and the state round-trips."""
    verdict = Verdict()
    spec, deps = _specs(workflow, target)
    n = target.number
    for wf in _workflows(workflow):
        owner = spec if wf is workflow else deps.get(wf.spec.name)
        for task in wf.tasks.values():
            if owner is None or owner.task_specs.get(task.task_spec.name) is not task.task_spec:
                label = _label(task.task_spec)
                verdict.add(f"{label} is not in version {n}",
                            f"{label} không có trong phiên bản {n}")
    if not verdict:
        try:
            load_state(dump_state(workflow), target)
        except Exception as exc:
            verdict.add(f"the moved state could not be restored: {exc}",
                        f"không khôi phục được trạng thái sau khi chuyển: {exc}")
    return verdict


def trial(workflow, target: ProcedureVersion) -> Verdict:
    """Assess, and if that passes, migrate ``workflow`` in place and verify the result."""
    verdict, diffs = assess(workflow, target)
    if verdict:
        return verdict
    try:
        apply(workflow, target, diffs)
    except Exception as exc:
        verdict.add(f"moving failed: {exc}", f"chuyển phiên bản thất bại: {exc}")
        return verdict
    return verify(workflow, target)


def _candidates(session, procedure, target, codes: list[str] | None) -> list[tuple]:
    query = (select(Dossier.id, Dossier.code, Dossier.version_id, Dossier.finished_at,
                    Dossier.status, ProcedureVersion.number)
             .join(ProcedureVersion, ProcedureVersion.id == Dossier.version_id)
             .where(Dossier.procedure_id == procedure.id).order_by(Dossier.code))
    if codes is None:
        query = query.where(Dossier.finished_at.is_(None), Dossier.version_id != target.id)
    else:
        query = query.where(Dossier.code.in_(codes))
    return session.execute(query).all()


def preview(p, code: str, *, to_version: int | None = None) -> list[dict]:
    """Every unfinished dossier of the procedure on another version than ``to_version``
    (default: the active version), whether it can move there and, if not, why."""
    with p.db.transaction() as session:
        procedure = procedure_row(session, code)
        target = find_version(session, procedure, to_version)
        rows = _candidates(session, procedure, target, None)
    out = []
    for dossier_id, dossier_code, _vid, _fin, status, number in rows:
        with p.db.transaction() as session:
            dossier = session.get(Dossier, dossier_id)
            target = session.get(ProcedureVersion, target.id)
            workflow = load_state(session.get(Instance, dossier_id).state,
                                          dossier.version)
            workflow.script_engine = _sandbox(p, session, dossier)
            verdict = trial(workflow, target)
        out.append({"code": dossier_code, "from_version": number, "to_version": target.number,
                    "can_move": not verdict, "reason": verdict.reason,
                    "reason_vi": verdict.reason_vi, "status": status})
    return out


def _sandbox(p, session, dossier: Dossier) -> MotcuaScriptEngine:
    """An engine for evaluating timer expressions during a trial; it runs no operators, but
    its helpers see the dossier (``appointment()``)."""
    calendar = load_calendar(session)
    context = StepContext(platform=p, session=session, dossier=dossier,
                          version=dossier.version, calendar=calendar)
    return MotcuaScriptEngine(None, make_evaluator(calendar, p.settings.script_timeout_seconds,
                                                   step=context))


def migrate(p, code: str, *, dossier_codes: list[str] | None = None,
            to_version: int | None = None, actor: str) -> list[dict]:
    """Move dossiers of the procedure to ``to_version`` (default: the active version), each in
    its own transaction; those that cannot move are skipped with the reason. ``dossier_codes``
    None means every unfinished dossier on another version."""
    with p.db.transaction() as session:
        procedure = procedure_row(session, code)
        target = find_version(session, procedure, to_version)
        rows = _candidates(session, procedure, target, dossier_codes)
    found = {row[1] for row in rows}
    out = [_result(c, None, target, Verdict([f"there is no dossier {c} of procedure {code}"],
                                            [f"không có hồ sơ {c} của thủ tục {code}"]))
           for c in (dossier_codes or []) if c not in found]
    for dossier_id, dossier_code, version_id, finished_at, _status, number in rows:
        if finished_at is not None or version_id == target.id:
            out.append(_result(dossier_code, number, target, _settled(finished_at, target)))
        else:
            out.append(_move_one(p, dossier_id, dossier_code, number, target, actor))
    return out


def _settled(finished_at, target) -> Verdict:
    if finished_at is not None:
        return Verdict(["the dossier is finished"], ["hồ sơ đã kết thúc"])
    return Verdict([f"the dossier is already on version {target.number}"],
                   [f"hồ sơ đã ở phiên bản {target.number}"])


def _result(code: str, number: int | None, target, verdict: Verdict | None) -> dict:
    """One line of :func:`migrate`'s answer; ``verdict`` None means it moved."""
    moved = verdict is None
    if moved:
        verdict = Verdict([f"moved from version {number} to version {target.number}"],
                          [f"đã chuyển từ phiên bản {number} sang phiên bản {target.number}"])
    return {"code": code, "moved": moved, "from_version": number, "to_version": target.number,
            "reason": verdict.reason, "reason_vi": verdict.reason_vi}


def _move_one(p, dossier_id: int, code: str, number: int, target, actor: str) -> dict:
    try:
        with p.db.transaction() as session:
            target_row = session.get(ProcedureVersion, target.id)
            number = runtime.run_step(p, dossier_id, lambda step: _move(step, target_row, actor),
                                      actor=actor, session=session)
    except _Refused as refused:
        return _result(code, number, target, refused.args[0])
    except EngineError as exc:  # the engine failed advancing on the new version: rolled back
        return _result(code, number, target, Verdict([f"moving failed: {exc.message}"],
                                                     [f"chuyển phiên bản thất bại: {exc.vi}"]))
    return _result(code, number, target, None)


def _move(step: runtime.Step, target: ProcedureVersion, actor: str) -> int:
    """The step action: under the dossier's lock, check again, migrate, re-point the dossier."""
    dossier, source = step.dossier, step.version
    if dossier.version_id == target.id or dossier.finished_at is not None:
        verdict = _settled(dossier.finished_at, target)
    else:
        verdict = trial(step.workflow, target)
    if verdict:
        raise _Refused(verdict)
    dossier.version = target
    dossier.version_id = target.id
    step.version = step.context.version = target
    _refresh_rows(step)
    audit.append(step.session, actor=actor, action="migrate", dossier_id=dossier.id,
                 detail={"from": source.number, "to": target.number})
    return source.number


def _refresh_rows(step: runtime.Step) -> None:
    """Give the open human-task rows what the new spec of their task says — the same columns
    a step writes for a new row (:func:`engine.step.rows.describe`: title, multi-instance
    label, role, form, properties), and the due date again when ``dueIn`` changed. Claims
    are kept."""
    open_rows = step.session.execute(select(HumanTask).where(
        HumanTask.dossier_id == step.dossier.id, HumanTask.status == "open")).scalars().all()
    for row in open_rows:
        task = step.task(row.task_guid)
        if task is None or task.state != TaskState.READY:
            continue  # the step cancels it when it writes its rows
        values = rows.describe(task)
        if values["properties"].get("dueIn") != (row.properties or {}).get("dueIn"):
            row.due_at = rows.due_at(task, step.workflow.script_engine.evaluate)
        for name in ("title", "spec_name", "role_code", "form", "properties"):
            setattr(row, name, values[name])
