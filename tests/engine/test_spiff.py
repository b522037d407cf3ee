"""engine.spiff: the saved state is a function of the workflow alone and restores onto cached
specs; timers read the engine's clock. No database: diagrams are parsed and run in memory."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.bundles import parse
from engine.calendar import WorkingCalendar
from engine.operators import REGISTRY
from engine.scripting import MotcuaScriptEngine, make_evaluator
from engine.spiff import SPECS, dump_state, load_state, new_workflow, specs_to_dict, state_json
from tests.engine.elements.kit import bundle

ROLES = {"reception", "handler", "head"}
_ids = iter(range(10_000, 20_000))


def version(name: str, *, content_hash: str | None = None) -> SimpleNamespace:
    """A deployed version as the engine reads it, from diagram ``name`` of the element tests."""
    parsed = parse(bundle(name), known_roles=ROLES, operators=REGISTRY)
    return SimpleNamespace(id=next(_ids), content_hash=content_hash or f"hash-{name}",
                           spec=json.loads(json.dumps(
                               specs_to_dict(parsed.spec, parsed.subprocess_specs))))


def started(v, data: dict | None = None):
    engine = MotcuaScriptEngine(None, make_evaluator(WorkingCalendar()))
    workflow = new_workflow(v, engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(application=data or {})
    workflow.do_engine_steps()
    return workflow


def waiting_names(workflow) -> list[str]:
    return sorted(t.task_spec.name for t in workflow.get_tasks(state=TaskState.WAITING))


def test_a_saved_state_restores_to_the_same_bytes():
    v = version("gateways")
    workflow = started(v, {"n": 2})
    saved = dump_state(workflow)
    again = dump_state(load_state(saved, v))
    assert again == saved
    assert saved[:1] == b"x"  # zlib
    assert len(saved) < len(state_json(saved)) / 2


def test_a_state_saved_as_plain_json_still_restores():
    v = version("gateways")
    workflow = started(v, {"n": 2})
    plain = state_json(dump_state(workflow))
    assert plain.startswith("{")
    assert dump_state(load_state(plain, v)) == dump_state(workflow)
    assert dump_state(load_state(plain.encode("utf-8"), v)) == dump_state(workflow)


def test_specs_are_restored_once_per_version_and_content():
    v = version("gateways")
    first, _ = SPECS.get(v)
    assert SPECS.get(v)[0] is first
    # the same id with other content (another database, a test) is another entry
    other = SimpleNamespace(id=v.id, content_hash="other", spec=v.spec)
    assert SPECS.get(other)[0] is not first


def test_an_unknown_cooperating_process_is_named():
    v = version("gateways")
    with pytest.raises(KeyError, match="no_such_process"):
        SPECS.get(v, "no_such_process")


def test_timers_read_the_engine_clock():
    v = version("intermediate")
    workflow = started(v)
    timer = waiting_names(workflow)
    assert timer, "the diagram starts by waiting on its timer"
    workflow.refresh_timers()
    workflow.do_engine_steps()
    assert waiting_names(workflow) == timer  # two hours have not passed
    clock.travel(timedelta(hours=3))
    restored = load_state(dump_state(workflow), v)
    restored.script_engine = workflow.script_engine
    restored.refresh_timers()
    restored.do_engine_steps()
    assert waiting_names(restored) != timer  # the timer fired on the engine's clock
