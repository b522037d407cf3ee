"""The restricted evaluator: escapes fail with useful messages, ordinary expressions work."""

from __future__ import annotations

import copy
import time
from datetime import UTC, date, datetime

import pytest

from engine import clock
from engine.errors import ScriptError
from engine.sandbox import RestrictedEvaluator
from engine.script_pool import run_job


@pytest.fixture(scope="module")
def ev() -> RestrictedEvaluator:
    return RestrictedEvaluator({"working_days": lambda n: f"P{n}D"})


# (source, mode, a word the message must contain so an analyst sees what is wrong)
ESCAPES = [
    ("().__class__.__base__.__subclasses__()", "eval", "__class__"),
    ("__import__('os')", "eval", "__import__"),
    ("open('/etc/passwd')", "eval", "'open'"),
    ("import os", "exec", "import"),
    ("from os import path", "exec", "import"),
    ("getattr(1, '__class__')", "eval", "'getattr'"),
    ("(lambda: 1).__globals__", "eval", "__globals__"),
    ("'{0.__class__}'.format(1)", "eval", "f-string"),
    ("'{a.__class__}'.format_map({'a': 1})", "eval", ".format_map"),
    ("[x for x in ().__class__.__mro__]", "eval", "__mro__"),
    ("eval('1')", "eval", "'eval'"),
    ("exec('1')", "eval", "'exec'"),
    ("type(1)", "eval", "'type'"),
    ("globals()", "eval", "'globals'"),
    ("vars()", "eval", "'vars'"),
    ("x = print.__self__", "exec", "__self__"),
    ("@print\ndef f():\n    pass", "exec", "decorators"),
    ("def f(x: int):\n    return x", "exec", "annotations"),
    ("def _f():\n    pass", "exec", "'_'"),
    ("def f(n):\n    return f(n + 1)\nx = f(0)", "exec", "recurses"),
    ("def f():\n    return f.__globals__", "exec", "__globals__"),
    ("x = datetime.now().__class__", "exec", "__class__"),
    ("x = timedelta.__subclasses__()", "exec", "__subclasses__"),
    ("len(sorted([list(range(1000000))] * 15000))", "eval", "too large"),
    ("len(str([a] * 20))", "eval", "too large"),
    ("max([list(range(1000))] * 2000)", "eval", "too large"),
    ("class A:\n    pass", "exec", "'class'"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "exec", "'try'"),
    ("global x", "exec", "'global'"),
    ("x = (lambda: (yield))", "exec", "'yield'"),
    ("x = [*a]", "exec", "*-unpacking"),
    ("x = items.__len__", "exec", "__len__"),
    ("x = (1).bit_length()", "exec", ".bit_length"),
    ("text.y = 1", "exec", "assigning to .y"),
    ("while True: pass", "exec", "loop steps"),
    ("x = 0\nwhile x >= 0:\n    x += 1", "exec", "loop steps"),
    ("f = lambda f: f(f)\nx = f(f)", "exec", "recurses"),
    ("f = lambda f, n: n and f(f, n - 1) + f(f, n - 1)\nx = f(f, 60)", "exec", "loop steps"),
    ("'a' * 10**10", "eval", "too large"),
    ("'x' * 10**8", "eval", "too large"),
    ("[0] * 10**9", "eval", "too large"),
    ("9**9**9", "eval", "too large"),
    ("10**10**10", "eval", "too large"),
    ("1 << 10**9", "eval", "too large"),
    ("s = 'a'\nfor i in range(64):\n    s += s", "exec", "too large"),
    ("s = 'a'\nfor i in range(64):\n    s = f'{s}{s}'", "exec", "too large"),
    ("a = [1]\nfor i in range(64):\n    a.extend(a)", "exec", "too large"),
    ("s = 'a' * 1000\ns = s.replace('a', s).replace('a', s)", "exec", "too large"),
    ("'-'.join(['a' * 100000] * 1000)", "eval", "too large"),
    ("list(range(10**9))", "eval", "too large"),
    ("sum([[1]] * 1000, [])", "eval", "numbers only"),
    ("'%0999999999d' % 1", "eval", "f-string"),
    ("f'{1:999999999}'", "eval", "1000"),
]


@pytest.mark.parametrize(("source", "mode", "word"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escapes_fail_with_a_useful_message(ev, source, mode, word):
    context = {"items": [1], "text": "x", "a": list(range(100_000))}
    with pytest.raises(ScriptError) as caught:
        if mode == "eval":
            ev.evaluate(source, context)
        else:
            ev.execute(source, context)
    assert word in caught.value.message
    assert caught.value.vi and caught.value.details[0]["message"]


def test_static_problems_are_reported_without_running(ev):
    script = "total = 1\nlabel = ().__class__\nimport os\nx = open('f')"
    assert ev.validate(script, "exec") == [
        "Names starting with '_' are not allowed: __class__ (line 2)",
        "'import' is not allowed in diagram scripts (line 3)",
        "'open' is not available in diagram scripts (line 4)",
    ]
    assert ev.validate("amount >", "eval") == ["Syntax error: invalid syntax (line 1)"]
    assert ev.validate("decision == 'accept'") == []
    assert ev.validate("working_days(5)") == []


def test_script_error_details_carry_the_line(ev):
    with pytest.raises(ScriptError) as caught:
        ev.execute("a = 1\nb = a / 0\n", {})
    assert caught.value.details == [{"line": 2, "message": "ZeroDivisionError: division by zero"}]
    assert "(line 2)" in caught.value.message
    with pytest.raises(ScriptError, match="Unknown name 'missing'"):
        ev.evaluate("missing + 1", {})


@pytest.mark.parametrize(("expression", "context", "expected"), [
    ("decision == 'accept'", {"decision": "accept"}, True),
    ("decision == 'accept'", {"decision": "refuse"}, False),
    ("amount > 1000 and district in ('380', '381')", {"amount": 1500, "district": "381"}, True),
    ("len(items) >= 2", {"items": [1, 2]}, True),
    ("application['company_name'].upper()", {"application": {"company_name": "Vận tải An"}},
     "VẬN TẢI AN"),
    ("working_days(5)", {}, "P5D"),
    ("{'a': [1, 2], 'b': {'c': n}}", {"n": 3}, {"a": [1, 2], "b": {"c": 3}}),
    ('f"{code}-{n}"', {"code": "H56", "n": 7}, "H56-7"),
    ("f'{fee:,.0f} đ'", {"fee": 1500000}, "1,500,000 đ"),
    ("[x * 2 for x in range(3) if x]", {}, [2, 4]),
    ("sorted(d.items(), key=lambda kv: -kv[1])[0][0]", {"d": {"a": 1, "b": 2}}, "b"),
    ("', '.join(s.strip() for s in names)", {"names": [" a", "b "]}, "a, b"),
    ("'x' * 3 + 'y'", {}, "xxxy"),
    ("2 ** 10", {}, 1024),
    ("max(amounts) - min(amounts)", {"amounts": [3, 9, 4]}, 6),
    ("d.strftime('%d/%m/%Y') + f' {d:%Y}'", {"d": date(2026, 3, 6)}, "06/03/2026 2026"),
])
def test_ordinary_expressions_work(ev, expression, context, expected):
    assert ev.evaluate(expression, context) == expected


def test_script_writes_new_and_changed_names_back(ev):
    context = {"lines": [{"amount": 3}, {"amount": 4}], "old": 1, "gone": 2}
    ev.execute("total = sum(x['amount'] for x in lines)\nlabel = 'OK' if total else 'NO'\n"
               "old += 1\ndouble = lambda v: v * 2\nbig = double(total)\ndel gone", context)
    assert context == {"lines": [{"amount": 3}, {"amount": 4}], "old": 2, "total": 7,
                       "label": "OK", "big": 14}


def test_functions_are_not_written_back_nor_overridden_by_data(ev):
    context = {"working_days": "a citizen's field"}
    ev.execute("due = working_days(3)", context)
    assert context == {"working_days": "a citizen's field", "due": "P3D"}


def test_augmented_assignment_to_items(ev):
    context = {"totals": {"fee": 10}, "parts": ["a"]}
    ev.execute("totals['fee'] += 5\nparts[0] *= 2\nparts.append('b')", context)
    assert context == {"totals": {"fee": 15}, "parts": ["aa", "b"]}


def test_values_task_data_cannot_hold_are_refused(ev):
    with pytest.raises(ScriptError, match="'pending'.*list"):
        ev.execute("pending = (x for x in [1])", {})


def test_endless_loop_stops_on_the_deadline():
    ev = RestrictedEvaluator(timeout=0.05, max_loop_iterations=10**9)
    started = time.monotonic()
    with pytest.raises(ScriptError, match="longer than 0.05 s"):
        ev.execute("n = 0\nwhile True:\n    n += 1", {})
    assert time.monotonic() - started < 5  # it fails; the bound is generous on purpose


def test_evaluation_does_not_change_the_context(ev):
    context = {"decision": "accept"}
    assert ev.evaluate("decision == 'accept'", context) is True
    assert context == {"decision": "accept"}


def test_cached_code_still_gets_a_fresh_step_budget():
    ev = RestrictedEvaluator(max_loop_iterations=50)
    for _ in range(3):
        ev.execute("n = 0\nfor i in range(40):\n    n += i", {})


def test_helper_functions_lambdas_and_dates_work_and_are_not_kept():
    from engine.calendar import WorkingCalendar
    from engine.scripting import make_evaluator

    clock.travel_to(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # 08:00 in Việt Nam
    context = {"fees": [100, 250]}
    make_evaluator(WorkingCalendar()).execute(
        "def total(items, rate=1):\n"
        "    out = 0\n"
        "    for item in items:\n"
        "        out += item * rate\n"
        "    return out\n"
        "double = lambda v: v * 2\n"
        "due = datetime.now() + timedelta(days=30)\n"
        "paid = double(total(fees))\n"
        "label = due.strftime('%d/%m/%Y')\n", context)
    assert context == {"fees": [100, 250], "paid": 700, "label": "01/04/2026",
                       "due": context["due"]}
    assert context["due"].replace(microsecond=0) == datetime(2026, 4, 1, 8, 0)


def test_builtins_walking_their_argument_are_metered_as_steps():
    ev = RestrictedEvaluator(max_loop_iterations=1000)
    assert ev.evaluate("max(x)", {"x": list(range(900))}) == 899
    with pytest.raises(ScriptError, match="More than 1000 loop steps"):
        ev.evaluate("max(x)", {"x": list(range(5000))})


def helper_functions() -> dict:
    """The evaluator's functions as a worker rebuilds them (the recipe below names this)."""
    return {"label": lambda k: k.upper()}


class RecordingPool:
    """A stand-in for :class:`engine.script_pool.ScriptPool` that runs each job in this
    process and keeps a copy of the task data it was given."""

    def __init__(self) -> None:
        self.given: list[dict] = []

    def run(self, recipe, source, mode, context, timeout, max_steps):  # noqa: ANN001, ANN201
        self.given.append(copy.deepcopy(context))
        return run_job(recipe, source, mode, context, timeout, max_steps)


def pooled(**limits) -> tuple[RestrictedEvaluator, RecordingPool]:
    pool = RecordingPool()
    evaluator = RestrictedEvaluator(helper_functions(), pool=pool, **limits,
                                    recipe=lambda: ("tests.engine.test_sandbox:helper_functions", ()))
    return evaluator, pool


LICENCE_STYLE = """kind_labels = {'bus': 'Xe buýt', 'taxi': 'Xe taxi'}
licence_kinds = '; '.join([kind_labels[k] for k in application['transport_kinds']])
del kind_labels"""


def test_a_comprehension_over_a_forms_rows_runs_without_a_worker():
    evaluator, pool = pooled()
    context = {"application": {"transport_kinds": ["bus", "taxi"]}}
    evaluator.execute(LICENCE_STYLE, context)
    assert context == {"application": {"transport_kinds": ["bus", "taxi"]},
                       "licence_kinds": "Xe buýt; Xe taxi"}
    assert evaluator.evaluate("[label(k) for k in kinds]", {"kinds": ["a", "b"]}) == ["A", "B"]
    assert pool.given == []


def test_a_loop_past_the_small_budget_still_gives_its_result_through_the_pool():
    evaluator, pool = pooled()
    context = {"n": 5000}
    evaluator.execute("total = 0\nfor i in range(n):\n    total = total + i", context)
    assert context == {"n": 5000, "total": sum(range(5000)), "i": 4999}
    assert pool.given == [{"n": 5000}]


def test_an_endless_loop_still_fails_in_the_pool_with_its_whole_budget():
    evaluator, pool = pooled()
    with pytest.raises(ScriptError, match="More than 100000 loop steps"):
        evaluator.execute("while True:\n    pass", {"a": 1})
    assert pool.given == [{"a": 1}]


def test_the_trial_never_allows_more_than_the_evaluators_own_limits():
    evaluator, pool = pooled(max_loop_iterations=50)
    with pytest.raises(ScriptError, match="More than 50 loop steps"):
        evaluator.execute("squares = [i * i for i in range(100)]", {})
    assert len(pool.given) == 1


@pytest.mark.parametrize("script", [
    "for k in kinds:\n    rows.append(k)",
    "add = rows.append\nfor k in kinds:\n    add(k)",
    "acc = rows\nfor k in kinds:\n    acc += [k]",
    "for k in kinds:\n    totals[k] = 0",
    "for k in kinds:\n    del totals[k]",
    "for k in kinds:\n    totals.update({k: 1})",
])
def test_scripts_that_change_data_in_place_go_straight_to_the_pool(script):
    evaluator, pool = pooled()
    given = {"kinds": ["a", "b"], "rows": ["x"], "totals": {"a": 5, "b": 6}}
    context = copy.deepcopy(given)
    evaluator.execute(script, context)
    assert pool.given == [given]  # nothing was run here before: the pool saw the data unchanged
    here = copy.deepcopy(given)
    RestrictedEvaluator(helper_functions()).execute(script, here)
    assert context == here


def test_a_script_failing_here_fails_with_the_error_it_gives_in_the_pool():
    evaluator, pool = pooled()
    script = "names = {'bus': 'Xe buýt'}\nlabels = [names[k] for k in kinds]"
    with pytest.raises(ScriptError) as failed:
        evaluator.execute(script, {"kinds": ["bus", "tàu"]})
    assert failed.value.message == "KeyError: 'tàu' (line 2)"
    assert failed.value.details == [{"line": 2, "message": "KeyError: 'tàu'"}]
    assert pool.given == [{"kinds": ["bus", "tàu"]}]


def test_a_tried_scripts_result_shares_nothing_with_the_data_it_was_given():
    # as a worker's result: later changes in place leave earlier tasks' data alone
    evaluator, pool = pooled()
    rows = [{"plate": "29A-123.45"}]
    context = {"rows": rows}
    evaluator.execute("kept = [row for row in rows if row['plate']]", context)
    assert context == {"rows": rows, "kept": rows} and pool.given == []
    assert context["rows"] is not rows and context["kept"][0] is context["rows"][0]
