"""Side effects after commit: e-mails (and other messages) written in a step's transaction,
sent by the worker.

A row is unique by its idempotency key, so a step that runs twice (a retried
transaction) queues one e-mail, and the key is the e-mail's Message-ID so a receiver can
drop a resend after a crash between sending and recording it. Failures are retried with
exponential back-off and give up after ``MAX_ATTEMPTS``; then the administrators get an
e-mail (unless the e-mail that failed was such an alert) and the operations console shows it
(:mod:`engine.incidents`).

Other kinds of row (``kind``) go through senders registered at set-up
(:func:`register_sender`): the national portal's records (:mod:`engine.national`), SMS
(:mod:`engine.sms`). Rows of a kind registered ``ordered`` are sent in order per dossier:
one is not sent while an earlier row of its dossier and kind is unsent.

An e-mail may carry documents of the dossier (``attachments``: document ids, e.g. a signed
slip): the row keeps only the ids, and the stored bytes are attached when it is sent, so a
queued e-mail costs no more than its text.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlparse

from sqlalchemy import exists, insert, or_, select
from sqlalchemy.orm import Session, aliased

from . import clock
from .models import Document, Dossier, Outbox, User, UserRole
from .step.sql import Template, Write, param
from .unit import unit_of
from .vocabulary import RoleCode

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
#: kind -> sender(p, session, row), raising on failure; kinds sent in order per dossier
SENDERS: dict[str, Callable] = {}
#: The kinds that carry notices to people (e-mail, SMS), as against records for systems.
NOTICE_KINDS = ("email", "sms")
ORDERED: set[str] = set()


def register_sender(kind: str, sender: Callable, *, ordered: bool = False) -> None:
    """Send rows of ``kind`` with ``sender(p, session, row)`` (it raises to be retried);
    ``ordered``: never before an earlier unsent row of the same dossier and kind."""
    SENDERS[kind] = sender
    if ordered:
        ORDERED.add(kind)


_COLUMNS = ("idempotency_key", "kind", "dossier_id", "recipient", "subject", "body", "status",
            "attempts", "next_attempt_at", "last_error", "created_at", "attachments")


def _enqueue(tag: str):
    # INSERT … SELECT … WHERE NOT EXISTS rather than the dialects' ON CONFLICT, whose
    # statements SQLAlchemy cannot cache; the key names its dossier's step, which the
    # dossier's lock serialises.
    table = Outbox.__table__
    known = exists().where(table.c.idempotency_key
                           == param("idempotency_key", table.c.idempotency_key, tag))
    return insert(table).from_select(
        list(_COLUMNS), select(*(param(name, table.c[name], tag) for name in _COLUMNS))
        .where(~known))


def _enqueue_sqlite(tag: str):
    # SQLite's upsert skips only a row whose key is known (any other constraint still
    # fails the insert, as above), without the look-up of the key the guard above adds to
    # the unique index's own. SQLite sends it alone, compiled once for the driver
    # (engine.step.sql), so SQLAlchemy's cache of it is not asked.
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    table = Outbox.__table__
    return (sqlite_insert(table).values({name: param(name, table.c[name], tag)
                                         for name in _COLUMNS})
            .on_conflict_do_nothing(index_elements=[table.c.idempotency_key]))


#: Built once (engine.step.sql): the insert every queued row is (on SQLite, its upsert).
_ENQUEUE = Template(_enqueue)
_ENQUEUE_SQLITE = Template(_enqueue_sqlite)


def enqueue(session: Session, *, key: str, kind: str, recipient: str, subject: str,
            body: str, dossier_id: int | None = None,
            attachments: list[int] | None = None) -> bool:
    """Queue a row of ``kind`` unless one with this key is already queued (see
    :func:`enqueue_email`)."""
    unit = unit_of(session)
    if key in unit.outbox_keys:
        return True
    unit.outbox_keys.add(key)
    now = clock.now()
    template = _ENQUEUE_SQLITE if session.get_bind().dialect.name == "sqlite" else _ENQUEUE
    unit.writes.append(Write(template, {
        "idempotency_key": key, "kind": kind, "dossier_id": dossier_id,
        "recipient": recipient, "subject": subject, "body": body, "status": "pending",
        "attempts": 0, "next_attempt_at": now, "last_error": "", "created_at": now,
        "attachments": [int(i) for i in attachments or []]}))
    return True


def enqueue_email(session: Session, *, key: str, recipient: str, subject: str, body: str,
                  dossier_id: int | None = None,
                  attachments: list[int] | None = None) -> bool | None:
    """Queue an e-mail unless one with this key is already queued: an insert that does
    nothing on a known key, sent with the transaction's other writes (:mod:`engine.step.store`).
    True when queued (now or before), None without a recipient.

    ``attachments``: ids of stored documents to attach when the e-mail is sent.
    """
    if not recipient:
        return None
    return enqueue(session, key=key, kind="email", recipient=recipient, subject=subject,
                   body=body, dossier_id=dossier_id, attachments=attachments)


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str
    content: bytes


def load_attachments(p, session: Session, row: Outbox) -> list[Attachment]:
    """The stored files of ``row.attachments``; a missing one raises (the e-mail is retried,
    then marked failed, rather than sent without the document it announces)."""
    files = []
    for document_id in row.attachments or []:
        doc = session.get(Document, document_id)
        if doc is None:
            raise LookupError(f"attachment document {document_id} does not exist")
        files.append(Attachment(doc.filename, doc.media_type, p.storage.get(doc.storage_key)))
    return files


def build_message(row: Outbox, sender: str, attachments: list[Attachment] = ()) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.recipient
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    domain = sender.rsplit("@", 1)[-1].rstrip(">") or "motcua.local"
    msg["Message-ID"] = make_msgid(idstring=re.sub(r"[^A-Za-z0-9.-]", ".", row.idempotency_key),
                                   domain=domain)
    msg["X-Motcua-Idempotency-Key"] = row.idempotency_key
    msg.set_content(row.body)
    for item in attachments:
        maintype, _, subtype = item.media_type.partition("/")
        msg.add_attachment(item.content, maintype=maintype or "application",
                           subtype=subtype or "octet-stream", filename=item.filename)
    return msg


class Mailer:
    """Sends through SMTP when ``smtp_url`` is set, else writes ``.eml`` files to ``outbox_dir``."""

    def __init__(self, smtp_url: str, outbox_dir: Path, sender: str):
        self.smtp_url = smtp_url
        self.outbox_dir = Path(outbox_dir)
        self.sender = sender

    def send(self, row: Outbox, attachments: list[Attachment] = ()) -> None:
        msg = build_message(row, self.sender, attachments)
        if not self.smtp_url:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9._-]", "_", row.idempotency_key) + ".eml"
            (self.outbox_dir / name).write_bytes(bytes(msg))
            return
        url = urlparse(self.smtp_url)
        smtp_cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with smtp_cls(url.hostname or "127.0.0.1", url.port or 25, timeout=30) as smtp:
            if url.scheme == "smtp+starttls":
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(msg)


def mailer_for(p) -> Mailer:
    s = p.settings
    return Mailer(s.smtp_url, s.data_dir / "outbox", s.mail_from)


def send_due(p, *, limit: int = 50, kinds: tuple[str, ...] | None = None) -> int:
    """Send queued rows whose time has come (of ``kinds``, default every kind), one per
    transaction (the row stays locked while it is sent, so a worker killed mid-send leaves
    it pending and its key makes the resend harmless). Returns how many were sent."""
    mailer = mailer_for(p)
    sent = 0
    earlier = aliased(Outbox)
    blocked = exists().where(earlier.dossier_id == Outbox.dossier_id,
                             earlier.kind == Outbox.kind, earlier.id < Outbox.id,
                             earlier.status != "sent")
    for _ in range(limit):
        with p.db.transaction() as session:
            query = (select(Outbox).where(Outbox.status == "pending",
                                          Outbox.next_attempt_at <= clock.now(),
                                          or_(Outbox.kind.not_in(sorted(ORDERED) or [""]),
                                              ~blocked))
                     .order_by(Outbox.id).limit(1))
            if kinds is not None:
                query = query.where(Outbox.kind.in_(kinds))
            if p.db.is_postgres:
                query = query.with_for_update(skip_locked=True, of=Outbox)
            row = session.execute(query).scalar()
            if row is None:
                break
            row.attempts += 1
            try:
                if row.kind in SENDERS:
                    SENDERS[row.kind](p, session, row)
                else:
                    mailer.send(row, load_attachments(p, session, row))
            except Exception as exc:  # network errors of every kind: retry later
                log.warning("sending %s to %s failed: %s", row.idempotency_key, row.recipient, exc)
                row.last_error = str(exc)[:2000]
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                    if not row.idempotency_key.startswith(ALERT_PREFIX):
                        alert_admins(p, session, kind="outbox", row_id=row.id,
                                               dossier_id=row.dossier_id,
                                               element=row.recipient, error=str(exc))
                else:
                    row.next_attempt_at = clock.now() + timedelta(seconds=30 * 2 ** row.attempts)
                continue
            row.status = "sent"
            row.sent_at = clock.now()
            row.last_error = ""
            sent += 1
    return sent


#: Outbox keys of the alert e-mails themselves: their failure raises no further alert.
ALERT_PREFIX = "alert:"
_ALERT_LABELS = {"timer": ("Hẹn giờ", "Timer"), "message": ("Thông điệp", "Message"),
                 "job": ("Tác vụ nền", "Job"), "outbox": ("Thư đi", "Outgoing e-mail")}


def alert_admins(p, session: Session, *, kind: str, row_id: int, dossier_id: int | None,
                 element: str, error: str) -> None:
    """Queue an e-mail to every active administrator with an address: what failed finally,
    on which dossier and element, with the error and the console's address."""
    code = session.get(Dossier, dossier_id).code if dossier_id else ""
    recipients = session.execute(
        select(User.email).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role_code == RoleCode.ADMIN, User.active.is_(True), User.email != "")
        .distinct()).scalars().all()
    vi, en = _ALERT_LABELS[kind]
    subject = f"[Một Cửa] Sự cố / Incident: {vi} / {en} #{row_id}" + (f" — {code}" if code
                                                                       else "")
    body = "\n".join([
        f"{vi} #{row_id} đã thất bại sau nhiều lần thử lại. / {en} #{row_id} failed after "
        "its retries.",
        f"Hồ sơ / Dossier: {code or '—'}",
        f"Phần tử / Element: {element or '—'}",
        f"Lỗi / Error: {error}",
        "",
        f"Xử lý tại / Handle it at: {p.settings.public_url}/admin/su-co",
    ])
    for email in recipients:
        enqueue_email(session, key=f"{ALERT_PREFIX}{kind}:{row_id}:{email}",
                             recipient=email, subject=subject, body=body)
