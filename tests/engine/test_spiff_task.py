"""engine.spiff_task: every task of our workflows is a MotcuaTask, which logs exactly what the
library's Task logs when the library's loggers emit, and builds no log extras when they do
not. Diagrams run in memory, each also on the library's plain ``BpmnWorkflow`` to compare."""

from __future__ import annotations

import itertools
import json
import logging
import time
from types import SimpleNamespace
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from engine import spiff
from engine.bundles import parse
from engine.calendar import WorkingCalendar
from engine.operators import REGISTRY
from engine.scripting import MotcuaScriptEngine, make_evaluator
from engine.spiff_task import TASK_LOG, WORKFLOW_LOG, MotcuaTask
from tests.engine.elements.kit import bundle
from tests.engine.test_spiff import ROLES

#: What every user task of the diagrams is given when it runs.
ANSWERS = {"note": "ghi chú", "decision": "ok", "approved": True, "result": "đạt"}


@pytest.fixture(scope="module")
def subprocesses():
    """A version whose process has an embedded sub-process and two call activities."""
    parsed = parse(bundle("subprocesses", extra=("called",)), known_roles=ROLES,
                   operators=REGISTRY)
    return SimpleNamespace(id=-1, content_hash="spiff-task-subprocesses", spec=json.loads(
        json.dumps(spiff.specs_to_dict(parsed.spec, parsed.subprocess_specs))))


def run(version, workflow_class=spiff.MotcuaWorkflow, *, until_end: bool = True):
    """A workflow of the version's process as ``workflow_class``, run until it ends (or until
    its first user task waits), every user task given :data:`ANSWERS`."""
    spec, subs = spiff.SPECS.get(version)
    engine = MotcuaScriptEngine(None, make_evaluator(WorkingCalendar()))
    workflow = workflow_class(spec, subs, script_engine=engine)
    workflow.do_engine_steps()
    while until_end and not workflow.is_completed():
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert ready, "the diagram stopped before its end"
        for task in ready:
            task.data.update(ANSWERS)
            task.run()
        workflow.do_engine_steps()
    return workflow


def every_task(workflow) -> list:
    return [task for each in (workflow, *workflow.subprocesses.values())
            for task in each.tasks.values()]


def test_created_restored_and_sub_workflow_tasks_are_ours(subprocesses):
    halfway = run(subprocesses, until_end=False)
    assert halfway.subprocesses  # the embedded sub-process has started
    ended = run(subprocesses)
    restored = spiff.load_state(spiff.dump_state(halfway), subprocesses)
    for workflow in (halfway, ended, restored):
        assert {type(task) for task in every_task(workflow)} == {MotcuaTask}
        assert all(type(sub.task_tree) is MotcuaTask for sub in workflow.subprocesses.values())
    # The library's own workflow keeps the library's Task.
    assert {type(task) for task in every_task(run(subprocesses, BpmnWorkflow))} == {Task}


def test_the_save_writes_our_tasks_itself(subprocesses, monkeypatch):
    """The save's own walk (``_tasks_dict``) takes our tasks as it takes the library's, not
    through the registry's converters."""
    workflow = run(subprocesses, until_end=False)
    converted = []
    convert = spiff.REGISTRY.convert
    monkeypatch.setattr(spiff.REGISTRY, "convert",
                        lambda obj, **kw: converted.append(type(obj)) or convert(obj, **kw))
    spiff.dump_state(workflow)
    assert MotcuaTask not in converted and Task not in converted


def logged(version, workflow_class, caplog) -> list[tuple]:
    """The library's log records of a run to the end, task ids numbered in the order they
    first appear and times left out (a second run has other ids and times): their logger,
    level, message and extras."""
    caplog.clear()
    workflow = run(version, workflow_class)
    assert workflow.is_completed()
    numbers: dict[UUID, int] = {}

    def plain(value):
        if isinstance(value, UUID):
            return ("task", numbers.setdefault(value, len(numbers)))
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    standard = set(vars(logging.makeLogRecord({})))
    records = []
    for record in caplog.records:
        if not record.name.startswith("spiff"):
            continue
        extras = {key: value for key, value in vars(record).items()
                  if key not in standard and key not in ("message", "asctime")}
        for timed in ("last_state_change", "elapsed"):
            if timed in extras:
                assert isinstance(extras.pop(timed), (int, float))
        records.append((record.name, record.levelno, record.getMessage(), plain(extras)))
    return records


@pytest.mark.parametrize("levels", [{"spiff": logging.DEBUG},
                                    {"spiff.task": logging.INFO, "spiff.workflow": logging.INFO}])
def test_records_the_library_emits_are_the_library_s(subprocesses, caplog, levels):
    """At DEBUG the library's extras hold the task's data and the workflow's task ids (its
    loggers' own level is below INFO); at INFO they do not. Either way, the same records."""
    for name, level in levels.items():
        caplog.set_level(level, logger=name)
    ours = logged(subprocesses, spiff.MotcuaWorkflow, caplog)
    library = logged(subprocesses, BpmnWorkflow, caplog)
    assert ours == library
    changes = [r for r in ours if r[0] == TASK_LOG.name and r[2].startswith("State changed")]
    assert any(r[2] == "State changed to COMPLETED" and r[3]["task_spec"] == "draft"
               for r in changes)
    completed = [r for r in ours if r[:3] == (WORKFLOW_LOG.name, logging.INFO,
                                              "Workflow completed")]
    assert len(completed) == 1 + 3  # the process and its three sub-workflows
    with_tree = levels.get("spiff") == logging.DEBUG
    assert all(("tasks" in r[3]) == with_tree for r in completed)
    assert all(("data" in r[3]) == with_tree for r in changes)
    if with_tree:
        assert any(r[2] == "State set to READY" for r in ours)  # DEBUG: a state set again


def test_a_quiet_run_builds_no_extras_and_leaves_the_library_s_tree(subprocesses, caplog,
                                                                      monkeypatch):
    """With the library's loggers off, no extras and no state names are built, and the tree
    ends as the library's: the same tasks in the same states with the same data, each
    changed last at the same point of the run (``time.time`` counts calls here)."""
    caplog.set_level(logging.WARNING, logger="spiff")
    calls = itertools.count()
    monkeypatch.setattr(time, "time", lambda: float(next(calls)))

    def tree(workflow) -> list[tuple]:
        tasks = [task for each in (workflow, *workflow.subprocesses.values())
                 for task in each.get_tasks_iterator()]
        order = sorted(range(len(tasks)), key=lambda i: tasks[i].last_state_change)
        return [(task.task_spec.name, task.state, task.data, task.triggered, order.index(i))
                for i, task in enumerate(tasks)]

    library = tree(run(subprocesses, BpmnWorkflow))
    extras, names = [], []
    monkeypatch.setattr(Task, "collect_log_extras", lambda task, dct=None: extras.append(task))
    monkeypatch.setattr(Workflow, "collect_log_extras", lambda wf, dct=None: extras.append(wf))
    monkeypatch.setattr(TaskState, "get_name", lambda state: names.append(state))
    workflow = run(subprocesses)
    assert tree(workflow) == library
    # Only each workflow's root, made READY by the library's constructor as the library's
    # Task (it becomes ours as the constructor returns), built its record's extras.
    roots = [sub.task_tree for sub in (workflow, *workflow.subprocesses.values())]
    assert extras == roots and len(roots) == 4
    assert names == [TaskState.READY] * len(roots)


def test_a_repeated_state_is_logged_only_at_debug(subprocesses, caplog):
    task = next(iter(run(subprocesses, until_end=False).get_tasks(state=TaskState.READY)))
    changed = task.last_state_change
    caplog.set_level(logging.INFO, logger="spiff")
    task._set_state(TaskState.READY)
    assert caplog.records == [] and task.last_state_change == changed
    caplog.set_level(logging.DEBUG, logger="spiff")
    task._set_state(TaskState.READY)
    assert [r.getMessage() for r in caplog.records] == ["State set to READY"]
    assert caplog.records[0].task_id == task.id and task.last_state_change == changed
