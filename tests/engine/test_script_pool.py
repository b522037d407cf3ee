"""Scripts the sandbox cannot prove cheap run in worker processes under hard CPU and memory
limits: a runaway script is stopped there while other scripts go on being served, and the
step it belongs to fails naming the element."""

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest

from engine import accounts, clock, dossiers
from engine.calendar import OFF, WorkingCalendar
from engine.errors import ScriptError
from engine.procedures import deploy_bundle
from engine.script_pool import ScriptPool
from engine.scripting import make_evaluator, portable_functions
from tests.engine.elements.kit import bundle

# Each `-1 in x` scans a million items in C: the sandbox counts one step per turn, so only
# its clock would notice, and here the clock is set far away to reach the hard limit.
RUNAWAY = "x = list(range(1000000))\nn = 0\nfor i in range(99000):\n    n += (-1 in x)\n"
# Changes a list in place, so it is never tried in the step's process first: it always
# goes to a worker.
SQUARES = "squares = []\nfor i in range(4):\n    squares.append(i * i)"


@pytest.fixture
def pool():
    pool = ScriptPool(workers=2, cpu_seconds=1, memory_mb=512)
    pool.start()
    yield pool
    pool.close()


def test_a_runaway_script_is_stopped_while_other_scripts_are_served(pool):
    lax = make_evaluator(WorkingCalendar(), timeout=600, pool=pool)
    outcome = {}

    def runaway():
        try:
            lax.execute(RUNAWAY, {})
        except ScriptError as exc:
            outcome["runaway"] = exc.message
        outcome["order"] = outcome.get("order", []) + ["runaway ended"]

    thread = threading.Thread(target=runaway)
    thread.start()
    served = make_evaluator(WorkingCalendar(), pool=pool)
    context = {"fees": [1, 2, 3]}
    served.execute("doubled = []\nfor f in fees:\n    doubled.append(f * 2)\ntotal = sum(doubled)",
                   context)  # the other worker
    assert served.evaluate("total > 10", context) is True  # in-process: cheap
    outcome["order"] = outcome.get("order", []) + ["others served"]
    thread.join(60)
    assert outcome["order"] == ["others served", "runaway ended"]
    assert "stopped" in outcome["runaway"] and "1 s of processor time" in outcome["runaway"]
    context = {}
    served.execute(SQUARES, context)  # a new worker took over
    assert context == {"squares": [0, 1, 4, 9], "i": 3}


def test_cheap_code_stays_in_process_and_heavy_code_goes_to_the_pool(pool):
    evaluator = make_evaluator(WorkingCalendar(), pool=pool)
    assert not evaluator.is_heavy("application['n'] > 3 and working_days(2)")
    assert evaluator.is_heavy("[x for x in items]")
    assert evaluator.is_heavy("def f():\n    return 1", "exec")
    assert evaluator.is_heavy("a = " + " + ".join(["len(b)"] * 9), "exec")
    # a display of names may hold one large value many times: each name counts
    assert evaluator.is_heavy("x = [" + ", ".join(["a"] * 9) + "]", "exec")
    assert evaluator.is_heavy("x = {'k': [a, a, a], 'l': (a, a, a, a, a, a)}", "exec")
    assert not evaluator.is_heavy("x, y = y, x", "exec")
    assert not evaluator.is_heavy("status in ['a', 'b', ('c', -1), {'d': None}]")


def test_what_a_pooled_script_leaves_is_measured_in_the_server(pool):
    evaluator = make_evaluator(WorkingCalendar(), pool=pool)
    context = {"fee": 5}
    script = "a = list(range(999000))\nrows = [a for i in range(999)]\ndel a"
    with pytest.raises(ScriptError, match="'rows' is too large to keep"):
        evaluator.execute(script, context)
    assert context == {"fee": 5}


def script_task_bundle(script: str) -> dict:
    """The one-task test bundle with its task made a script task ``runaway`` running ``script``."""
    text = bundle("no_lane")["process.bpmn"].replace('"review"', '"runaway"').replace(
        '<bpmn:userTask id="runaway" name="Xem xét">', '<bpmn:scriptTask id="runaway">'
    ).replace("</bpmn:userTask>", "<bpmn:script>" + script + "</bpmn:script></bpmn:scriptTask>")
    return bundle("no_lane", text=text, default_role="handler")


def test_a_stopped_script_fails_its_step_naming_the_element(platform):
    code = deploy_bundle(platform, script_task_bundle(RUNAWAY))["code"]
    platform.settings.script_timeout_seconds = 600  # only the hard limit can stop it now
    platform.settings.script_cpu_seconds = 1
    applicant = accounts.find_user(platform, "congdan")
    with pytest.raises(ScriptError) as err:
        dossiers.submit(platform, applicant, code, {}, {})
    assert err.value.details[0]["element"] == "runaway"
    assert "1 s of processor time" in err.value.message


def test_a_script_keeping_one_list_many_times_fails_its_step_naming_the_element(platform):
    script = "a = list(range(999000))\nrows = [a for i in range(999)]\ndel a"
    code = deploy_bundle(platform, script_task_bundle(script))["code"]
    applicant = accounts.find_user(platform, "congdan")
    with pytest.raises(ScriptError) as err:
        dossiers.submit(platform, applicant, code, {}, {})
    assert err.value.details[0]["element"] == "runaway"
    assert "'rows' is too large to keep" in err.value.message


def slow_to_start(conn, memory_bytes: int, cpu_seconds: float) -> None:
    """A worker that takes longer to start than a script may take (a loaded machine)."""
    import time

    from engine.script_pool import _serve

    time.sleep(3)
    _serve(conn, memory_bytes, cpu_seconds)


class _SlowStartingPool(ScriptPool):
    serve = staticmethod(slow_to_start)


def test_a_worker_slow_to_start_does_not_count_against_the_script():
    """A script may take 3 × 0.1 + 2 s of wall time; its worker takes 3 s to start, and the
    script still runs: its time counts from when the worker is ready."""
    pool = _SlowStartingPool(workers=1, cpu_seconds=0.1, memory_mb=512)
    try:
        evaluator = make_evaluator(WorkingCalendar(), pool=pool)
        context = {}
        evaluator.execute(SQUARES, context)
        assert context == {"squares": [0, 1, 4, 9], "i": 3}
    finally:
        pool.close()


def test_a_heavy_script_counts_deadlines_with_the_provinces_times_of_day(pool):
    # The province closes at 16:30 and counts a dossier received from 11:00 as received the
    # next working day: a script the pool runs must give the deadline the step's own
    # process gives, not one at the calendar's default 17:00.
    calendar = WorkingCalendar(close_of_day=time(16, 30), afternoon_cutoff=time(11, 0))
    evaluator = make_evaluator(calendar, pool=pool)
    script = ("due = []\nfor moment in received:\n    due.append(working_days(1, moment))\n"
              "before = [working_days_before(d, 1) for d in due]\n")
    received = ["2026-01-08T10:00:00+07:00", "2026-01-08T11:30:00+07:00"]
    pooled, here = {"received": received}, {"received": received}
    evaluator.execute(script, pooled)
    assert evaluator.is_heavy(script, "exec")
    make_evaluator(calendar).execute(script, here)  # no pool: in the step's own process
    assert pooled == here
    tried = {"received": received}
    evaluator.execute("due = [working_days(1, moment) for moment in received]", tried)
    assert tried["due"] == pooled["due"]  # the same when tried in the step's process
    assert [datetime.fromisoformat(d) for d in pooled["due"]] == [
        datetime(2026, 1, 9, 16, 30, tzinfo=clock.VIETNAM),
        datetime(2026, 1, 12, 16, 30, tzinfo=clock.VIETNAM)]


def test_a_worker_keeps_one_calendar_per_overrides_and_times():
    overrides = {date(2026, 1, 12): OFF}
    first = portable_functions(overrides, False, None, timedelta(0), (time(16), time(12)))
    again = portable_functions(dict(overrides), False, None, timedelta(0), (time(16), time(12)))
    other = portable_functions(overrides, False, None, timedelta(0), (time(17), time(17)))
    friday = "2026-01-09T10:00:00+07:00"
    assert first["working_days"](1, friday) == again["working_days"](1, friday) == \
        datetime(2026, 1, 13, 16, 0, tzinfo=clock.VIETNAM).astimezone(UTC).isoformat()
    assert other["working_days"](1, friday) == \
        datetime(2026, 1, 13, 17, 0, tzinfo=clock.VIETNAM).astimezone(UTC).isoformat()
    cell = first["working_days"].__closure__
    kept = {id(c.cell_contents) for c in cell if isinstance(c.cell_contents, WorkingCalendar)}
    cell = again["working_days"].__closure__
    assert kept == {id(c.cell_contents) for c in cell
                    if isinstance(c.cell_contents, WorkingCalendar)}


class _CountingPool(ScriptPool):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.runs = 0

    def run(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        self.runs += 1
        return super().run(*args, **kwargs)


def test_a_repeating_script_is_tried_here_and_goes_to_a_worker_only_past_its_budget():
    pool = _CountingPool(workers=1, cpu_seconds=1, memory_mb=512)
    try:
        evaluator = make_evaluator(WorkingCalendar(), pool=pool)
        context = {"kinds": ["bus", "taxi"]}
        evaluator.execute("labels = '; '.join([k.upper() for k in kinds])", context)
        assert context["labels"] == "BUS; TAXI" and pool.runs == 0
        evaluator.execute("total = sum([i for i in range(5000)])", context)
        assert context["total"] == sum(range(5000)) and pool.runs == 1
        with pytest.raises(ScriptError, match="ZeroDivisionError: division by zero"):
            evaluator.execute("shares = [100 / n for n in counts]", {"counts": [2, 0]})
        assert pool.runs == 2
        # kept in a list, a function is no task data: the worker cannot send it back
        with pytest.raises(ScriptError, match="result cannot be kept"):
            evaluator.execute("rules = [lambda v: v * 2]", {})
        assert pool.runs == 3
    finally:
        pool.close()
