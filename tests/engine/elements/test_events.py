"""Boundary timer, message, error and escalation events; intermediate timer and message
events; the event-based gateway's race; operator errors as BPMN errors."""

from datetime import timedelta

import pytest

from engine import accounts, clock, tasks
from engine.errors import OperatorError
from tests.engine.elements.kit import (
    check,
    complete,
    data,
    deploy,
    finished,
    messages,
    open_rows,
    open_tasks,
    post_message,
    rows_with_status,
    submit,
    task_data,
    tick,
    timers,
    waiting,
)


def test_boundary_timer_reminds_and_boundary_message_interrupts(platform):
    code = submit(platform, deploy(platform, "boundary_on_task"))
    assert timers(platform, code) == ["remind"]
    assert waiting(platform, code) == [("withdrawn", "withdraw", code)]
    clock.travel(timedelta(hours=3))
    assert tick(platform, code)["timers"] == 1  # the non-interrupting reminder
    assert open_tasks(platform, code) == ["review"]
    assert task_data(platform, code, "note_reminder")["reminded"]
    post_message(platform, "withdraw", code, {"reason": "đổi ý"})
    assert tick(platform, code)["messages"] == 1  # the interrupting withdrawal
    assert finished(platform, code) and open_tasks(platform, code) == []
    assert rows_with_status(platform, code, "cancelled") == ["review"]
    assert data(platform, code)["outcome"] == "withdrawn: đổi ý"
    assert waiting(platform, code) == []


def test_completing_the_task_removes_its_boundary_waits(platform):
    code = submit(platform, deploy(platform, "boundary_on_task"))
    complete(platform, code, "review")
    assert finished(platform, code) and data(platform, code)["outcome"] == "reviewed"
    assert timers(platform, code) == [] and timers(platform, code, "cancelled") == ["remind"]
    assert waiting(platform, code) == []
    post_message(platform, "withdraw", code, {"reason": "late"})
    assert tick(platform)["messages"] == 0  # too late: nobody waits any more


@pytest.mark.parametrize("n, expected", [(0, "inspected"), (1, "inspected"),
                                         (2, "bad"), (3, "stopped")])
def test_error_and_escalation_boundary_events_on_a_subprocess(platform, n, expected):
    code = submit(platform, deploy(platform, "error_escalation"), {"n": n})
    if n == 1:  # a non-interrupting escalation: warned, and the sub-process goes on
        assert open_tasks(platform, code) == ["fix"]
        assert task_data(platform, code, "warned")["warned"]
        complete(platform, code, "fix")
    if n == 2:  # an error end event: the sub-process is left for the error path
        assert open_tasks(platform, code) == ["handle_bad"]
        complete(platform, code, "handle_bad")
    assert finished(platform, code)
    assert data(platform, code)["outcome"] == expected


def test_an_operator_error_is_caught_by_its_code(platform):
    code = submit(platform, deploy(platform, "operator_error"), {"n": 0})
    [row] = open_rows(platform, code)
    assert row.spec_name == "explain"
    assert data(platform, code)["failure"] == {"code": "NO_BUDGET", "message": "Hết dự toán"}
    complete(platform, code, "explain")
    assert finished(platform, code) and "outcome" not in data(platform, code)


@pytest.mark.parametrize("n, outcome", [(1, "partly reserved"), (5, "reserved")])
def test_an_operator_error_inside_a_subprocess_is_caught_around_it(platform, n, outcome):
    code = submit(platform, deploy(platform, "operator_error"), {"n": n})
    assert finished(platform, code) and data(platform, code)["outcome"] == outcome


def test_an_uncaught_operator_error_refuses_the_step(platform):
    code = submit(platform, deploy(platform, "operator_uncaught"))
    [row] = open_rows(platform, code)
    officer = accounts.find_user(platform, "motcua")
    with pytest.raises(OperatorError) as err:
        tasks.complete(platform, officer, row.id, {"note": "not yet"})
    assert err.value.code == "FEE_UNPAID" and "check_fee" in err.value.message
    assert "The fee is not paid" in err.value.message
    assert open_tasks(platform, code) == ["go"]  # nothing moved
    check(platform, code)
    complete(platform, code, "go", {"note": "paid"})
    assert finished(platform, code)


def test_intermediate_timer_then_message(platform):
    code = submit(platform, deploy(platform, "intermediate"))
    assert timers(platform, code) == ["wait_2h"] and waiting(platform, code) == []
    assert tick(platform, code)["timers"] == 0
    clock.travel(timedelta(hours=2, minutes=1))
    assert tick(platform, code)["timers"] == 1
    assert timers(platform, code) == [] and waiting(platform, code) == [("wait_go", "go", code)]
    post_message(platform, "go", code, {"n": 0})  # the step after the catch divides by it
    assert tick(platform, code)["messages"] == 0
    [bad] = messages(platform)
    assert (bad.status, bad.attempts) == ("pending", 1)  # tried again after a back-off
    assert "division" in bad.last_error.lower() and bad.failed_element == "use"
    assert waiting(platform, code) == [("wait_go", "go", code)]  # still waiting, unchanged
    post_message(platform, "go", code, {"n": 4})
    assert tick(platform, code)["messages"] == 1
    assert finished(platform, code) and data(platform, code)["ratio"] == 2.5


def test_event_based_gateway_message_first(platform):
    code = submit(platform, deploy(platform, "event_race"))
    assert timers(platform, code) == ["race"]
    assert waiting(platform, code) == [("race", "answer", code)]
    post_message(platform, "answer", code, {"text": "có"})
    assert tick(platform, code)["messages"] == 1
    assert finished(platform, code) and data(platform, code)["outcome"] == "answered có"
    assert timers(platform, code) == [] and waiting(platform, code) == []
    assert timers(platform, code, "cancelled") == ["race"]  # the timer lost the race
    clock.travel(timedelta(hours=5))
    assert tick(platform, code) == {"timers": 0, "messages": 0, "emails": 0, "expired": 0,
                                    "jobs": 0, "national": 0}


def test_event_based_gateway_timer_first(platform):
    code = submit(platform, deploy(platform, "event_race"))
    clock.travel(timedelta(hours=4, minutes=1))
    assert tick(platform, code)["timers"] == 1
    assert finished(platform, code) and data(platform, code)["outcome"] == "timed out"
    assert waiting(platform, code) == [] and timers(platform, code, "fired") == ["race"]
    post_message(platform, "answer", code, {"text": "muộn"})
    assert tick(platform)["messages"] == 0
    assert [m.status for m in messages(platform)] == ["pending"]
