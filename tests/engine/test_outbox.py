"""Notifications reach a real SMTP server (aiosmtpd) after commit, survive the server
being down, and are sent once per idempotency key."""

import email
import socket
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import clock, outbox, worker
from engine.models import Outbox
from tests.engine.factories import submit


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_submission_e_mail_reaches_the_smtp_server(platform, smtp):
    controller, inbox = smtp
    platform.settings.smtp_url = f"smtp://127.0.0.1:{controller.port}"
    code = submit(platform)
    assert inbox.messages == []  # nothing leaves before the worker runs, after commit
    assert worker.tick(platform)["emails"] == 1
    [message] = inbox.messages
    assert message["To"] == "doanhnghiep@example.vn"
    assert code in message["Subject"]
    assert "hồ sơ" in message.get_content().lower()  # Vietnamese survives the trip
    assert message["X-Motcua-Idempotency-Key"].startswith(f"{code}:received:")
    assert worker.tick(platform)["emails"] == 0


def test_an_unreachable_server_is_retried_later(platform):
    port = free_port()
    platform.settings.smtp_url = f"smtp://127.0.0.1:{port}"
    submit(platform)
    assert worker.tick(platform)["emails"] == 0
    with platform.db.transaction() as session:
        row = session.execute(select(Outbox).where(Outbox.kind == "email")).scalar_one()
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error and row.next_attempt_at > clock.now()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert worker.tick(platform)["emails"] == 0  # not before its back-off has passed
        clock.travel(timedelta(minutes=5))
        assert worker.tick(platform)["emails"] == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_without_smtp_e_mails_are_written_as_eml_files(platform):
    platform.settings.smtp_url = ""
    code = submit(platform)
    worker.tick(platform)
    [path] = (platform.settings.data_dir / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert code in message["Subject"]


def test_the_same_key_is_queued_once(platform):
    with platform.db.transaction() as session:
        for _ in range(3):
            outbox.enqueue_email(session, key="k-1", recipient="a@example.vn", subject="s",
                                 body="b")
    with platform.db.transaction() as session:
        assert len(session.execute(select(Outbox).where(Outbox.kind == "email")).scalars().all()) == 1


def test_a_notification_template_cannot_reach_object_attributes(platform):
    """Analysts write notification templates; a field is looked up by key only."""
    from engine.procedures import deploy_bundle
    from tests.engine.test_bundles import replace

    deploy_bundle(platform, replace("procedure.yaml", 'vi: "Đã nhận hồ sơ {code}"',
                                    'vi: "Đã nhận hồ sơ {code} {code.__class__.__mro__}"'))
    code = submit(platform)
    with platform.db.transaction() as session:
        subject = session.execute(select(Outbox.subject).where(Outbox.kind == "email")).scalar_one()
    assert subject.startswith(f"Đã nhận hồ sơ {code} {{code.__class__.__mro__}}")  # left as written
    assert "<class" not in subject


def test_each_e_mail_is_in_its_recipients_language_alone(platform):
    from engine import accounts

    vi_code = submit(platform)
    accounts.set_language(platform, accounts.find_user(platform, "doanhnghiep").id, "en")
    en_code = submit(platform)
    with platform.db.transaction() as session:
        rows = {code: session.execute(select(Outbox).where(
                    Outbox.idempotency_key.like(f"{code}:%"), Outbox.kind == "email"))
                .scalars().one() for code in (vi_code, en_code)}
    assert rows[vi_code].subject == f"Đã nhận hồ sơ {vi_code}"
    assert "Dear" not in rows[vi_code].body and "Kính gửi" in rows[vi_code].body
    assert rows[en_code].subject == f"Dossier {en_code} received"
    assert "Kính gửi" not in rows[en_code].body and "Dear" in rows[en_code].body
    assert "Cấp Giấy phép" not in rows[en_code].body  # the procedure named in English too


@pytest.mark.parametrize("case", ["new key", "known key", "no such dossier", "no recipient"])
def test_sqlites_upsert_queues_what_the_guarded_insert_queues(platform, case):
    """On SQLite a queued row is an upsert that skips a known key: the same rows, the same
    errors, as the insert guarded by NOT EXISTS (the other databases' statement)."""
    from sqlalchemy.exc import IntegrityError

    from engine.step import sql

    if platform.db.is_postgres:
        pytest.skip("PostgreSQL sends the guarded insert")
    with platform.db.transaction() as session:
        outbox.enqueue(session, key="đã có", kind="email", recipient="a@example.vn",
                       subject="Trước", body="Thư trước")
    values = {"idempotency_key": "đã có" if case == "known key" else "mới", "kind": "email",
              "dossier_id": 10 ** 9 if case == "no such dossier" else None,
              "recipient": None if case == "no recipient" else "b@example.vn",
              "subject": "Tiêu đề", "body": "Nội dung — Đã tiếp nhận", "status": "pending",
              "attempts": 0, "next_attempt_at": clock.now(), "last_error": "",
              "created_at": clock.now(), "attachments": [3, 4]}
    outcomes = []
    for template in (outbox._ENQUEUE, outbox._ENQUEUE_SQLITE):
        try:
            with platform.db.transaction() as session:
                sql.send(session, [sql.Write(template, values)])
                rows = session.execute(select(Outbox).order_by(Outbox.id)).scalars().all()
                outcomes.append([{c.key: getattr(row, c.key) for c in Outbox.__table__.c}
                                 for row in rows])
                raise _RolledBack
        except _RolledBack:
            pass
        except IntegrityError as error:
            outcomes.append(("error", str(error.orig)))
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0]) == (1 if case == "known key" else 2) or outcomes[0][0] == "error"


class _RolledBack(Exception):
    pass


def test_sqlite_queues_with_the_upsert(platform):
    """Which statement a queued row is, by database."""
    from engine.unit import unit_of

    with platform.db.transaction() as session:
        outbox.enqueue(session, key="k", kind="email", recipient="a@example.vn", subject="s",
                       body="b")
        template = unit_of(session).writes[-1].template
    expected = outbox._ENQUEUE if platform.db.is_postgres else outbox._ENQUEUE_SQLITE
    assert template is expected
