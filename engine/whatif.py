"""What-if before deploying (thử trước khi triển khai): replay finished dossiers on a draft.

The last finished dossiers of a procedure (by default those finished in the last three
months) are run again, in memory, on a draft bundle's diagram:

- each dossier starts with the data it was filed with, received when it was received;
- every user task the draft reaches takes the decision and data recorded for that step
  (the ``human_task`` rows, in order, so a step met twice takes its two records in turn),
  checked against the draft's form for the step, and lasts as long as it really took;
  a step the dossier never met (one the draft adds) takes no data and the median time
  of its role's recorded steps;
- timers fire when simulated time reaches them; service tasks are recorded, not run:
  no e-mail, no signature, no number issued. The one effect kept is the clock: a
  ``set_status`` to the paused status stops it as the portal does, so supplements do
  not count against the deadline.

Time is simulated per thread (:func:`engine.clock.simulated`). The database is only read,
once, in a read transaction: nothing is written to any table. The report says how many
dossiers the draft completes, where the others stop and why, the processing time in
working days and the on-time share under the draft's deadline, and each role's workload.
"""

from __future__ import annotations

import ast
import json
import statistics
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from . import bundles, clock, deadlines, forms
from .calendar import WorkingCalendar, load_calendar
from .errors import InvalidData
from .models import Agency, Dossier, HumanTask, Procedure, Role, User
from .operators import REGISTRY
from .scripting import MotcuaScriptEngine, check_expression, make_evaluator
from .spiff import MotcuaWorkflow
from .step import rows
from .vocabulary import PAUSED_STATUS

DEFAULT_MONTHS = 3
MAX_DOSSIERS = 5000
MAX_ACTIONS = 500  # user tasks and timers per dossier: a draft that loops for ever stops
DEFAULT_STEP = timedelta(days=1)


@dataclass
class TaskRecord:
    spec_name: str
    role: str
    created_at: datetime
    completed_at: datetime | None
    status: str
    data: dict


@dataclass
class DossierRecord:
    code: str
    channel: str
    received_at: datetime
    finished_at: datetime
    due_at: datetime | None
    status: str
    paused_working_days: int
    initial: dict
    tasks: list[TaskRecord] = field(default_factory=list)


@dataclass
class Outcome:
    """One dossier replayed on the draft."""

    code: str
    completed: bool = False
    stop: dict | None = None  # {element, name, kind, message, message_vi}
    predicted_days: int | None = None
    on_time: bool | None = None
    actual_days: int = 0
    actual_on_time: bool | None = None
    workload: dict = field(default_factory=lambda: defaultdict(lambda: [0, timedelta(0)]))
    effects: list[str] = field(default_factory=list)  # operators recorded, not run


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def finished_dossiers(p, code: str, *, since: datetime | None = None,
                      limit: int | None = None) -> tuple[list[DossierRecord], WorkingCalendar]:
    """The finished dossiers of procedure ``code`` (newest first: the last ``limit``, or
    those finished since ``since``, default the last three months) with their task
    rows, and the working calendar; one read transaction."""
    if limit is None and since is None:
        since = clock.now() - timedelta(days=round(DEFAULT_MONTHS * 30.44))
    with p.db.read() as session:
        query = (select(Dossier, Agency.code, Agency.name_vi, User.full_name, User.email,
                        User.id_number)
                 .join(Procedure, Procedure.id == Dossier.procedure_id)
                 .join(Agency, Agency.id == Dossier.agency_id)
                 .join(User, User.id == Dossier.applicant_id)
                 .where(Procedure.code == code, Dossier.finished_at.is_not(None),
                        Dossier.parent_id.is_(None))
                 .order_by(Dossier.finished_at.desc(), Dossier.id.desc())
                 .limit(min(limit or MAX_DOSSIERS, MAX_DOSSIERS)))
        if since is not None:
            query = query.where(Dossier.finished_at >= since)
        found = {}
        for dossier, agency_code, agency_name, name, email, id_number in session.execute(query):
            found[dossier.id] = DossierRecord(
                code=dossier.code, channel=dossier.channel or "online",
                received_at=_aware(dossier.received_at), finished_at=_aware(dossier.finished_at),
                due_at=_aware(dossier.due_at), status=dossier.status,
                paused_working_days=dossier.paused_working_days or 0,
                initial={"code": dossier.code, "agency_code": agency_code,
                         "agency_name": agency_name, "procedure": code,
                         "applicant": {"name": name, "email": email, "id_number": id_number},
                         "application": dict(dossier.data or {})})
        if found:
            for task in session.execute(
                    select(HumanTask).where(HumanTask.dossier_id.in_(found))
                    .order_by(HumanTask.created_at, HumanTask.id)).scalars():
                found[task.dossier_id].tasks.append(TaskRecord(
                    task.spec_name, task.role_code, _aware(task.created_at),
                    _aware(task.completed_at), task.status, dict(task.data or {})))
        calendar = load_calendar(session)
    return list(found.values()), calendar


class RecordingEngine(MotcuaScriptEngine):
    """The sandboxed script engine whose service tasks only record what they would do.
    A status change to the paused status stops the simulated clock, as the portal does."""

    def __init__(self, evaluator, on_status: Callable[[str], None]):
        super().__init__(None, evaluator)
        self.on_status = on_status
        self.effects: list[str] = []

    def call_service(self, task, operation_name=None, operation_params=None,
                     **kwargs) -> str:
        self.effects.append(operation_name or "")
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        if operation_name == "set_status" and isinstance(params.get("status"), str):
            self.on_status(params["status"])
        return "{}"


def step_label(task_spec) -> str:
    return task_spec.bpmn_name or task_spec.bpmn_id or task_spec.name


class Stopped(Exception):
    def __init__(self, task_spec, kind: str, message: str, message_vi: str):
        super().__init__(message)
        self.stop = {"element": getattr(task_spec, "bpmn_id", "") or "",
                     "name": step_label(task_spec) if task_spec is not None else "",
                     "kind": kind, "message": message, "message_vi": message_vi}


def _names_in(expression: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(ast.parse(expression, mode="eval"))
                if isinstance(n, ast.Name)}
    except SyntaxError:
        return set()


def why_stopped(workflow, exc: Exception) -> Stopped:
    """Why the engine failed: a gateway with no path for the recorded decision, or a
    diagram error."""
    failed = workflow.get_tasks(state=TaskState.ERROR)
    task = failed[-1] if failed else None
    spec = getattr(exc, "task_spec", None) or (task.task_spec if task else None)
    conditions = getattr(spec, "cond_task_specs", None)
    if task is not None and conditions:
        names = set()
        for condition, _target in conditions:
            if condition is not None and condition.args:
                names |= _names_in(condition.args[0])
        values = ", ".join(f"{n} = {task.data[n]!r}" for n in sorted(names) if n in task.data)
        values = values or "-"
        return Stopped(spec, "decision",
                       f"gateway '{step_label(spec)}' has no path for {values}",
                       f"cổng '{step_label(spec)}' không có nhánh cho {values}")
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Stopped(spec, "error", f"the diagram fails at '{step_label(spec) if spec else '?'}': "
                                   f"{message}",
                    f"sơ đồ lỗi tại '{step_label(spec) if spec else '?'}': {message}")


class _Replay:
    """One dossier on the draft, in simulated time."""

    def __init__(self, bundle: bundles.Bundle, record: DossierRecord,
                 calendar: WorkingCalendar, typical: dict[str, timedelta]):
        self.bundle, self.record, self.calendar, self.typical = bundle, record, calendar, typical
        self.outcome = Outcome(record.code)
        self.due = deadlines.initial_due_at(calendar, bundle.meta, record.received_at,
                                            record.channel)
        self.paused_since: datetime | None = None
        self.paused_days = 0
        self.queues: dict[str, deque] = defaultdict(deque)
        for task in record.tasks:
            if task.status == "completed" and task.completed_at is not None:
                self.queues[task.spec_name].append(task)

    def on_status(self, status: str) -> None:
        now = clock.now()
        if status == PAUSED_STATUS and self.paused_since is None:
            self.paused_since = now
        elif status != PAUSED_STATUS and self.paused_since is not None:
            days = deadlines.working_days_elapsed(self.calendar, self.paused_since, now)
            self.paused_days += days
            self.due = deadlines.shift_working_days(self.calendar, self.due, days)
            self.step.dossier.due_at = self.due
            self.paused_since = None

    def run(self) -> Outcome:
        record = self.record
        self.step = SimpleNamespace(dossier=SimpleNamespace(due_at=self.due))
        engine = RecordingEngine(make_evaluator(self.calendar, step=self.step), self.on_status)
        with clock.simulated(record.received_at) as self.sim:
            workflow = MotcuaWorkflow(self.bundle.spec, self.bundle.subprocess_specs,
                                      script_engine=engine)
            initial = dict(record.initial)
            data = {"dossier": {**{k: v for k, v in initial.items() if k != "application"},
                                "received_at": record.received_at.isoformat(),
                                "due_at": self.due.isoformat()},
                    "application": initial["application"]}
            for task in workflow.get_tasks(state=TaskState.READY):
                task.set_data(**data)
            try:
                self._advance(workflow)
                self._walk(workflow)
            except Stopped as stopped:
                self.outcome.stop = stopped.stop
        self.outcome.effects = engine.effects
        self.outcome.actual_days = max(0, deadlines.working_days_elapsed(
            self.calendar, record.received_at, record.finished_at) - record.paused_working_days)
        if record.due_at is not None:
            self.outcome.actual_on_time = record.finished_at <= record.due_at
        return self.outcome

    def _advance(self, workflow) -> None:
        try:
            workflow.refresh_timers()
            workflow.do_engine_steps()
        except Exception as exc:  # the draft cannot go on: say where and why
            raise why_stopped(workflow, exc) from None

    def _timers(self, workflow) -> list[tuple[datetime, object]]:
        found = []
        for task in workflow.get_tasks(state=TaskState.WAITING):
            due = rows.moment(task._get_internal_data("event_value"))
            if due is not None:
                found.append((due, task))
        return sorted(found, key=lambda item: item[0])

    def _fire(self, workflow, due: datetime, task) -> None:
        self.sim.moment = max(self.sim.moment, due)
        if task.state == TaskState.WAITING:
            task._set_internal_data(event_fired=True)
        self._advance(workflow)

    def _walk(self, workflow) -> None:
        for _ in range(MAX_ACTIONS):
            if workflow.completed:
                self._finish()
                return
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if ready:
                self._complete(workflow, ready[0])
                continue
            timers = self._timers(workflow)
            if timers:
                self._fire(workflow, *timers[0])
                continue
            waiting = workflow.get_tasks(state=TaskState.WAITING)
            names = ", ".join(sorted({step_label(t.task_spec) for t in waiting})) or "?"
            raise Stopped(waiting[0].task_spec if waiting else None, "waiting",
                          f"waits at '{names}' for a message or event the replay cannot give",
                          f"chờ tại '{names}' một thông điệp hoặc sự kiện mà bản chạy thử "
                          "không có")
        raise Stopped(None, "loop", f"more than {MAX_ACTIONS} steps: does the draft loop?",
                      f"quá {MAX_ACTIONS} bước: sơ đồ nháp có lặp vô hạn?")

    def _complete(self, workflow, task) -> None:
        spec = task.task_spec
        name = rows.spec_name(task)
        role = spec.lane or ""
        queue = self.queues[name]
        recorded = queue.popleft() if queue else None
        if recorded is not None:
            took, data = recorded.completed_at - recorded.created_at, recorded.data
        else:
            took, data = self.typical.get(role) or self.typical.get("") or DEFAULT_STEP, {}
        self._check_form(spec, data)
        finish = self.sim.moment + max(took, timedelta(0))
        for due, timer in self._timers(workflow):
            if due > finish:
                break
            self._fire(workflow, due, timer)
            if task.state != TaskState.READY:  # a timer took the dossier elsewhere
                if recorded is not None:
                    queue.appendleft(recorded)
                return
        self.sim.moment = max(self.sim.moment, finish)
        load = self.outcome.workload[role]
        load[0] += 1
        load[1] += max(took, timedelta(0))
        task.data.update(data)
        try:
            task.run()
        except Exception as exc:
            raise why_stopped(workflow, exc) from None
        self._advance(workflow)

    def _check_form(self, spec, data: dict) -> None:
        path = rows.form_path(spec)
        if not path or path not in self.bundle.files:
            return
        schema = json.loads(self.bundle.files[path])
        try:
            forms.validate(schema, data)
        except InvalidData as err:
            fields = ", ".join(sorted({d.get("field") or "?" for d in err.details}))
            raise Stopped(spec, "form",
                          f"step '{step_label(spec)}': the draft's form refuses the recorded "
                          f"data ({fields})",
                          f"bước '{step_label(spec)}': biểu mẫu của bản nháp không nhận dữ liệu "
                          f"đã ghi ({fields})") from None

    def _finish(self) -> None:
        end = self.sim.moment
        if self.paused_since is not None:
            self.on_status("")
        self.outcome.completed = True
        self.outcome.predicted_days = max(0, deadlines.working_days_elapsed(
            self.calendar, self.record.received_at, end) - self.paused_days)
        self.outcome.on_time = end <= self.due


def typical_durations(records: list[DossierRecord]) -> dict[str, timedelta]:
    """The median time a step of each role took (``""``: of any role)."""
    by_role: dict[str, list[timedelta]] = defaultdict(list)
    for record in records:
        for task in record.tasks:
            if task.status == "completed" and task.completed_at is not None:
                took = task.completed_at - task.created_at
                by_role[task.role].append(took)
                by_role[""].append(took)
    return {role: statistics.median(values) for role, values in by_role.items()}


def parse_draft(p, files: dict[str, str]) -> bundles.Bundle:
    """The draft bundle, validated as deploy would (raises :class:`InvalidBundle`)."""
    with p.db.read() as session:
        roles = set(session.execute(select(Role.code)).scalars())
    checker = check_expression(make_evaluator(WorkingCalendar()))
    return bundles.parse(files, known_roles=roles, operators=REGISTRY,
                         expression_checker=checker)


def replay(p, code: str, files: dict[str, str], *, since: datetime | None = None,
           limit: int | None = None,
           progress: Callable[[int, int], None] | None = None) -> dict:
    """Replay procedure ``code``'s finished dossiers on draft ``files``; the report."""
    bundle = parse_draft(p, files)
    records, calendar = finished_dossiers(p, code, since=since, limit=limit)
    typical = typical_durations(records)
    outcomes = []
    for i, record in enumerate(records, 1):
        outcomes.append(_Replay(bundle, record, calendar, typical).run())
        if progress is not None:
            progress(i, len(records))
    return report(outcomes)


def _mean(values: list[int]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def report(outcomes: list[Outcome]) -> dict:
    """What an analyst reads: completions, stops grouped by place and reason, processing
    time and on-time share (predicted beside actual), workload per role."""
    done = [o for o in outcomes if o.completed]
    stops: dict[tuple, dict] = {}
    for o in outcomes:
        if o.stop is None:
            continue
        key = (o.stop["element"], o.stop["kind"], o.stop["message"])
        stops.setdefault(key, {**o.stop, "dossiers": []})["dossiers"].append(o.code)
    workload: dict[str, dict] = {}
    for o in outcomes:
        for role, (count, took) in o.workload.items():
            entry = workload.setdefault(role, {"role": role, "tasks": 0, "hours": 0.0})
            entry["tasks"] += count
            entry["hours"] = round(entry["hours"] + took.total_seconds() / 3600, 1)
    return {
        "dossiers": len(outcomes),
        "completed": len(done),
        "stopped": sorted(stops.values(), key=lambda s: -len(s["dossiers"])),
        "predicted_days": _mean([o.predicted_days for o in done]),
        "actual_days": _mean([o.actual_days for o in outcomes]),
        "predicted_on_time": _share([bool(o.on_time) for o in done]),
        "actual_on_time": _share([o.actual_on_time for o in outcomes
                                  if o.actual_on_time is not None]),
        "workload": sorted(workload.values(), key=lambda w: w["role"]),
        "effects_recorded": sum(len(o.effects) for o in outcomes),
        "outcomes": [{"code": o.code, "completed": o.completed, "stop": o.stop,
                      "predicted_days": o.predicted_days, "actual_days": o.actual_days,
                      "on_time": o.on_time} for o in outcomes],
    }
