"""engine.outside: an outside service is called between a step's runs (with no transaction
open), once per key, and the step runs again with its answer or its error; outside a loop
the call is direct."""

from __future__ import annotations

import pytest

from engine import outside


class Service:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        value = self.answers.pop(0)
        if isinstance(value, Exception):
            raise value
        return value


def test_a_step_runs_again_with_the_answer_made_between_its_runs():
    service, runs = Service(["online"]), []

    def step():
        runs.append("run")
        return outside.answer("tracker:29A-123.45", service)

    assert outside.attempts(step) == "online"
    assert runs == ["run", "run"] and service.calls == 1


def test_the_services_error_is_raised_where_the_step_asked():
    service = Service([TimeoutError("tracker did not answer")])

    def step():
        return outside.answer("tracker:x", service)

    with pytest.raises(TimeoutError, match="did not answer"):
        outside.attempts(step)
    assert service.calls == 1


def test_a_step_asks_at_most_max_calls_new_questions_before_running_for_good():
    asked = []

    def step():
        key = f"q{len(asked)}"
        asked.append(key)
        return outside.answer(key, lambda: key)

    # every run asks a new question: after MAX_CALLS calls the loop stops calling, and the
    # last run's question reaches the caller instead of a call without end
    with pytest.raises(outside.CallOutside):
        outside.attempts(step)
    assert len(asked) == outside.MAX_CALLS + 1


def test_outside_a_loop_the_call_is_made_at_once():
    service = Service(["direct"])
    assert outside.answer("k", service) == "direct" and service.calls == 1


def test_a_nested_loop_leaves_the_calls_to_the_outer_one():
    service, runs = Service(["yes"]), []

    def inner():
        return outside.answer("k", service)

    def outer():
        runs.append(1)
        return outside.attempts(inner)

    assert outside.attempts(outer) == "yes"
    assert len(runs) == 2 and service.calls == 1


def test_answers_are_not_kept_for_the_next_step():
    first, second = Service(["a"]), Service(["b"])
    assert outside.attempts(lambda: outside.answer("same", first)) == "a"
    assert outside.attempts(lambda: outside.answer("same", second)) == "b"
