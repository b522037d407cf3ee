"""Our adaptation of SpiffWorkflow 3.2.0: the workflow class, its serializer, its clock.

**Loops of any length.** The library walks the task tree with iterators capped at depth
1000 (``TaskIterator(max_depth=1000)``) and follows parents recursively. A BPMN loop adds
a few levels per turn, so after ~250 turns the iterator no longer sees the READY task at
the bottom: ``do_engine_steps`` silently stops and ``is_completed()`` says True. Every
workflow here is a :class:`MotcuaWorkflow` (created by :func:`engine.runtime.start`,
restored by the state converter) whose walks have no depth limit; the places where the
library builds capped iterators itself (joins, the end join, ``Workflow.is_completed``,
``Task.__iter__``) get the same uncapped iterator, and ancestry checks become loops instead
of recursion (a 1000-deep recursion is a ``RecursionError``; the parallel gateway's own
climb is rewritten for that reason, and its joins answer "is this an earlier turn?" from one
walk up instead of one per earlier turn). Long loops still cost: each step walks the whole
tree, and a 310-turn loop leaves ~1250 tasks (~475 KB of saved state) behind.

**The engine steps' walks.** The walks the engine steps take most often, ``get_tasks(state=…)``
and ``update_waiting_tasks``, are plain loops (:class:`_DeepWalks`) that give what the
library's iterators give, task for task and in the same order, for a fraction of the time.

**State without specs.** The saved state leaves out the specs: they are stored once per
procedure version and kept deserialized in a small in-process cache, which makes a save a
fraction of the library's full serialization. Its JSON is written and read by orjson when
that gives exactly what the library's ``json`` encoder would (plain data), by ``json`` otherwise.

**Cooperating processes.** A version may hold, besides its main process, processes that
a message start event starts in dossiers of their own (``cooperating:`` in procedure.yaml).
Their specs are stored with the version's sub-process specs; a workflow running one carries
its ``process_id``, which the saved state keeps, so a state restores onto the right spec
whoever loads it.

**The clock.** Timer events read ``datetime.now``; they read :mod:`engine.clock` instead,
so a timer is due exactly when its row says (and tests can move time).
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import zlib
from collections import OrderedDict
from datetime import datetime
from types import ModuleType
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers import BpmnDataSpecificationConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway as ParallelGatewayMixin
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskIterator, TaskState

from . import clock, eventsubs
from .datastores import ProcedureStore
from .spiff_task import MotcuaTask, OwnTasks

UNBOUNDED = sys.maxsize


class DeepTaskIterator(TaskIterator):
    """The library's plain iterator without its depth cap."""

    def __init__(self, task, end_at_spec=None, max_depth=UNBOUNDED, depth_first=True,
                 task_filter=None, **kwargs):
        super().__init__(task, end_at_spec, max_depth, depth_first, task_filter, **kwargs)


class DeepBpmnTaskIterator(BpmnTaskIterator):
    """The BPMN iterator (which also descends into sub-processes) without its depth cap."""

    def __init__(self, task, end_at_spec=None, max_depth=UNBOUNDED, depth_first=True,
                 skip_subprocesses=False, task_filter=None, **kwargs):
        super().__init__(task, end_at_spec, max_depth, depth_first, skip_subprocesses,
                         task_filter, **kwargs)


def tasks_in(workflow, state: int) -> list:
    """``workflow.get_tasks(state=state)`` as the library's walk (:class:`DeepBpmnTaskIterator`)
    gives it: the same tasks in the same order, in a fraction of the time (the iterator asks
    a filter object about every task, pops its list from the front and counts depths).

    The library's walk, kept step for step: depth first, a task before what lies below it,
    and below a task with a sub-process that sub-process's tree before the task's children.
    It always goes below a task that has a sub-process (the library's test for leaving out
    a finished one, ``task.state >= FINISHED_MASK``, is passed by no single state), and
    below any other task whose state is at least the lowest state the walk may find through
    it: a walk for a definite state does not look below predicted tasks, a walk for finished
    states only below finished ones. A task found also passes the filter's other default
    test, ``last_state_change >= 0``.
    """
    if state & TaskState.PREDICTED_MASK:
        floor = TaskState.MAYBE
    elif state & TaskState.DEFINITE_MASK:
        floor = TaskState.FUTURE
    else:
        floor = TaskState.COMPLETED
    subprocesses = workflow.top_workflow.subprocesses
    by_int = _by_int(subprocesses) if subprocesses else None
    found = []
    stack = [workflow.task_tree]
    pop, push = stack.pop, stack.append
    while stack:
        task = pop()
        here = task._state
        if here & state and task.last_state_change >= 0:
            found.append(task)
        children = task._children
        if not subprocesses:
            subprocess = None
        elif by_int is not None and type(task.id) is UUID:
            subprocess = by_int.get(task.id.int)
        else:
            subprocess = subprocesses.get(task.id)
        if subprocess is None and (here < floor or not children):
            continue
        if children:  # as push(map(find, reversed(children))), the first popped first
            find = task.workflow.tasks.get
            if len(children) == 1:  # most tasks
                push(find(children[0]))
            else:
                for child in reversed(children):
                    push(find(child))
        if subprocess is not None:
            push(subprocess.task_tree)
    return found


def _by_int(mapping: dict) -> dict | None:
    """``mapping`` (keyed by task id) keyed by each id's ``.int``, or None when a key is not
    a UUID. A UUID's hash and equality are those of its ``.int``, so a look-up by it finds
    what a look-up by the UUID finds, without a Python-level ``UUID.__hash__``."""
    ints = {key.int: value for key, value in mapping.items() if type(key) is UUID}
    return ints if len(ints) == len(mapping) else None


def _waiting_tasks(root):
    """``DeepTaskIterator(root, state=WAITING)``, as lazy as it is: ``update_waiting_tasks``
    updates each task it yields before asking for the next, and an update may change the
    tree. Like the iterator, it reads a task's state and children when it reaches the task
    (pushing the children it has then, as objects), and whether it yields the task in the
    same instant; what it has pushed, nothing else changes (the iterator's list is its
    own), so both visit the same tasks in the same order and yield the same ones. Its stack
    is the iterator's list reversed: popped from the end where the iterator pops its front.
    No sub-process trees: the plain iterator does not descend into them."""
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        task = pop()
        here = task._state
        children = task._children
        if children and here >= TaskState.FUTURE:  # as tasks_in pushes them
            find = task.workflow.tasks.get
            if len(children) == 1:
                push(find(children[0]))
            else:
                for child in reversed(children):
                    push(find(child))
        if here & TaskState.WAITING and task.last_state_change >= 0:
            yield task


class _DeepWalks:
    """The walks of a workflow of ours (the top one and its sub-workflows): uncapped, and
    the engine steps' own walks by plain loops that give what the library's iterators give.

    ``BpmnWorkflow._do_engine_steps`` asks every active workflow for its READY tasks
    several times a step, and every completed task updates the WAITING ones: about a sixth
    of a persisted lifecycle went into those walks by the library's iterators."""

    def get_tasks_iterator(self, first_task=None, **kwargs) -> DeepBpmnTaskIterator:
        return DeepBpmnTaskIterator(first_task or self.task_tree, **kwargs)

    def get_tasks(self, first_task=None, **kwargs) -> list:
        """The library's ``get_tasks``; a call with ``state=`` alone (the engine steps',
        the end events', the process spec's) by :func:`tasks_in`."""
        if first_task is None and len(kwargs) == 1:
            state = kwargs.get("state")
            if type(state) is int:
                return tasks_in(self, state)
        return list(self.get_tasks_iterator(first_task, **kwargs))

    def update_waiting_tasks(self) -> None:
        """The library's update of the WAITING tasks of this workflow's own tree, walked by
        :func:`_waiting_tasks`."""
        for task in _waiting_tasks(self.task_tree):
            task.task_spec._update(task)


class MotcuaSubWorkflow(_DeepWalks, OwnTasks, BpmnSubWorkflow):
    """An embedded sub-process, call activity or pool, walked as :class:`_DeepWalks` says,
    its tasks :class:`~engine.spiff_task.MotcuaTask`."""


class MotcuaWorkflow(_DeepWalks, OwnTasks, BpmnWorkflow):
    """The workflow of a dossier: every walk of its task tree goes all the way down, so a
    loop may turn any number of times (see the module docstring); its tasks are
    :class:`~engine.spiff_task.MotcuaTask`, which log only what is read."""

    #: The cooperating process this workflow runs; None for the version's main process.
    process_id: str | None = None

    def refresh_timers(self) -> None:
        """The library's refresh of waiting timers, and of conditional events too: a step
        runs this before the engine's steps, so a condition is evaluated (in the sandbox)
        after each step of the dossier."""
        super().refresh_timers()
        for task in list(self.event_manager.tasks.values()):
            if isinstance(task.task_spec.event_definition, ConditionalEventDefinition):
                task.task_spec._update(task)

    def create_subprocess(self, my_task, spec_name: str) -> MotcuaSubWorkflow:
        subprocess = MotcuaSubWorkflow(self.subprocess_specs[spec_name],
                                       parent_task_id=my_task.id, top_workflow=self)
        self.subprocesses[my_task.id] = subprocess
        if eventsubs.interrupting(my_task.task_spec):  # applied at the end of the pass
            self.__dict__.setdefault("_interrupting", []).append(my_task)
        return subprocess

    def do_engine_steps(self, will_complete_task=None, did_complete_task=None) -> None:
        self._interrupt()  # an event sub-process started by a caught event
        super().do_engine_steps(will_complete_task, did_complete_task)

    def _do_engine_steps(self, will_complete_task=None, did_complete_task=None):
        """One pass of the library's; an interrupting event sub-process started during it
        then cancels the process's other steps (and another pass follows)."""
        ran = super()._do_engine_steps(will_complete_task, did_complete_task)
        return self._interrupt() or ran

    def _interrupt(self) -> bool:
        started = self.__dict__.pop("_interrupting", [])
        for task in started:
            if task.state not in (TaskState.CANCELLED, TaskState.COMPLETED):
                eventsubs.interrupt(task)
        return bool(started)


def _is_descendant_of(self, task) -> bool:
    current = self.parent
    while current is not None:
        if current == task:
            return True
        current = current.parent
    return False


def _find_ancestor(self, spec_name: str):
    current = self.parent
    while current is not None:
        if current.task_spec.name == spec_name:
            return current
        current = current.parent
    return None


# The library modules that build ``TaskIterator``s themselves, looking the name up as a
# module global: joins, the BPMN end join, ``Workflow.is_completed``/``update_waiting_tasks``,
# ``Task.__iter__``. (``SpiffWorkflow.specs`` re-exports classes named like some of these
# modules, so they are taken from ``importlib``, not ``import … as``.)
_WALKING_MODULES = ("SpiffWorkflow.workflow", "SpiffWorkflow.task", "SpiffWorkflow.specs.Join",
                    "SpiffWorkflow.specs.ThreadMerge", "SpiffWorkflow.specs.Gate",
                    "SpiffWorkflow.bpmn.specs.control")


def _ancestors(task) -> set:
    found, current = set(), task.parent
    while current is not None:
        found.add(current.id)
        current = current.parent
    return found


def _below(task, top, ancestors: set) -> bool:
    """Whether ``task`` descends from ``top``: climb until ``top`` or one of its ancestors
    (a side branch meets the main line within a few levels, not at the root)."""
    current = task.parent
    while current is not None:
        if current is top:
            return True
        if current.id in ancestors:
            return False
        current = current.parent
    return False


def _parallel_gateway_threshold(self, my_task):
    """``ParallelGateway._check_threshold_unstructured`` with its recursive climb made a loop
    and its ancestry checks answered from one walk up from ``my_task``."""
    waiting_inputs = set(self.inputs)
    ancestors = _ancestors(my_task)
    for task in my_task.workflow.get_tasks(spec_name=self.name):
        if task.id in ancestors:  # an earlier turn of a loop: ignore its inputs
            continue
        if _below(task, my_task, ancestors):  # a later turn, already predicted
            current = task
            while current is not None and current.task_spec not in waiting_inputs:
                current = current.parent
            if current is not None:
                waiting_inputs.remove(current.task_spec)
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


def _unstructured_join_run(self, my_task):
    """``UnstructuredJoin._run_hook`` with its ancestry test answered from one walk up."""
    ancestors = _ancestors(my_task)
    others = [t for t in my_task.workflow.tasks.values()
              if t.task_spec == self and t.has_state(TaskState.FINISHED_MASK)
              and t.id not in ancestors]
    for task in sorted(others, key=lambda t: t.last_state_change):
        DeepMerge.merge(my_task.data, task.parent.data)
        if task.has_state(TaskState.COMPLETED):
            task._drop_children(force=True)
    my_task._inherit_data()
    return True


def _uncap_library_walks() -> None:
    """Give the library's own tree walks the uncapped iterator, and make ancestry checks
    iterative (a recursion as deep as the tree is a ``RecursionError`` past ~1000)."""
    for name in _WALKING_MODULES:
        module = importlib.import_module(name)
        if not issubclass(getattr(module, "TaskIterator", type), TaskIterator):
            raise ImportError(f"{name} no longer uses TaskIterator: check engine.spiff "
                              "against this SpiffWorkflow version")
        module.TaskIterator = DeepTaskIterator
    Task.is_descendant_of = _is_descendant_of
    Task.find_ancestor = _find_ancestor
    ParallelGatewayMixin._check_threshold_unstructured = _parallel_gateway_threshold
    UnstructuredJoin._run_hook = _unstructured_join_run


_uncap_library_walks()


class _EngineClock(datetime):
    """SpiffWorkflow's timer events read ``datetime.now``; make them read the engine clock."""

    @classmethod
    def now(cls, tz=None):
        moment = clock.now()
        return moment.astimezone(tz) if tz else moment.astimezone(clock.VIETNAM).replace(tzinfo=None)


spiff_timer.datetime = _EngineClock


def _multiple_update_task_data(self, my_task) -> None:
    """An event with several definitions hands on the payload of the one that fired (the
    library drops it, so a message's ``messageVariable`` would stay unset)."""
    for event in my_task.internal_data.get("seen_events", []):
        definition = event.event_definition
        if event.payload is not None and definition in self.event_definitions:
            my_task._set_internal_data(**{definition.name: event.payload})
            definition.update_task_data(my_task)


MultipleEventDefinition.update_task_data = _multiple_update_task_data


_UUID_TEXTS: dict[int, str] = {}
_UUID_TEXTS_SIZE = 1 << 16


def _uuid_text(value: UUID) -> str:
    """``str(value)``, remembered: a save writes each task id about four times (as a key, an
    id, a parent, a child), and ``UUID.__str__`` is a third of the library's ``to_dict``."""
    text = _UUID_TEXTS.get(value.int)
    if text is None:
        if len(_UUID_TEXTS) >= _UUID_TEXTS_SIZE:
            _UUID_TEXTS.clear()
        text = _UUID_TEXTS[value.int] = str(value)
    return text


class _TextIds:
    """A converter mixin: mappings keyed by task id (tasks, sub-processes) written with
    :func:`_uuid_text`."""

    def mapping_to_dict(self, mapping, **kwargs):
        convert = self.registry.convert
        return {(_uuid_text(key) if type(key) is UUID else str(key)): convert(value, **kwargs)
                for key, value in mapping.items()}


class _SubStateConverter(_TextIds, BpmnSubWorkflowConverter):
    """The library's sub-process format, with task ids written by :func:`_uuid_text`."""


class _StateConverter(_TextIds, BpmnWorkflowConverter):
    """Serializes a workflow's state without its specs; restores it onto cached spec objects."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        if getattr(workflow, "process_id", None):
            dct["process_id"] = workflow.process_id
        return dct

    def from_dict(self, dct):
        workflow = self.target_class(dct.pop("spec"), dct.pop("subprocess_specs"),
                                     deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _TaskConverter(TaskConverter):
    """The library's task format (data for the root, a delta from the parent for the others),
    written with sorted keys and one parent look-up per task.

    The library rebuilds a restored task's data as its parent's data updated by the delta,
    so key order after a restore can differ from the order the live task had (a
    multi-instance child whose parent gained an output list, for one): the same state would
    then save differently. Sorted keys make a save a function of the state alone. (The
    library also looks the parent up five times per task, by UUID hash: a third of a save.)
    """

    def to_dict(self, task):
        parent, internal = task.parent, task.internal_data
        if parent is None:
            data, delta = dict(sorted(task.data.items())), {}
        else:
            data = {}
            updates = DeepMerge.get_updated_keys(parent.data, task.data)
            delta = {"updates": dict(sorted(updates.items())),
                     "deletions": sorted(DeepMerge.get_deleted_keys(parent.data, task.data))}
        return {
            "id": _uuid_text(task.id),
            "parent": _uuid_text(task._parent) if parent is not None else None,
            "children": [_uuid_text(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(internal) if internal else {},
            "data": data,
            "delta": delta,
        }


def _registry():
    """The library's registry, with our workflow and task classes under the library's type
    names (so states saved before these classes existed restore, and new ones read the
    same)."""
    config = dict(SPIFF_CONFIG)
    config[ProcedureStore] = BpmnDataSpecificationConverter
    config[BpmnWorkflow] = _StateConverter
    config[BpmnSubWorkflow] = _SubStateConverter
    config[Task] = _TaskConverter
    registry = BpmnWorkflowSerializer.configure(config)
    _StateConverter(MotcuaWorkflow, registry, typename="BpmnWorkflow")
    _SubStateConverter(MotcuaSubWorkflow, registry, typename="BpmnSubWorkflow")
    _TaskConverter(MotcuaTask, registry, typename="Task")
    return registry


REGISTRY = _registry()
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)
#: The classes the registry writes with :class:`_StateConverter` / :class:`_SubStateConverter`.
_TOP_WORKFLOWS = frozenset({BpmnWorkflow, MotcuaWorkflow})
_SUB_WORKFLOWS = frozenset({BpmnSubWorkflow, MotcuaSubWorkflow})
#: The task classes :func:`_tasks_dict` writes itself, as :class:`_TaskConverter` would.
_TASKS = frozenset({Task, MotcuaTask})


# -- the save's own walk -------------------------------------------------------------------

def _state_dict(workflow) -> dict:
    """``SERIALIZER.to_dict(workflow)`` in the registry's encoder mode, built directly: the
    same dictionary, keys in the same order, holding the same objects, for the engine's
    workflow and task classes and the library's plain tasks. The library's walk dispatches every
    workflow, task and value through the registry (a type look-up, a ``partial``, an
    ``update`` for the type name), writes each id with ``str``, and finds each task's parent
    by UUID hash (a Python-level ``__hash__``). This walk does each task in one function
    with ids looked up by their integer; anything of another class goes to the registry.

    Nothing is kept between saves (the library shares nested data between tasks, and a
    value changed in place would be missed): only the id texts of :func:`_uuid_text`.
    ``tests/engine/test_state_json.py`` compares its bytes with the library's walk."""
    if type(workflow) not in _TOP_WORKFLOWS:
        return SERIALIZER.to_dict(workflow)
    registry = REGISTRY
    dct = _workflow_dict(workflow, registry)
    subprocesses = {}
    for key, sub in workflow.subprocesses.items():
        text = _uuid_text(key) if type(key) is UUID else str(key)
        if type(sub) in _SUB_WORKFLOWS:
            sub_dct = _workflow_dict(sub, registry)
            sub_dct["parent_task_id"] = str(sub.parent_task_id)
            sub_dct["spec"] = sub.spec.name
            sub_dct["typename"] = "BpmnSubWorkflow"
            subprocesses[text] = sub_dct
        else:
            subprocesses[text] = registry.convert(sub)
    dct["subprocesses"] = subprocesses
    dct["bpmn_events"] = registry.convert(workflow.bpmn_events)
    if getattr(workflow, "process_id", None):
        dct["process_id"] = workflow.process_id
    dct["typename"] = "BpmnWorkflow"
    return dct


def _workflow_dict(workflow, registry) -> dict:
    """``WorkflowConverter.to_dict`` with the tasks written by :func:`_tasks_dict`."""
    last_task = workflow.last_task
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(last_task.id) if last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": _tasks_dict(workflow, registry),
        "root": str(workflow.task_tree.id),
    }


_ABSENT = object()  # a name the parent's data does not hold


def _tasks_dict(workflow, registry) -> dict:
    """``mapping_to_dict(workflow.tasks)``: each task as :class:`_TaskConverter` writes it,
    plus its type name."""
    tasks = workflow.tasks
    by_int = _by_int(tasks)  # parents found without a Python-level UUID.__hash__
    if by_int is None:
        return {str(key) if type(key) is not UUID else _uuid_text(key): registry.convert(task)
                for key, task in tasks.items()}
    texts = _UUID_TEXTS
    find = by_int.get
    out = {}
    for key, task in tasks.items():
        parent_id, data, internal = task._parent, task.data, task.internal_data
        parent = find(parent_id.int) if type(parent_id) is UUID else tasks.get(parent_id)
        if (type(task) not in _TASKS or task.workflow is not workflow or type(data) is not dict
                or (parent is not None and type(parent.data) is not dict)):
            out[_uuid_text(key)] = registry.convert(task)
            continue
        if parent is None:
            data, delta = dict(sorted(data.items())), {}
            parent_text = None
        else:
            before = parent.data
            # A value the parent holds as the very same object is unchanged (the library
            # copies data one level deep, so most are), which an identity test says without
            # comparing its contents; a float is compared all the same (NaN != NaN).
            updates = [(name, value) for name, value in data.items()
                       if (old := before.get(name, _ABSENT)) is not value
                       and (old is _ABSENT or value != old) or type(value) is float
                       and value != old]
            delta = {"updates": dict(sorted(updates)) if updates else {},
                     "deletions": [] if before.keys() <= data.keys()
                     else sorted([name for name in before if name not in data])}
            data = {}
            parent_text = texts.get(parent_id.int) or _uuid_text(parent_id)
        if not internal:
            internal = {}
        elif type(internal) is dict:  # the registry's clean(), as convert() does it here
            internal = {name: value for name, value in internal.items()
                        if not callable(value) and not isinstance(value, ModuleType)}
        else:
            internal = registry.convert(internal)
        task_id = task.id
        out[texts.get(key.int) or _uuid_text(key)] = {
            "id": texts.get(task_id.int) or _uuid_text(task_id),
            "parent": parent_text,
            "children": [texts.get(child.int) or _uuid_text(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": internal,
            "data": data,
            "delta": delta,
            "typename": "Task",
        }
    return out


def specs_to_dict(spec, subprocess_specs: dict) -> dict:
    """The JSON form of a version's specs (the main process, and every embedded sub-process,
    called process and pool it uses), stored on the version row."""
    return {"spec": REGISTRY.convert(spec),
            "subprocess_specs": {k: REGISTRY.convert(v) for k, v in subprocess_specs.items()}}


class _SpecCache:
    """Deserialized specs per version. Versions are immutable, so entries never go stale; the
    key includes the content hash because ids repeat across databases (tests, benchmarks)."""

    def __init__(self, size: int = 64):
        self.size = size
        self.items: OrderedDict[tuple, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, version, process_id: str | None = None) -> tuple:
        """``(spec, subprocess_specs)`` of the version's main process, or of its cooperating
        process ``process_id`` (whose spec is one of the version's sub-process specs)."""
        key = (version.id, version.content_hash)
        with self.lock:
            cached = self.items.get(key)
            if cached is not None:
                self.items.move_to_end(key)
        if cached is None:
            spec = REGISTRY.restore(json.loads(json.dumps(version.spec["spec"])))
            subs = {k: REGISTRY.restore(json.loads(json.dumps(v)))
                    for k, v in version.spec["subprocess_specs"].items()}
            cached = (spec, subs)
            with self.lock:
                self.items[key] = cached
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
        spec, subs = cached
        if process_id and process_id != spec.name:
            if process_id not in subs:
                raise KeyError(f"version {version.id} has no process {process_id!r}")
            return subs[process_id], subs
        return spec, subs


SPECS = _SpecCache()


def new_workflow(version, script_engine, process_id: str | None = None) -> MotcuaWorkflow:
    """A new workflow of the version's main process, or of its cooperating ``process_id``."""
    spec, subs = SPECS.get(version, process_id)
    workflow = MotcuaWorkflow(spec, subs, script_engine=script_engine)
    workflow.process_id = process_id or None
    return workflow


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """The saved state: the serializer's JSON (specs left out), compressed with zlib. A
    finished dossier's ~16 KB of JSON keeps to 2–3 KB; the same state always gives the
    same bytes."""
    return dump_state_checked(workflow)[0]


def dump_state_checked(workflow: BpmnWorkflow) -> tuple[bytes, bool]:
    """:func:`dump_state`, and whether restoring it gives back exactly the live workflow's
    values: False when the data holds what JSON does not keep as it is (a tuple, a set, a
    dictionary with keys other than strings, an object the serializer does not know).

    The JSON is written by orjson when the data is plain (see :func:`_state_fidelity`), else
    by the library's ``json.dumps`` encoder; both read back as the same structure. Which one
    writes it depends on the state alone, so the same state still gives the same bytes.

    The dictionary is built by :func:`_state_dict`, which gives what the library's walk
    (``SERIALIZER.to_dict``) gives, in less time."""
    return _dump_state_checked(workflow, _state_dict)


def _dump_state_checked(workflow: BpmnWorkflow, to_dict) -> tuple[bytes, bool]:
    """:func:`dump_state_checked` with the workflow's dictionary built by ``to_dict`` (called
    in the registry's encoder mode)."""
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = to_dict(workflow)
        dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
        fidelity = _state_fidelity(dct)
        text = _plain_json(dct) if fidelity == _PLAIN_JSON else None
        if text is None:
            text = json.dumps(dct, cls=SERIALIZER._encoder_cls).encode("utf-8")
    finally:
        registry._encoder_mode = False
    return zlib.compress(text, ZLIB_LEVEL), fidelity != _LOSSY


#: zlib level of saved states. Level 1 compresses a state in half the CPU of level 6 (about
#: 45 µs instead of 90, of a ~200 µs save), for ~10 % more bytes: a finished dossier of the
#: bpmn/ scenarios keeps 2.8 KB instead of 2.5 on average. Levels 2–3 save only 1–2 % of the
#: bytes for a few µs more.
ZLIB_LEVEL = 1

_ENCODER = SERIALIZER._encoder_cls()
#: datetime goes through the serializer's conversion, as ``json.dumps`` sends it there;
#: dataclasses too (the walk never lets one through: this only keeps orjson from guessing).
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _plain_json(dct: dict) -> bytes | None:
    """orjson's JSON of a serialized workflow whose data is plain, or None when orjson
    cannot write it (an integer past 64 bits, nesting deeper than 254 levels)."""
    try:
        return orjson.dumps(dct, default=_ENCODER.default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return None


_LOSSY, _EXACT, _PLAIN_JSON = 0, 1, 2
_PLAIN = frozenset({str, int, bool, type(None)})
#: Types the serializer converts and restores as the same type (datetime, UUID…).
_RESTORED = frozenset(t for t in REGISTRY.typenames if t.__module__ in ("datetime", "uuid",
                                                                          "decimal"))


def _state_fidelity(dct: dict) -> int:
    """How JSON keeps the parts of a serialized workflow that hold the diagram's data (the
    rest is the serializer's own strings, ints, timestamps, booleans, lists and dictionaries,
    which both encoders write alike): :data:`_PLAIN_JSON`, :data:`_EXACT` or :data:`_LOSSY`
    (see :func:`_fidelity`)."""
    worst = _fidelity(dct.get("bpmn_events"))
    for workflow in (dct, *dct.get("subprocesses", {}).values()):
        worst = min(worst, _fidelity(workflow.get("data")), _fidelity(workflow.get("correlations")))
        for task in workflow["tasks"].values():  # most hold nothing new: skip the calls
            data, delta, internal = task["data"], task["delta"], task["internal_data"]
            if data:
                worst = min(worst, _fidelity(data))
            if delta and (delta["updates"] or delta["deletions"]):
                worst = min(worst, _fidelity(delta["updates"]), _fidelity(delta["deletions"]))
            if internal:
                worst = min(worst, _fidelity(internal))
        if worst == _LOSSY:
            return _LOSSY
    return worst


def _fidelity(value) -> int:
    """How ``value`` (a serialized workflow's data, before JSON) reads back from JSON:

    - :data:`_LOSSY`: not equal, or not of the same types (a tuple, a set, NaN, a dictionary
      with keys other than strings, an object the serializer does not know);
    - :data:`_EXACT`: equal and of the same types, but orjson would write it otherwise than
      ``json.dumps`` does (a UUID, which orjson writes as a string; an infinity, as null);
    - :data:`_PLAIN_JSON`: equal, and orjson writes what ``json.dumps`` writes.
    """
    kind = type(value)
    if kind in _PLAIN:
        return _PLAIN_JSON
    if kind is float:
        if value - value == 0:
            return _PLAIN_JSON
        return _EXACT if value == value else _LOSSY  # infinite, or NaN
    if kind is dict:
        for key in value:
            if type(key) is not str:
                return _LOSSY
        return _worst(value.values())
    if kind is list:
        return _worst(value)
    if kind not in _RESTORED:
        return _LOSSY
    return _EXACT if kind is UUID else _PLAIN_JSON


def _worst(values) -> int:
    """The lowest :func:`_fidelity` of ``values``, stopping at the first lossy one."""
    worst = _PLAIN_JSON
    for item in values:
        level = _fidelity(item)
        if level < worst:
            if level == _LOSSY:
                return _LOSSY
            worst = level
    return worst


def state_json(state: bytes | str) -> str:
    """The JSON text of a saved state: compressed (zlib, first byte 0x78), or a plain JSON
    state saved before states were compressed."""
    text = _state_text(state)
    return text if isinstance(text, str) else text.decode("utf-8")


def _state_text(state: bytes | str) -> bytes | str:
    """:func:`state_json` as UTF-8 bytes when the state is stored as bytes."""
    if isinstance(state, str):
        return state
    state = bytes(state)
    return zlib.decompress(state) if state[:1] == b"x" else state


#: Every byte but a digit becomes a space, every digit a zero: a run of 19 digits then
#: shows as :data:`_LONG_DIGIT_RUN`.
_ZEROS_FOR_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def _parse_state(text: bytes | str) -> dict:
    """``json.loads`` of a state's JSON, by orjson when that reads the same. orjson refuses
    what only ``json`` reads (NaN, Infinity, a lone surrogate, a number past the float
    range); its one silent difference, an integer past 64 bits read as a float, needs a run
    of 19 digits or more, and JSON holding such a run (a state written by ``json`` with a
    big integer, a long number in a string) is read by ``json``."""
    if (SERIALIZER.json_decoder_cls is None and isinstance(text, bytes)
            and _LONG_DIGIT_RUN not in text.translate(_ZEROS_FOR_DIGITS)):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, cls=SERIALIZER.json_decoder_cls)


def load_state(state: bytes | str, version, process_id: str | None = None) -> MotcuaWorkflow:
    """Restore a saved workflow onto the version's specs: those of ``process_id`` if given,
    else of the process the state says it runs (the main one when it says nothing)."""
    dct = _parse_state(_state_text(state))
    SERIALIZER.migrate(dct)
    process_id = process_id or dct.pop("process_id", None)
    dct.pop("process_id", None)
    dct["spec"], dct["subprocess_specs"] = SPECS.get(version, process_id)
    workflow = SERIALIZER.from_dict(dct)
    workflow.process_id = process_id or None
    return workflow
