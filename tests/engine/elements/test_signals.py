"""Signal events stay inside the dossier that throws them; a catch event with two event
definitions (a message and a timer) goes on at whichever comes first. Every step is checked
by a save/restore (kit.check)."""

from datetime import timedelta

from engine import clock
from tests.engine.elements.kit import (
    complete,
    data,
    deploy,
    finished,
    open_tasks,
    post_message,
    submit,
    tick,
    timers,
    waiting,
)


def test_a_signal_reaches_its_own_dossier_and_no_other(platform):
    procedure = deploy(platform, "signals")
    first, second = submit(platform, procedure), submit(platform, procedure)
    complete(platform, first, "approve")  # throws 'approved'
    assert data(platform, first)["heard_signal"] is True
    assert waiting(platform, first) == [("reply_or_timeout", "reply", first)]
    assert timers(platform, first) == ["reply_or_timeout"]
    # the other dossier, waiting for the same signal, did not hear it
    assert "heard_signal" not in data(platform, second)
    assert open_tasks(platform, second) == ["approve"] and timers(platform, second) == []
    tick(platform)  # the submissions' records for the national portal
    assert tick(platform, second) == tick(platform)  # nothing for it to do
    assert "heard_signal" not in data(platform, second)


def test_two_event_definitions_go_on_at_the_first_message(platform):
    code = submit(platform, deploy(platform, "signals"))
    complete(platform, code, "approve")
    post_message(platform, "reply", code, {"note": "đã bổ sung"})
    assert tick(platform, code)["messages"] == 1
    assert finished(platform, code) and data(platform, code)["outcome"] == "replied: đã bổ sung"
    assert timers(platform, code) == [] and waiting(platform, code) == []


def test_two_event_definitions_go_on_at_the_timer(platform):
    code = submit(platform, deploy(platform, "signals"))
    complete(platform, code, "approve")
    clock.travel(timedelta(days=2, minutes=1))
    assert tick(platform, code)["timers"] == 1
    assert finished(platform, code) and data(platform, code)["outcome"] == "timed out"
    assert waiting(platform, code) == []
