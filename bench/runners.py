"""One lifecycle of the scenario, in memory or through the engine, and batches of them.

A lifecycle is the scenario file's steps (bpmn/transport-business-licence/scenarios/
approve-and-sign.yaml): submit, then for each step find the open task, claim it when the
step says so and complete it with the step's data (and passphrase). Every action's wall
time is recorded under its name.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bench import fixtures
from engine import clock, dossiers, tasks
from engine.calendar import WorkingCalendar
from engine.scripting import MotcuaScriptEngine, make_evaluator


@dataclass
class Batch:
    """Lifecycles run, wall and process CPU seconds, and each action's durations (s)."""

    lifecycles: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    threads: int = 1
    actions: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def per_second(self) -> float:
        return self.lifecycles / self.wall if self.wall else 0.0

    def summary(self) -> dict:
        acts = {name: {"count": len(v), "mean_ms": 1000 * sum(v) / len(v),
                       "p50_ms": 1000 * sorted(v)[len(v) // 2],
                       "p95_ms": 1000 * sorted(v)[min(len(v) - 1, int(len(v) * 0.95))]}
                for name, v in self.actions.items()}
        return {"lifecycles": self.lifecycles, "threads": self.threads,
                "wall_s": self.wall, "cpu_s": self.cpu, "lifecycles_per_s": self.per_second,
                "ms_per_lifecycle": 1000 * self.wall / self.lifecycles,
                "cpu_ms_per_lifecycle": 1000 * self.cpu / self.lifecycles, "actions": acts}


class _Recorder:
    def __init__(self, actions: dict[str, list[float]]):
        self.actions = actions
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.actions[name].append(now - self.last)
        self.last = now


# -- in memory -------------------------------------------------------------------------

class NullServiceEngine(MotcuaScriptEngine):
    """The engine's sandboxed script engine, with service tasks that do nothing."""

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        return "{}"


def initial_data(scenario: dict, number: int, calendar: WorkingCalendar,
                 files: dict) -> dict:
    """The data the engine would start the process with (engine.dossiers.initial_data)."""
    received = clock.now()
    return {"dossier": {"code": f"BENCH-{number:06d}", "received_at": received.isoformat(),
                        "due_at": calendar.add_working_days(received, 5).isoformat(),
                        "agency_code": "000.00.14.H56", "agency_name": "Sở GTVT",
                        "procedure": scenario["procedure"],
                        "applicant": {"name": "Công ty", "email": "a@example.vn",
                                      "id_number": "2801234567"}},
            "application": {**scenario["application"],
                            **{name: str(i) for i, name in enumerate(files, 1)}}}


def memory_lifecycle(spec, subprocess_specs, engine, scenario: dict, data: dict,
                     rec: _Recorder, after=None, workflow_class=BpmnWorkflow) -> None:
    """One lifecycle in memory; ``after(workflow)`` is called after each action (the
    persisted engine saves the workflow there). ``workflow_class``: SpiffWorkflow's own by
    default, or the engine's (``engine.spiff.MotcuaWorkflow``)."""
    after = after or (lambda workflow: None)
    workflow = workflow_class(spec, subprocess_specs, script_engine=engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**data)
    workflow.refresh_timers()
    workflow.do_engine_steps()
    after(workflow)
    rec("submit")
    for step in scenario["steps"]:
        ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                 if t.task_spec.bpmn_id == step["task"]]
        if not ready:
            states = [(t.task_spec.bpmn_id, TaskState.get_name(t.state))
                      for t in workflow.get_tasks(state=~TaskState.FINISHED_MASK)]
            raise RuntimeError(f"in memory: {step['task']} is not ready; tasks: {states}")
        ready[0].data.update(step.get("data", {}))
        ready[0].run()
        workflow.refresh_timers()
        workflow.do_engine_steps()
        after(workflow)
        rec(f"complete {step['task']}")
    if not workflow.completed:
        raise RuntimeError("in memory: the workflow did not complete")


def run_memory(specs: tuple, scenario: dict, files: dict, n: int, after=None,
               workflow_class=BpmnWorkflow) -> Batch:
    """``n`` lifecycles in memory (``after``, ``workflow_class``: :func:`memory_lifecycle`'s)."""
    calendar = WorkingCalendar()
    engine = NullServiceEngine(None, make_evaluator(calendar))
    data = [initial_data(scenario, i, calendar, files) for i in range(n)]
    batch = Batch()
    cpu = time.process_time()
    start = time.perf_counter()
    rec = _Recorder(batch.actions)
    for i in range(n):
        memory_lifecycle(specs[0], specs[1], engine, scenario, data[i], rec, after,
                         workflow_class)
    batch.wall = time.perf_counter() - start
    batch.cpu = time.process_time() - cpu
    batch.lifecycles = n
    return batch


# -- through the engine ----------------------------------------------------------------

def persisted_lifecycle(p, code: str, users: dict, scenario: dict, files: dict,
                        rec: _Recorder) -> None:
    """The scenario through engine.dossiers.submit and engine.tasks.claim/complete."""
    submitted = dossiers.submit(p, users[scenario["applicant"]], code, scenario["application"],
                                files)
    rec("submit")
    result = None
    for step in scenario["steps"]:
        user = users[step["as"]]
        task_id = fixtures.open_task_id(p, user, submitted["code"], step["task"])
        rec("lookup (harness)")
        if step.get("claim"):
            tasks.claim(p, user, task_id)
            rec("claim")
        result = tasks.complete(p, user, task_id, step.get("data", {}),
                                passphrase=step.get("passphrase"))
        rec(f"complete {step['task']}")
    final = scenario["steps"][-1].get("expect", {}).get("status")
    if result is None or (final and result["dossier_status"] != final):
        raise RuntimeError(f"the lifecycle ended in {result and result['dossier_status']!r}")


def run_persisted(p, code: str, users: dict, scenario: dict, files: dict, n: int,
                  threads: int = 1) -> Batch:
    """``n`` lifecycles shared by ``threads`` client threads; wall time of the whole batch."""
    batch = Batch(threads=threads)
    counter = itertools.count()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        local: dict[str, list[float]] = defaultdict(list)
        rec = _Recorder(local)
        try:
            while next(counter) < n and not errors:
                persisted_lifecycle(p, code, users, scenario, files, rec)
        except BaseException as exc:  # reported after the batch
            errors.append(exc)
        with lock:
            for name, values in local.items():
                batch.actions[name].extend(values)

    cpu = time.process_time()
    start = time.perf_counter()
    if threads == 1:
        client()
    else:
        workers = [threading.Thread(target=client, name=f"client-{i}") for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    batch.wall = time.perf_counter() - start
    batch.cpu = time.process_time() - cpu
    if errors:
        raise errors[0]
    batch.lifecycles = n
    return batch
