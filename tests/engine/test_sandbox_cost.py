"""Which scripts are judged cheap, which may be tried in the step's process before the pool
(engine/sandbox_cost.py), and that a trial stays within its budget."""

import ast

import pytest

from engine.sandbox import SAFE_ATTRIBUTES
from engine.sandbox_cost import READ_ONLY_ATTRIBUTES, TRIAL, judge


def judged(source: str) -> tuple[bool, bool]:
    return judge(list(ast.walk(ast.parse(source, mode="exec"))))


def test_every_attribute_a_script_may_use_is_read_only_or_a_known_change_in_place():
    assert READ_ONLY_ATTRIBUTES <= SAFE_ATTRIBUTES
    assert SAFE_ATTRIBUTES - READ_ONLY_ATTRIBUTES == {
        "append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear",
        "setdefault", "update", "add", "discard"}


@pytest.mark.parametrize(("source", "expected"), [
    ("fee = total * 2", (False, False)),  # cheap: runs in the step's process anyway
    ("labels = '; '.join([names[k] for k in kinds])", (True, True)),
    ("def twice(v):\n    return v * 2\nfees = [twice(f) for f in fees]", (True, True)),
    ("rows = sorted(rows, key=lambda r: r['n'])", (True, True)),
    ("del tmp\nn = 0\nwhile n < 3:\n    n = n + 1", (True, True)),
    ("rows = [r for r in rows]\nrows.sort()", (True, False)),
    ("for k in kinds:\n    totals[k] = 0", (True, False)),
    ("for k in kinds:\n    n += 1", (True, False)),
    ("first = rows.pop", (False, False)),  # cheap: never leaves the step's process
    # heavy by its operations too: between two steps it may do more than a cheap script
    ("x = [a for a in b]\ny = " + " + ".join(["len(b)"] * 9), (True, False)),
    ("y = " + " + ".join(["len(b)"] * 9), (True, False)),
])
def test_scripts_are_tried_only_when_they_repeat_and_change_nothing_in_place(source, expected):
    assert judged(source) == expected


def test_a_trial_stops_at_its_steps_and_at_what_it_builds_or_measures():
    from engine.errors import ScriptError
    from engine.sandbox import RestrictedEvaluator

    evaluator = RestrictedEvaluator()
    with pytest.raises(ScriptError, match=f"More than {TRIAL.steps} loop steps"):
        evaluator._run("n = [i for i in range(5000)]", "exec", {}, None, TRIAL)
    with pytest.raises(ScriptError, match="too large"):
        evaluator._run("n = list(range(50000))", "exec", {}, None, TRIAL)
    with pytest.raises(ScriptError, match="too large"):  # measuring stops at the budget too
        evaluator._run("n = [sorted(rows) for i in range(1)]", "exec",
                       {"rows": list(range(TRIAL.allocated + 1))}, None, TRIAL)
    assert TRIAL.check_every == 1  # its deadline is read at every step
