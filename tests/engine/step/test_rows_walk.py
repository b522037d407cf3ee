"""engine.step.rows walks the task tree itself (:func:`rows.tasks_in`, engine.spiff's walk):
checked against the library's own walk after every step of real dossiers.

The tests below are the procedures' scenarios and the element tests that reach the shapes a
walk can get wrong (a multi-instance task, a loop past the library's depth cap, sub-processes
and call activities, event sub-processes, timers, event-based gateways, waiting messages),
collected once more here with every ``tasks_in`` compared to the library's ``get_tasks`` (its
iterator, listed) and every ``wanted`` to the rows the library's walk gives, in the same order.
"""

from __future__ import annotations

from collections import Counter

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.step import rows
from tests.engine.test_spiff_walks import library_get_tasks, same_tasks
from tests.engine.walked import *  # noqa: F403 (the walked tests, run once more)


def library_wanted(workflow, dossier_code: str) -> rows.Wanted:
    """:func:`rows.wanted` as it was written over the library's walk."""
    need = rows.Wanted()
    for task in library_get_tasks(workflow, state=TaskState.READY | TaskState.WAITING):
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                need.tasks[str(task.id)] = task
            continue
        name = rows.spec_name(task)
        for definition in rows.waiting_definitions(task):
            if isinstance(definition, TimerEventDefinition):
                due = rows.moment(task._get_internal_data("event_value"))
                if due is not None:
                    need.timers[str(task.id)] = rows.TimerRow(name, due)
            elif isinstance(definition, MessageEventDefinition):
                correlation = rows.waiting_correlation(task, definition, dossier_code)
                need.waits[(str(task.id), definition.name)] = rows.WaitRow(name,
                                                                           correlation[:255])
    return need


def same_rows(need: rows.Wanted, expected: rows.Wanted) -> bool:
    return all(list(getattr(need, kind).items()) == list(getattr(expected, kind).items())
               for kind in ("tasks", "timers", "waits"))


@pytest.fixture(autouse=True)
def checked(monkeypatch):
    """Every walk and every ``wanted`` of the test compared with the library's."""
    seen = Counter()
    walk, wanted = rows.tasks_in, rows.wanted

    def checked_tasks_in(workflow, state):
        found = walk(workflow, state)
        assert same_tasks(found, library_get_tasks(workflow, state=state)), \
            TaskState.get_name(state)
        seen["walks"] += 1
        seen["in sub-processes"] += any(task.workflow is not workflow for task in found)
        return found

    def checked_wanted(workflow, dossier_code):
        need = wanted(workflow, dossier_code)
        assert same_rows(need, library_wanted(workflow, dossier_code))
        seen["steps"] += 1
        for kind in ("tasks", "timers", "waits"):
            seen[kind] += len(getattr(need, kind))
        return need

    monkeypatch.setattr(rows, "tasks_in", checked_tasks_in)
    monkeypatch.setattr(rows, "wanted", checked_wanted)
    yield seen
    assert seen["steps"] and seen["walks"] >= seen["steps"]
