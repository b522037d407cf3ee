"""Loops of more than 300 turns finish, and the workflow is not reported completed early.

SpiffWorkflow 3.2.0 walks the task tree with iterators capped at depth 1000: a gateway loop
adds a level per task per turn, so the library alone stalls after ~250 turns of these
diagrams and then calls the workflow completed (the first test shows the stall on the
library's own class). :class:`engine.spiff.MotcuaWorkflow` walks without the cap.
"""

import time

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.bundles import parse
from engine.calendar import WorkingCalendar
from engine.models import Dossier, Instance
from engine.operators import REGISTRY
from engine.scripting import MotcuaScriptEngine, make_evaluator
from engine.spiff import MotcuaSubWorkflow, MotcuaWorkflow, load_state
from tests.engine.elements.kit import bundle, complete, data, deploy, finished, open_tasks, submit

TURNS = 310


def depth(workflow) -> int:
    return max(task.depth for task in workflow.tasks.values())


def saved(p, code: str):
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        state = session.get(Instance, dossier.id).state
        return state, load_state(state, dossier.version)


def test_the_library_workflow_class_stalls_where_ours_does_not():
    """The library's class stops at depth 1000: its task list no longer shows the READY task
    at the bottom, so ``do_engine_steps`` returns with the loop unfinished. (It would also
    call itself completed, but :mod:`engine.spiff` uncaps the library's own
    ``is_completed`` walk for every workflow in the process, so that part is fixed here.)"""
    parsed = parse(bundle("script_loop"), known_roles=set(), operators=REGISTRY)
    workflows = {}
    for cls in (BpmnWorkflow, MotcuaWorkflow):
        engine = MotcuaScriptEngine(None, make_evaluator(WorkingCalendar()))
        workflow = cls(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        workflow.get_tasks(state=TaskState.READY)[0].set_data(application={"n": TURNS})
        workflow.do_engine_steps()
        workflows[cls] = workflow
    stalled, fixed = workflows[BpmnWorkflow], workflows[MotcuaWorkflow]
    assert "finished_after" not in stalled.data and not stalled.get_tasks(state=TaskState.READY)
    ready = [t for t in stalled.tasks.values() if t.state == TaskState.READY]
    assert ready and ready[0].depth > 1000 and not stalled.is_completed()  # stuck, unseen
    assert fixed.is_completed() and fixed.data["finished_after"] == TURNS
    assert depth(fixed) > 1000


def test_a_script_loop_of_310_turns(platform):
    procedure = deploy(platform, "script_loop")
    started = time.perf_counter()
    code = submit(platform, procedure, {"n": TURNS})
    elapsed = time.perf_counter() - started
    assert finished(platform, code)
    result = data(platform, code)
    assert result["i"] == result["last"] == result["finished_after"] == TURNS
    assert result["trail"] == [100, 200, 300]
    state, workflow = saved(platform, code)
    assert isinstance(workflow, MotcuaWorkflow) and depth(workflow) > 1000
    print(f"\nscript loop: {TURNS} turns in one step {elapsed:.2f} s, tree depth "
          f"{depth(workflow)}, {len(workflow.tasks)} tasks, saved state {len(state) // 1024} KB")


def test_a_user_task_loop_of_310_turns(platform):
    procedure = deploy(platform, "user_loop")
    code = submit(platform, procedure, {"n": TURNS})
    started = time.perf_counter()
    for turn in range(1, TURNS + 1):
        assert open_tasks(platform, code) == ["review"], f"turn {turn}"
        assert not finished(platform, code), f"reported finished before turn {turn}"
        complete(platform, code, "review", {"note": f"turn {turn}"})
    elapsed = time.perf_counter() - started
    assert finished(platform, code) and open_tasks(platform, code) == []
    assert data(platform, code)["rounds"] == TURNS
    state, workflow = saved(platform, code)
    assert depth(workflow) > 1000
    print(f"\nuser-task loop: {TURNS} completions in {elapsed:.1f} s "
          f"({elapsed / TURNS * 1000:.0f} ms each, with the round-trip checks), tree depth "
          f"{depth(workflow)}, saved state {len(state) // 1024} KB")


def test_a_loop_around_a_parallel_split_and_join_past_depth_1000(platform):
    """The joins' own walks of the tree (SpiffWorkflow's Join and ParallelGateway code, which
    also recursed once per level) see past depth 1000 too: 180 turns of six levels."""
    procedure = deploy(platform, "parallel_loop")
    code = submit(platform, procedure, {"n": 180})
    assert finished(platform, code)
    result = data(platform, code)
    # The branch that finishes last wins the keys both branches hold (SpiffWorkflow's merge).
    assert result["i"] == result["b"] == 180
    _, workflow = saved(platform, code)
    assert depth(workflow) > 1000


def test_sub_workflows_are_ours_too(platform):
    """Embedded sub-processes and call activities run as MotcuaSubWorkflow, also restored."""
    procedure = deploy(platform, "subprocesses", extra=("called",))
    code = submit(platform, procedure)
    _, workflow = saved(platform, code)
    assert workflow.subprocesses
    assert all(isinstance(sp, MotcuaSubWorkflow) for sp in workflow.subprocesses.values())
