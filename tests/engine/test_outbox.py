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
