"""Messages: between two dossiers (send task → receive task, throw event → catch event),
to a later step of the same dossier, within one diagram (SpiffWorkflow's own delivery),
and delivery that fails, retries and never applies a message twice."""

from datetime import date

import pytest

from engine import incidents, worker
from engine import messages as engine_messages
from engine.errors import ScriptError
from tests.engine.elements.kit import (
    check,
    complete,
    data,
    deploy,
    finished,
    messages,
    open_tasks,
    post_message,
    submit,
    tick,
    waiting,
)


def test_a_request_and_its_reply_between_two_dossiers(platform):
    receiver = submit(platform, deploy(platform, "msg_receiver"))
    sender = submit(platform, deploy(platform, "msg_sender"))
    assert waiting(platform, receiver) == [("wait_request", "budget_request", receiver)]
    complete(platform, sender, "prepare", {"target": receiver, "note": "xin cấp mã"})

    [request] = messages(platform, name="budget_request")
    assert (request.status, request.correlation, request.sender_task) == (
        "pending", receiver, "send_request")
    assert request.payload == {"dossier_code": receiver, "from_dossier": sender,
                               "note": "xin cấp mã"}
    assert waiting(platform, sender) == [("wait_reply", "budget_reply", sender)]

    assert tick(platform, receiver)["messages"] == 1
    check(platform, sender)
    [request] = messages(platform, name="budget_request")
    assert request.status == "delivered" and request.delivered_at is not None
    assert waiting(platform, receiver) == [] and open_tasks(platform, receiver) == ["decide"]
    assert data(platform, receiver)["request"]["note"] == "xin cấp mã"

    complete(platform, receiver, "decide", {"approved": True})
    assert finished(platform, receiver)
    [reply] = messages(platform, name="budget_reply")
    assert reply.correlation == sender and reply.sender_task == "send_reply"
    assert tick(platform, sender)["messages"] == 1
    assert finished(platform, sender)
    assert data(platform, sender)["reply"] == {"dossier_code": sender, "approved": True,
                                              "by": receiver}
    assert tick(platform)["messages"] == 0  # nothing is delivered twice


def test_a_message_nobody_waits_for_stays_pending(platform):
    receiver = submit(platform, deploy(platform, "msg_receiver"))
    sender = submit(platform, deploy(platform, "msg_sender"))
    complete(platform, sender, "prepare", {"target": "NO-SUCH-DOSSIER", "note": "?"})
    assert tick(platform)["messages"] == 0
    [request] = messages(platform, name="budget_request")
    assert request.status == "pending" and request.correlation == "NO-SUCH-DOSSIER"
    assert waiting(platform, receiver) == [("wait_request", "budget_request", receiver)]


def test_a_message_thrown_before_its_catch_waits_for_it(platform):
    code = submit(platform, deploy(platform, "msg_self"), {"n": 7})
    [note] = messages(platform, name="note_to_self")
    assert (note.status, note.correlation, note.payload) == ("pending", code,
                                                             {"written_at_start": 7})
    assert tick(platform, code)["messages"] == 0  # no one waits yet: it is kept
    complete(platform, code, "work")
    assert waiting(platform, code) == [("read_note", "note_to_self", code)]
    assert tick(platform, code)["messages"] == 1
    assert finished(platform, code) and data(platform, code)["note_read"] == {
        "written_at_start": 7}


def test_throw_and_catch_in_one_diagram_stay_inside(platform):
    code = submit(platform, deploy(platform, "msg_internal"))
    assert waiting(platform, code) == [("ping_in", "ping", code)]
    complete(platform, code, "a_work", {"note": "hello"})
    assert finished(platform, code) and data(platform, code)["ping"] == {"said": "hello"}
    assert messages(platform) == [] and waiting(platform, code) == []


def test_a_failed_delivery_rolls_back_and_the_retry_delivers_once(platform, monkeypatch):
    receiver = submit(platform, deploy(platform, "msg_receiver"))
    real = engine_messages.deliver
    calls = []

    def crash_after_catching(step, message, task_guid):
        assert real(step, message, task_guid)
        calls.append(message.id)
        if len(calls) == 1:
            raise ScriptError("the worker died in the middle of the step")
        return True

    monkeypatch.setattr(engine_messages, "deliver", crash_after_catching)
    post_message(platform, "budget_request", receiver,
                 {"dossier_code": receiver, "from_dossier": "X", "note": "n"})
    assert worker.deliver_messages(platform) == 0
    [message] = messages(platform)
    assert (message.status, message.attempts) == ("pending", 1) and "died" in message.last_error
    assert waiting(platform, receiver) == [("wait_request", "budget_request", receiver)]
    assert open_tasks(platform, receiver) == []  # the catch was rolled back with the step
    check(platform, receiver)

    incidents.retry(platform, "message", message.id, actor="quantri")  # at once, not later
    assert worker.deliver_messages(platform) == 1
    assert worker.deliver_messages(platform) == 0
    assert open_tasks(platform, receiver) == ["decide"] and len(calls) == 2
    check(platform, receiver)


def test_a_payload_the_receiver_cannot_read_is_parked_with_a_clear_error(platform):
    receiver = submit(platform, deploy(platform, "msg_receiver"))
    post_message(platform, "budget_request", receiver, {"note": "no dossier_code in here"})
    assert worker.deliver_messages(platform) == 0
    [message] = messages(platform)
    assert (message.status, message.attempts) == ("pending", 1)  # tried again after a back-off
    assert "cannot be caught by wait_request" in message.last_error
    assert "dossier_code" in message.last_error
    check(platform, receiver)


def test_a_payload_may_not_carry_typename():
    """A ``typename`` key anywhere in task data breaks SpiffWorkflow's deserialization."""
    assert engine_messages._plain({"note": "typename", "when": date(2026, 1, 2)}, "m") == {
        "note": "typename", "when": "2026-01-02"}
    with pytest.raises(ScriptError, match="typename"):
        engine_messages._plain({"rows": [{"typename": "BpmnWorkflow"}]}, "m")


def test_two_pools_of_one_collaboration_talk_inside_the_dossier(platform):
    code = submit(platform, deploy(platform, "collaboration", process_id="collaboration"))
    assert open_tasks(platform, code) == ["prepare"]
    complete(platform, code, "prepare", {"note": "bao nhiêu?"})  # starts the district pool
    assert open_tasks(platform, code) == ["reply"] and messages(platform) == []
    complete(platform, code, "reply", {"result": "ba"})
    assert finished(platform, code) and messages(platform) == []
    assert data(platform, code)["answer"] == {"to": "bao nhiêu?", "text": "ba"}


def test_concurrent_workers_deliver_each_message_once(platform):
    """Three workers deliver twelve messages at once: on PostgreSQL they claim message and
    dossier rows with SKIP LOCKED, on SQLite they queue for the write lock; either way each
    message is caught exactly once and every dossier moves exactly one step."""
    import threading

    from sqlalchemy import func, select

    from engine.models import AuditEvent

    procedure = deploy(platform, "msg_receiver")
    receivers = [submit(platform, procedure) for _ in range(12)]
    for code in receivers:
        post_message(platform, "budget_request", code,
                     {"dossier_code": code, "from_dossier": "S", "note": code})
    counts, errors = [], []

    def work():
        try:
            counts.append(worker.deliver_messages(platform))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sum(counts) == 12
    assert {m.status for m in messages(platform)} == {"delivered"}
    with platform.db.transaction() as session:
        received = session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "message_received")).scalar()
    assert received == 12
    for code in receivers:
        assert open_tasks(platform, code) == ["decide"]
        assert data(platform, code)["request"]["note"] == code
        check(platform, code)
