"""engine.spiff's saved state reads back as the library's ``json.dumps`` would have written it,
whichever encoder wrote it: orjson for plain data, ``json`` for the rest. Diagrams run in
memory; the procedures of bpmn/ run through their scenarios on SQLite (a state does not
depend on the database)."""

from __future__ import annotations

import dataclasses
import enum
import json
import zlib
from collections import OrderedDict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
import yaml
from SpiffWorkflow.util.task import TaskState

import engine.runtime
import engine.spiff
from engine.spiff import SERIALIZER, dump_state, dump_state_checked, load_state, state_json
from tests.engine.test_spiff import started, version
from tests.scenario import run_scenario, saved_as_the_library_saves

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(REPO.glob("bpmn/*/scenarios/*.yaml"))
UUID_VALUE = UUID("12345678-1234-5678-1234-567812345678")


def reference_json(workflow) -> str:
    """What the state was before orjson: the library's encoder over the same dictionary."""
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
        dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
        return json.dumps(dct, cls=SERIALIZER._encoder_cls)
    finally:
        registry._encoder_mode = False


def assert_reads_as_before(workflow) -> str:
    """The saved state decodes to what the ``json`` path decodes to, and the same state
    saves to the same bytes; its JSON text."""
    saved, _ = saved_as_the_library_saves(workflow)
    text = state_json(saved)
    assert json.loads(text) == json.loads(reference_json(workflow))
    assert dump_state_checked(workflow)[0] == saved
    return text


def with_data(**values):
    """The gateways diagram, started, with ``values`` in a task's data (a delta from its
    parent), in the root task's data and in the workflow's data."""
    workflow = started(version("gateways"), {"n": 2})
    task = workflow.get_tasks(state=TaskState.READY)[0]
    task.data.update(values)
    workflow.task_tree.data.update(values)
    workflow.data.update(values)
    return workflow


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int


PLAIN = {
    "text": {"name": "Công ty Vận tải Hà Nội", "quote": 'a "b" \\ c\n', "emoji": "🚚"},
    "numbers": {"zero": 0, "negative": -7, "u64": 2**64 - 1, "i64": -(2**63), "pi": 3.14159,
                "tenth": 0.1, "big": 1e16, "tiny": 5e-324, "minus_zero": -0.0},
    "nested": {"list": [1, [2, [3, {"deep": None}]]], "empty": {}, "flags": [True, False]},
    "moment": {"at": datetime(2026, 12, 6, 9, 30, 15, 123456), "after": timedelta(days=2)},
}
#: Read back equal by ``json`` but written otherwise by orjson: the ``json`` path writes them.
EXACT = {
    "uuid": UUID_VALUE,
    "infinity": float("inf"),
    "minus_infinity": float("-inf"),
    "past_64_bits": 2**64,  # orjson refuses it
    "below_64_bits": -(2**63) - 1,
}
#: Not read back as they are (the state is not faithful): the ``json`` path writes them.
LOSSY = {
    "nan": float("nan"),
    "tuple": (1, "a"),
    "set": {3},
    "int_keys": {1: "one", 2: "two"},
    "none_key": {None: 1},
    "float_key": {1.5: "x"},
    "ordered": OrderedDict(a=1),
    "callable": len,
}
#: Neither encoder writes them: saving fails as it did.
UNWRITABLE = {
    "decimal": Decimal("1.5"),
    "date": date(2026, 12, 6),
    "enum": Colour.RED,
    "dataclass": Point(1),
    "uuid_key": {"by_id": {UUID_VALUE: 1}},
}


def nest(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("values", [PLAIN, {"when": PLAIN["moment"]}],
                         ids=["plain", "datetime"])
def test_plain_data_reads_back_as_before(values):
    workflow = with_data(**values)
    text = assert_reads_as_before(workflow)
    assert text != reference_json(workflow)  # written by orjson, not by json.dumps
    assert dump_state_checked(workflow)[1]


@pytest.mark.parametrize("name", [*EXACT, "very_deep"])
def test_exact_data_orjson_would_change_is_written_by_json(name):
    value = nest(300) if name == "very_deep" else EXACT[name]
    workflow = with_data(**{name: value})
    assert assert_reads_as_before(workflow) == reference_json(workflow)
    assert dump_state_checked(workflow)[1]


@pytest.mark.parametrize("name", sorted(LOSSY))
def test_lossy_data_is_written_by_json_and_not_faithful(name):
    workflow = with_data(**{name: LOSSY[name]})
    assert assert_reads_as_before(workflow) == reference_json(workflow)
    assert not dump_state_checked(workflow)[1]


@pytest.mark.parametrize("part", ["internal_data", "correlations", "subprocess"])
def test_every_part_holding_data_is_checked(part):
    workflow = started(version("transaction" if part == "subprocess" else "gateways"), {"n": 2})
    if part == "internal_data":
        workflow.get_tasks(state=TaskState.READY)[0].internal_data["id"] = UUID_VALUE
    elif part == "correlations":
        workflow.correlations["dossier"] = {"id": UUID_VALUE}
    else:
        subprocess = next(iter(workflow.subprocesses.values()))
        subprocess.data["id"] = UUID_VALUE
    assert assert_reads_as_before(workflow) == reference_json(workflow)


def odd_shape(workflow, shape: str) -> None:
    """Give the workflow's ready task (or its parent) a shape the engine's save leaves to
    the library's converters, or one its own walk treats apart."""
    task = workflow.get_tasks(state=TaskState.READY)[0]
    if shape == "ordered_data":  # the task, and its children, go through the registry
        task.data = OrderedDict(task.data)
        task.parent.data = OrderedDict(task.parent.data)
    elif shape == "deleted_key":
        task.data.pop(next(iter(task.data)))
    elif shape == "callable_internal_data":  # left out of the state
        task.internal_data.update(hook=len, module=json)
    elif shape == "callable_workflow_data":
        workflow.data.update(hook=len, module=json)
    elif shape == "ordered_internal_data":
        task.internal_data = OrderedDict(task.internal_data, hook=len, note="ghi chú")
    elif shape == "text_task_key":  # its children then have no parent to take a delta from
        key = task.parent.id
        task.workflow.tasks[str(key)] = task.workflow.tasks.pop(key)


@pytest.mark.parametrize("shape", ["ordered_data", "deleted_key", "callable_internal_data",
                                   "callable_workflow_data", "ordered_internal_data",
                                   "text_task_key"])
def test_odd_shapes_are_saved_as_the_library_saves(shape):
    workflow = started(version("transaction"), {"n": 2})
    odd_shape(workflow, shape)
    saved_as_the_library_saves(workflow)


def test_values_a_task_shares_with_its_parent_are_saved_as_the_library_saves():
    """The save takes a value the parent holds as the very same object for unchanged; a NaN
    is not equal to itself, so the library writes it as changed, and so must the save."""
    workflow = started(version("gateways"), {"n": 2})
    task = workflow.get_tasks(state=TaskState.READY)[0]
    shared = {"nan": float("nan"), "ratio": 0.5, "form": {"a": [1, 2]}, "none": None,
              "name": "Sở Tài chính"}
    task.parent.data.update(shared)
    task.data.update(shared)
    task.data["copied"] = dict(task.parent.data["form"])  # equal, not the same object
    task.parent.data["copied"] = {"a": [1, 2]}
    saved_as_the_library_saves(workflow)
    updates = json.loads(state_json(dump_state(workflow)))["tasks"][str(task.id)]["delta"][
        "updates"]
    assert "nan" in updates and not {"ratio", "form", "none", "name", "copied"} & set(updates)


@pytest.mark.parametrize("name", sorted(UNWRITABLE))
def test_data_no_encoder_writes_fails_as_before(name):
    workflow = with_data(value=UNWRITABLE[name])
    with pytest.raises(TypeError) as before:
        reference_json(workflow)
    with pytest.raises(TypeError) as now:
        dump_state(workflow)
    assert str(now.value) == str(before.value)


#: The element diagrams a workflow starts from alone (the others need a called process or
#: deployment-time checks), and what their user tasks are completed with.
DIAGRAM_NAMES = ["boundary_on_task", "camunda_permit", "camunda_review", "collaboration",
                 "conditional", "data_objects", "data_store", "error_escalation", "event_race",
                 "event_subprocess", "gateways", "intermediate", "msg_internal", "msg_receiver",
                 "msg_self", "msg_sender", "multi_instance", "parallel_loop", "script_loop",
                 "signals", "system_start", "transaction", "user_loop"]
APPLICATION = {"n": 2, "amount": 3, "vehicles": ["29A-12345", "30B-67890"], "flag": True,
               "target": "2026-01-01T00:00:00"}
TASK_DATA = {"decision": "approve", "approved": True, "more": False, "note": "Ghi chú",
             "result": "ok", "target": "29A-12345", "channel": "email", "complete": True,
             "a_ok": True, "b_ok": True, "proposal": "Đề xuất cấp phép",
             "dossier": {"code": "000.00.14.H56-261206-0001"}}


@pytest.mark.parametrize("name", DIAGRAM_NAMES)
def test_every_diagram_reads_back_as_before_at_every_step(name):
    v = version(name)
    workflow = started(v, APPLICATION)
    for turn in range(12):
        assert_reads_as_before(workflow)
        saved = dump_state(workflow)
        assert dump_state(load_state(saved, v)) == saved
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            break
        ready[0].data.update(TASK_DATA, turn=turn, at=datetime(2026, 1, 1 + turn))
        ready[0].run()
        workflow.do_engine_steps()


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only: the saved states do not depend on the database."""
    return f"sqlite:///{tmp_path / 'motcua.sqlite3'}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda s: f"{s.parent.parent.name}/{s.stem}")
def test_every_procedure_state_reads_back_as_before(platform, path, monkeypatch):
    saves = []

    def checked(workflow):
        saves.append(assert_reads_as_before(workflow))
        return dump_state_checked(workflow)

    monkeypatch.setattr(engine.runtime, "dump_state_checked", checked)
    monkeypatch.setattr(engine.spiff, "dump_state_checked", checked)
    run_scenario(platform, yaml.safe_load(path.read_text(encoding="utf-8")))
    assert saves


@pytest.mark.parametrize("values", [PLAIN, EXACT], ids=["plain", "exact"])
def test_a_state_restores_the_same_values(values):
    v = version("gateways")
    workflow = started(v, {"n": 2})
    workflow.task_tree.data.update(values)
    task = workflow.get_tasks(state=TaskState.READY)[0]
    task.data.update(values)
    saved = dump_state(workflow)
    restored = load_state(saved, v)
    assert dump_state(restored) == saved
    again = restored.get_task_from_id(task.id).data
    for key, value in values.items():
        assert again[key] == value and type(again[key]) is type(value), key


def test_a_state_with_long_numbers_restores_them_exactly():
    v = version("gateways")
    workflow = started(v, {"n": 2})
    numbers = {"past_64_bits": 2**64 + 1, "far": -(10**30) - 1,
               "citizen_ids": "0790123456789012345678", "float": 1.2345678901234567e-5}
    workflow.get_tasks(state=TaskState.READY)[0].data.update(numbers)
    restored = load_state(dump_state(workflow), v)
    data = restored.get_tasks(state=TaskState.READY)[0].data
    assert {k: data[k] for k in numbers} == numbers
    assert type(data["past_64_bits"]) is int and type(data["far"]) is int


def test_a_state_with_nan_restores_nan():
    v = version("gateways")
    workflow = started(v, {"n": 2})
    workflow.get_tasks(state=TaskState.READY)[0].data["ratio"] = float("nan")
    restored = load_state(dump_state(workflow), v)
    ratio = restored.get_tasks(state=TaskState.READY)[0].data["ratio"]
    assert ratio != ratio


def test_a_state_saved_by_json_dumps_restores_the_same():
    """States saved before orjson (json.dumps, zlib level 6) restore to the same workflow."""
    v = version("gateways")
    workflow = started(v, {"n": 2})
    workflow.get_tasks(state=TaskState.READY)[0].data.update(PLAIN)
    old = zlib.compress(reference_json(workflow).encode("utf-8"), 6)
    assert dump_state(load_state(old, v)) == dump_state(workflow)
