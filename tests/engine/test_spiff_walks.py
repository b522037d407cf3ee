"""engine.spiff walks our workflows' task trees itself where the engine steps walk them most:
``get_tasks(state=…)`` (:func:`spiff.tasks_in`) and ``update_waiting_tasks``
(:func:`spiff._waiting_tasks`). Both are checked against the library's own walks on every
call, through real dossiers: the procedures' scenarios and the element tests that reach the
shapes a walk can get wrong (a multi-instance task, a loop past the library's depth cap,
sub-processes and call activities, event sub-processes, timers, event-based gateways,
waiting messages, two pools in one dossier).

``get_tasks`` must return the very objects the library's iterator returns, in its order,
for any arguments (calls with more than ``state=`` take the library's path, and are
checked all the same). ``update_waiting_tasks`` must yield what the library's lazy
iterator yields while each yielded task is updated before the next is asked for: both are
run side by side, one task at a time, on the tree as the updates leave it.
"""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import pytest
from SpiffWorkflow.util.task import TaskState

from engine import spiff
from tests.engine.step.test_rows import workflow
from tests.engine.walked import *  # noqa: F403 (the walked tests, run once more)

#: What a test must have walked besides the top workflow's READY tasks: calls on
#: sub-workflows, results holding tasks of sub-processes, WAITING tasks updated.
REACHES = {
    "test_embedded_subprocess_and_call_activities": ("on sub-workflows", "into sub-processes"),
    "test_sub_workflows_are_ours_too": ("on sub-workflows", "into sub-processes"),
    "test_error_and_escalation_boundary_events_on_a_subprocess": ("on sub-workflows",
                                                                  "waiting updated"),
    "test_a_note_runs_beside_the_process_without_stopping_it": (
        "on sub-workflows", "into sub-processes", "waiting updated"),
    "test_a_withdrawal_interrupts_the_steps_under_way": ("on sub-workflows",
                                                         "into sub-processes"),
    "test_two_pools_of_one_collaboration_talk_inside_the_dossier": ("on sub-workflows",
                                                                    "into sub-processes"),
    "test_boundary_timer_reminds_and_boundary_message_interrupts": ("waiting updated",),
    "test_event_based_gateway_message_first": ("waiting updated",),
    "test_event_based_gateway_timer_first": ("waiting updated",),
    "test_intermediate_timer_then_message": ("waiting updated",),
    "test_a_loop_around_a_parallel_split_and_join_past_depth_1000": ("waiting updated",),
    "test_a_sub_workflow_walk_keeps_to_its_own_tree": ("on sub-workflows",
                                                       "into sub-processes"),
    "test_a_sub_process_under_an_id_of_another_type_is_walked_into": ("into sub-processes",),
}


def library_get_tasks(workflow, first_task=None, **kwargs) -> list:
    """The library's ``Workflow.get_tasks``: its iterator (ours without the depth cap), listed."""
    return list(workflow.get_tasks_iterator(first_task, **kwargs))


def same_tasks(found: list, expected: list) -> bool:
    """The very same task objects, in the same order."""
    return [id(task) for task in found] == [id(task) for task in expected]


@pytest.fixture(autouse=True)
def checked(monkeypatch, request):
    """Every ``get_tasks`` and every walk of ``update_waiting_tasks`` of the test compared
    with the library's."""
    seen = Counter()
    get_tasks, waiting = spiff._DeepWalks.get_tasks, spiff._waiting_tasks

    def checked_get_tasks(self, first_task=None, **kwargs):
        found = get_tasks(self, first_task, **kwargs)
        assert same_tasks(found, library_get_tasks(self, first_task, **kwargs)), kwargs
        fast = first_task is None and list(kwargs) == ["state"]
        seen["state= alone" if fast else "other"] += 1
        seen["on sub-workflows"] += isinstance(self, spiff.MotcuaSubWorkflow)
        seen["into sub-processes"] += any(task.workflow is not self for task in found)
        return found

    def checked_waiting(root):
        ours = waiting(root)
        for task in spiff.DeepTaskIterator(root, state=TaskState.WAITING):
            assert next(ours, None) is task
            seen["waiting updated"] += 1
            yield task  # updated by the caller before either walk goes on
        assert next(ours, None) is None
        seen["waiting walks"] += 1

    monkeypatch.setattr(spiff._DeepWalks, "get_tasks", checked_get_tasks)
    monkeypatch.setattr(spiff, "_waiting_tasks", checked_waiting)
    yield seen
    assert seen["state= alone"] and seen["waiting walks"], seen
    name = request.node.originalname
    assert [kind for kind in REACHES.get(name, ()) if not seen[kind]] == [], seen


#: Every kind of walk: the rows', the completed tasks' (``sameAssigneeAs``), and others.
MASKS = (TaskState.READY | TaskState.WAITING, TaskState.COMPLETED, TaskState.READY,
         TaskState.WAITING, TaskState.NOT_FINISHED_MASK, TaskState.PREDICTED_MASK,
         TaskState.FINISHED_MASK, TaskState.ANY_MASK, TaskState.MAYBE, TaskState.FUTURE,
         TaskState.CANCELLED, TaskState.ERROR, 0)
TASK_DATA = {"approved": True, "more": True, "a_ok": True, "b_ok": True, "decision": "ok",
             "result": "ok", "note": "ok"}


@pytest.mark.parametrize(("name", "data", "extra"), [
    ("user_loop", {"application": {"n": 4}}, ()),
    ("multi_instance", {"application": {"vehicles": ["36A-12345", "36C-67890", "36B-1"]}}, ()),
    ("subprocesses", {"application": {"n": 1}}, ("called",)),
    ("event_subprocess", {}, ()),
    ("boundary_on_task", {}, ()),
    ("event_race", {}, ()),
    ("intermediate", {}, ()),
])
def test_every_state_is_found_as_the_library_finds_it(name, data, extra):
    """``get_tasks`` for every mask, on the top workflow and each sub-workflow, after every
    task a dossier would do (the fixture compares each call with the library's walk)."""
    wf = workflow(name, data, extra=extra)
    for _ in range(30):
        for mask in MASKS:
            for each in (wf, *wf.subprocesses.values()):
                each.get_tasks(state=mask)
                # the library's path: state= with other filters, or from a task
                each.get_tasks(state=mask, manual=False)
                each.get_tasks(state=mask, skip_subprocesses=True)
                each.get_tasks(each.task_tree.children[0], state=mask)
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            break
        ready[0].set_data(**TASK_DATA)
        ready[0].run()
        wf.refresh_timers()
        wf.do_engine_steps()


def test_the_walk_goes_past_the_library_depth_cap():
    wf = workflow("script_loop", {"application": {"n": 300}})
    assert wf.is_completed()
    for mask in MASKS:
        wf.get_tasks(state=mask)
    assert max(task.depth for task in wf.get_tasks(state=TaskState.COMPLETED)) > 1000


def test_a_sub_workflow_walk_keeps_to_its_own_tree():
    """A sub-workflow's walk covers its tree and the sub-processes below it, not its
    parent's tree; the top workflow's covers them all."""
    wf = workflow("subprocesses", {"application": {"n": 1}}, extra=("called",))
    subs = list(wf.subprocesses.values())
    assert subs
    everything = wf.get_tasks(state=TaskState.ANY_MASK)
    for sub in subs:
        own = sub.get_tasks(state=TaskState.ANY_MASK)
        assert own and own[0] is sub.task_tree
        assert all(task.workflow is sub or task.workflow.depth > sub.depth for task in own)
        assert {id(t) for t in own} <= {id(t) for t in everything}


class _OtherId(UUID):
    """A task id of a class of its own, equal to the UUID it copies and hashed as it is."""


def test_a_sub_process_under_an_id_of_another_type_is_walked_into():
    """The walk finds a task's sub-process by the ``.int`` of its id when every key is a
    plain UUID; under a key of another type, it looks the id up as the library's walk does
    (the fixture compares the two)."""
    wf = workflow("subprocesses", {"application": {"n": 1}}, extra=("called",))
    assert wf.subprocesses
    wf.subprocesses = {_OtherId(int=key.int): sub for key, sub in wf.subprocesses.items()}
    found = wf.get_tasks(state=TaskState.ANY_MASK)
    assert any(task.workflow is not wf for task in found)
    wf.update_waiting_tasks()


def test_an_update_that_cancels_a_later_waiting_task_is_seen_by_the_walk():
    """Updating a waiting join cancels the join's other waiting instances: the walk, as
    lazy as the library's, does not update the one it has not reached yet (updated, that
    cancelled instance would wait again and cancel the first)."""
    wf = workflow("gateways", {"application": {"n": 2}})
    (check_a,) = [t for t in wf.get_tasks(state=TaskState.READY, manual=True)
                  if t.task_spec.bpmn_id == "check_a"]
    check_a.run()
    wf.do_engine_steps()
    joins = wf.get_tasks(spec_name="join")
    (first,) = [t for t in joins if t.state == TaskState.WAITING]
    (later,) = [t for t in joins if t.state == TaskState.FUTURE]
    later._set_state(TaskState.WAITING)  # two waiting instances, as a reset may leave them
    wf.update_waiting_tasks()
    assert sorted(t.state for t in (first, later)) == [TaskState.WAITING, TaskState.CANCELLED]


def test_a_workflow_updates_only_the_waiting_tasks_of_its_own_tree():
    """A task waiting inside a sub-process is the sub-workflow's to update, not the top
    workflow's (the library's walk does not descend into sub-process trees)."""
    wf = workflow("subprocesses", {"application": {"n": 1}}, extra=("called",))
    sub = next(iter(wf.subprocesses.values()))
    inside = next(t for t in sub.get_tasks(state=TaskState.PREDICTED_MASK | TaskState.FUTURE)
                  if t is not sub.task_tree)
    inside._set_state(TaskState.WAITING)
    seen = []
    inside.task_spec._update = lambda task: seen.append(task)  # this task's spec only
    wf.update_waiting_tasks()
    assert seen == []
    sub.update_waiting_tasks()
    assert seen == [inside]
