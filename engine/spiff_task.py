"""The tasks of our workflows: the library's ``Task``, minus the log extras nobody reads.

SpiffWorkflow 3.2 builds a logging "extra" dictionary before every record it may log, and
``logger.info`` only then finds the record disabled. ``Task._set_state`` does it on every
state change (the state's name, by ``TaskState.get_name``, which builds a dictionary of all
names each call, and ``collect_log_extras``); ``Workflow.collect_log_extras`` lists the ids
of the whole task tree whenever its logger's own level is unset, which is the default.
Together that was about 15 % of the engine's time running a procedure in memory.

:class:`MotcuaTask` and :class:`OwnTasks` (mixed into ``engine.spiff``'s workflow classes)
ask the library's loggers first (``isEnabledFor``: level, ``logging.disable``): when a
record would be emitted they do exactly what the library does (same message, same extras),
and when it would not they skip building it. States, ``last_state_change`` and the rest
are the library's. The library's own ``Task`` is left alone: a plain ``BpmnWorkflow``
still runs and logs as it always did.

Every task of our workflows is a :class:`MotcuaTask`: the library creates tasks in
``Task._add_child`` (overridden here), in the serializer (``engine.spiff`` registers its
task converter for this class) and as the root in ``Workflow.__init__``, which also
predicts the root's first children there; :class:`OwnTasks` turns those few into ours when
the constructor returns.
"""

from __future__ import annotations

import logging
import time

from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.task import logger as TASK_LOG
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import logger as WORKFLOW_LOG

__all__ = ["TASK_LOG", "WORKFLOW_LOG", "MotcuaTask", "OwnTasks"]


class MotcuaTask(Task):
    """A task of a workflow of ours: its children are of this class too, and a state change
    builds its log record only when the library's task logger would emit it."""

    def _add_child(self, task_spec: TaskSpec, state: int = TaskState.MAYBE) -> MotcuaTask:
        """The library's ``_add_child``, making a task of this class."""
        if self.has_state(TaskState.PREDICTED_MASK) and state & TaskState.PREDICTED_MASK == 0:
            raise WorkflowException('Attempt to add non-predicted child to predicted task',
                                    task_spec=self.task_spec)
        task = MotcuaTask(self.workflow, task_spec, self, state=state)
        task.thread_id = self.thread_id
        if state == TaskState.READY:
            task._ready()
        return task

    def _set_state(self, value: int) -> None:
        """The library's ``_set_state``, which logs a change at INFO and a repeated state at
        DEBUG; without the record when the task logger would drop it."""
        if value != self._state:
            if TASK_LOG.isEnabledFor(logging.INFO):
                super()._set_state(value)
                return
            self.last_state_change = time.time()
            self._state = value
        elif TASK_LOG.isEnabledFor(logging.DEBUG):
            super()._set_state(value)


class OwnTasks:
    """A workflow mixin (before the library's workflow class): its tasks are
    :class:`MotcuaTask`, and its log extras are built only for a record that is emitted."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The root and the children predicted in ``Workflow.__init__`` (none when restoring).
        for task in self.tasks.values():
            if type(task) is Task:
                task.__class__ = MotcuaTask

    def collect_log_extras(self, dct: dict | None = None) -> dict:
        """The library's extras when its workflow logger emits INFO records (every record the
        library logs with them is INFO); otherwise ``dct`` (or nothing) as it is, since the
        record is dropped unread and the library's extras list every task of the tree."""
        if WORKFLOW_LOG.isEnabledFor(logging.INFO):
            return super().collect_log_extras(dct)
        return {} if dct is None else dct
