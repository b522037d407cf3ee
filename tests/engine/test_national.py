"""National portal synchronisation through the outbox: every status change of a dossier
reaches the portal once and in order — with the portal down for a while, and with a worker
killed by SIGKILL in the middle of a send — and the portal's national code is stored."""

from __future__ import annotations

import json
import signal
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import accounts, clock, lifecycle, national, worker
from engine.models import AuditEvent, Dossier, Outbox
from tests.engine.factories import submit
from tests.engine.test_jobs import _stop, _wait_for, _worker
from tests.engine.test_slips import complete
from tests.serving import serve
from web import create_app


def statuses_changed(p, code) -> list[str]:
    """The dossier's statuses as its audit log tells them, from the submission on."""
    with p.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        events = session.execute(select(AuditEvent).where(
            AuditEvent.dossier_id == dossier.id,
            AuditEvent.action.in_(("status", "withdraw", "stop")))
            .order_by(AuditEvent.id)).scalars().all()
    return ["submitted", *[e.detail["to"] for e in events]]


def held(p, code) -> list[tuple[int, str]]:
    return [(r["record"]["sequence"], r["record"]["status"])
            for r in national.stand_in(p).records() if r["record"]["local_code"] == code]


def sync_rows(p) -> list[Outbox]:
    with p.db.read() as session:
        return session.execute(select(Outbox).where(Outbox.kind == national.KIND)
                               .order_by(Outbox.id)).scalars().all()


def walk(p, code, *, between=lambda: None) -> None:
    """Accept, appraise and refuse the dossier, calling ``between`` after each step."""
    between()
    complete(p, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
    between()
    complete(p, code, "Task_Appraise", "chuyenvien", {
        "recommendation": "refuse", "appraisal_notes": "Không đạt."}, claim=True)
    between()
    complete(p, code, "Task_Approve", "lanhdao", {"head_decision": "refuse",
                                                  "head_comment": "Không đủ điều kiện."})
    between()


def test_each_status_change_reaches_the_portal_once_and_in_order(platform):
    code = submit(platform)
    walk(platform, code, between=lambda: worker.tick(platform))
    changes = statuses_changed(platform, code)
    assert changes == ["submitted", "accepted", "refused"]
    assert held(platform, code) == list(enumerate(changes, 1))
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        assert dossier.national_code.startswith("G22.99-")
    record = json.loads(sync_rows(platform)[-1].body)
    assert (record["channel"], record["status"], record["finished_at"] is not None) == (
        2, "refused", True)
    assert {"received_at", "due_at", "processing_time", "paid_online", "result_file_url",
            "digitised", "from_citizen_store", "vneid_verified"} <= set(record)
    # the applicant's notifications list shows e-mails, not the portal's records
    from engine import dossiers
    view = dossiers.get_dossier(platform, code, user=accounts.find_user(platform, "doanhnghiep"))
    assert not any("#" in n["subject"] for n in view["notifications"])


class Outage:
    """WSGI middleware: 503 while ``down``; the stand-in's own answers otherwise."""

    def __init__(self, app):
        self.app, self.down = app, True

    def __call__(self, environ, start_response):
        if self.down and environ["PATH_INFO"].startswith(national.SANDBOX_PATH + "/records"):
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"maintenance"]
        return self.app(environ, start_response)


def test_the_portal_down_for_a_while_then_up_loses_and_doubles_nothing(platform):
    outage = Outage(create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}))
    with serve(outage) as base:
        platform.settings.national_sync_url = base + national.SANDBOX_PATH
        code = submit(platform)
        walk(platform, code, between=lambda: worker.tick(platform))
        assert held(platform, code) == []
        rows = sync_rows(platform)
        assert rows and all(r.status == "pending" for r in rows)
        assert "503" in rows[0].last_error and rows[0].attempts >= 1
        assert all(r.attempts == 0 for r in rows[1:])  # later records wait for the first
        outage.down = False
        for _ in range(3):  # past every back-off
            clock.travel(timedelta(hours=1))
            worker.tick(platform)
    changes = statuses_changed(platform, code)
    assert held(platform, code) == list(enumerate(changes, 1))
    assert all(r.status == "sent" and r.last_error == "" for r in sync_rows(platform))


class Hang:
    """WSGI middleware: the first record is stored by the stand-in, then its answer is held
    back until ``release`` — the sender dies meanwhile."""

    def __init__(self, app):
        self.app = app
        self.arrived, self.release = threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        body = self.app(environ, start_response)
        if environ["REQUEST_METHOD"] == "POST" and not self.arrived.is_set():
            self.arrived.set()
            self.release.wait(60)
        return body


def test_a_worker_killed_mid_send_loses_and_doubles_nothing(platform):
    platform.settings.run_jobs_after_commit = False
    hang = Hang(create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}))
    with serve(hang) as base:
        url = base + national.SANDBOX_PATH
        code = submit(platform)
        lifecycle.withdraw(platform, code, accounts.find_user(platform, "doanhnghiep"),
                           "Đổi phương án kinh doanh.")
        first = _worker(platform, MOTCUA_NATIONAL_SYNC_URL=url)
        try:
            assert hang.arrived.wait(90), "the worker never sent"
        finally:
            _stop(first, signal.SIGKILL)  # stored by the portal, the answer never heard
        hang.release.set()
        assert held(platform, code) == [(1, "submitted")]
        assert [r.status for r in sync_rows(platform)] == ["pending", "pending"]
        second = _worker(platform, MOTCUA_NATIONAL_SYNC_URL=url)
        try:
            _wait_for(lambda: all(r.status == "sent" for r in sync_rows(platform)), second)
        finally:
            _stop(second, signal.SIGTERM)
    assert held(platform, code) == [(1, "submitted"), (2, "withdrawn")]


@pytest.mark.parametrize("sequence, status", [(2, 409), (1, 200)])
def test_the_stand_in_checks_order_and_says_what_it_is(platform, sequence, status):
    client = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    response = client.post(f"{national.SANDBOX_PATH}/records",
                           json={"local_code": "X-1", "sequence": sequence},
                           headers={"Authorization": f"Bearer {national.DEMO_TOKEN}",
                                    "Idempotency-Key": "X-1:national:0001"})
    assert response.status_code == status
    assert response.get_json()["stand_in"] is True and response.headers["X-Stand-In"] == "true"
    assert client.post(f"{national.SANDBOX_PATH}/records", json={}).status_code == 401
    assert "không phải hệ thống thật" in client.get(f"{national.SANDBOX_PATH}/").get_data(
        as_text=True)


def test_the_processed_record_names_the_signed_result(platform):
    """The record of a processed dossier carries its result: the signed licence (its last
    revision, not a slip), by id and by its public address."""
    from engine.models import Document
    from tests.engine.test_slips import approve_and_sign

    code = submit(platform)
    approve_and_sign(platform, code)
    record = json.loads(sync_rows(platform)[-1].body)
    with platform.db.read() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()
        results = session.execute(select(Document.id, Document.name).where(
            Document.dossier_id == dossier_id, Document.kind == "generated")).all()
    licence = max(doc_id for doc_id, name in results if not name.startswith("slip-"))
    assert (record["status"], record["result_code"]) == ("processed", str(licence))
    assert record["result_file_url"].endswith(f"/tai-lieu/{licence}")


def test_a_status_change_reads_its_facts_and_the_calendar_in_one_statement(platform):
    """A status change that has not read the working calendar yet reads the record's facts
    (earlier records, paid payments, a verified identity) and the calendar together: the
    same facts and the same calendar as read apart, in one statement."""
    from datetime import date
    from types import SimpleNamespace

    from sqlalchemy import event

    from engine import runtime
    from engine.calendar import load_calendar
    from engine.identity_models import IdentityLink
    from engine.models import CalendarOverride, PlatformSetting
    from engine.payment_models import Payment

    code = submit(platform)
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        session.add_all([
            CalendarOverride(day=date(2031, 5, 3), kind="work", note="Làm bù ngày 2/9"),
            PlatformSetting(key="afternoon_cutoff", value="16:00"),
            IdentityLink(user_id=dossier.applicant_id, issuer="https://vneid.test",
                         subject="cong-dan-1"),
            Payment(dossier_id=dossier.id, txn_ref="T-1", amount=50000, status="paid",
                    provider="vnpay")])
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        statements = []

        def seen(_conn, _cursor, statement, *_rest) -> None:
            statements.append(statement)

        event.listen(platform.db.engine, "before_cursor_execute", seen)
        try:
            step = SimpleNamespace(session=session, dossier=dossier,
                                   calendar=runtime._Calendar(session))
            facts = national._step_facts(step)
        finally:
            event.remove(platform.db.engine, "before_cursor_execute", seen)
        together = step.calendar._calendar
        assert len(statements) == 1 and "calendar_override" in statements[0]
        assert facts == national._facts(session, dossier) == (1, 1, True)
        assert together is load_calendar(session)  # the same inputs make the same calendar
        assert together.is_working_day(date(2031, 5, 3))  # a Saturday made a working day
        assert together.afternoon_cutoff.hour == 16
        assert not step.calendar.unread()


def test_a_record_is_queued_as_json_dumps_writes_it(platform):
    """The queued body is ``json.dumps(record, ensure_ascii=False)`` of the record (the
    encoder is made once), Vietnamese unescaped."""
    code = submit(platform)
    walk(platform, code)
    bodies = [row.body for row in sync_rows(platform)]
    assert len(bodies) >= 3
    for body in bodies:
        assert body == json.dumps(json.loads(body), ensure_ascii=False)
    assert any("Đã tiếp nhận" in body for body in bodies)
    record = {"a": "Tiếp nhận", "b": [1, 2.5, None, True], "c": {"d": float("nan")}}
    assert national._RECORD_JSON.encode(record) == json.dumps(record, ensure_ascii=False)
