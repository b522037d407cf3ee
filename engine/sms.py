"""SMS notices, and the applicant's choice of channels (e-mail, SMS or both).

Applicants choose how they hear from the agency (``user_account.notify_channels``:
``email``, ``sms`` or ``email,sms``; :func:`set_channels`). The notices the rules say must
reach online filers — a request to supplement, a refusal, an apology, the result — go to
the applicant through :func:`notify_applicant`, which queues an e-mail, an SMS or both in
the step's transaction (the outbox: sent after commit, retried, one per key). An SMS is
short: the notice's Vietnamese subject and the dossier's link.

SMS leave through a **provider** (:class:`SmsProvider`) speaking this JSON protocol
(version 1)::

    POST {base}/messages
    Authorization: Bearer {token}
    Idempotency-Key: {key}                 the same key is the same message: sent once
    {"to": "+84912345678", "text": "…", "sender": "MOTCUA", "reference": "{key}"}

    200 {"id": "SMS-…", "status": "accepted"}    accepted (or accepted before under this key)
    422 {"error": "invalid_number", "message": "…"}
    401 {"error": "unauthorized"}
    other statuses, a timeout or another body: unavailable (the outbox retries)

With ``MOTCUA_SMS_URL`` unset, messages go to the portal's local **stand-in**
(:class:`StandInSms`, served over HTTP at ``/sandbox/sms`` by ``web/sandbox_sms.py``): it
keeps every message it was sent under the data directory and says it is a stand-in in
every answer.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from . import outbox
from .errors import InvalidData
from .httpjson import NoAnswer, post_json
from .models import Dossier, Outbox, User
from .standin_store import JsonLinesStore

KIND = "sms"
CHANNELS = ("email", "sms")
SANDBOX_PATH = "/sandbox/sms"
DEMO_TOKEN = "sandbox-sms-demo-token"
SENDER = "MOTCUA"
STAND_IN_NAME = "Nhà mạng SMS thử nghiệm (stand-in, không gửi tin nhắn thật)"
MAX_TEXT = 320
# Vietnamese mobile numbers: 0 or +84 / 84, then 9 digits starting 3, 5, 7, 8 or 9.
_MOBILE = re.compile(r"^(?:\+?84|0)([35789][0-9]{8})$")


class SmsUnavailable(Exception):
    """The provider gave no usable answer: retry."""


class SmsProvider(Protocol):
    name: str

    def send(self, message: dict, key: str) -> dict:
        """Send ``message`` ({to, text, sender, reference}) under ``key``; the answer."""
        ...


_SEPARATORS = re.compile(r"[\s.()-]")


def normalise_phone(phone: str) -> str | None:
    """A Vietnamese mobile number as E.164 (``+84912345678``), or None."""
    digits = _SEPARATORS.sub("", str(phone or ""))
    match = _MOBILE.match(digits)
    return f"+84{match.group(1)}" if match else None


def channels_of(user: User) -> set[str]:
    chosen = {c.strip() for c in (user.notify_channels or "email").split(",")}
    return {c for c in chosen if c in CHANNELS} or {"email"}


def choice_of(p, user) -> dict:
    """``{channels, phone}`` the signed-in ``user`` chose (for their settings page)."""
    with p.db.read() as session:
        account = session.get(User, user.id)
        return {"channels": sorted(channels_of(account)), "phone": account.phone or ""}


def set_channels(p, user, channels, phone: str | None = None) -> dict:
    """The applicant chooses e-mail, SMS or both (and may give the phone for SMS).
    InvalidData when nothing is chosen, or SMS without a mobile number."""
    chosen = sorted({str(c).strip() for c in channels or []} & set(CHANNELS))
    if not chosen:
        raise _invalid("channels", "Choose e-mail, SMS or both.",
                       "Hãy chọn nhận thông báo qua thư điện tử, tin nhắn SMS hoặc cả hai.")
    with p.db.transaction() as session:
        account = session.get(User, user.id)
        number = account.phone if phone is None else str(phone).strip()
        if "sms" in chosen and normalise_phone(number) is None:
            raise _invalid("phone", "SMS needs a Vietnamese mobile number (e.g. 0912345678).",
                           "Nhận SMS cần số điện thoại di động Việt Nam (ví dụ 0912345678).")
        if "email" in chosen and not account.email:
            raise _invalid("channels", "Your account has no e-mail address.",
                           "Tài khoản chưa có địa chỉ thư điện tử.")
        account.phone = number
        account.notify_channels = ",".join(chosen)
        return {"channels": chosen, "phone": account.phone}


def _invalid(field: str, message: str, vi: str) -> InvalidData:
    return InvalidData(message, vi=vi,
                       details=[{"field": field, "message": message, "message_vi": vi}])


def sms_text(subject: str, link: str) -> str:
    """The SMS of a notice: its Vietnamese subject and the link, within two messages."""
    first = subject.split(" / ")[0].strip()
    room = MAX_TEXT - len(link) - 12
    return f"[{SENDER}] {first[:room]}. Xem: {link}"


def notify_applicant(session: Session, p, dossier: Dossier, *, key: str, subject: str,
                     body: str, attachments: list[int] | None = None) -> list[str]:
    """Queue a notice to the dossier's applicant by the channels they chose: the e-mail
    (with ``attachments``) and/or an SMS (``key:sms``). An SMS choice without a usable
    number falls back to e-mail. Returns the channels used."""
    applicant = dossier.applicant
    chosen = channels_of(applicant)
    phone = normalise_phone(applicant.phone)
    used = []
    if "sms" in chosen and phone:
        link = f"{p.settings.public_url}/ho-so/{dossier.code}"
        outbox.enqueue(session, key=f"{key}:sms", kind=KIND, recipient=phone,
                       subject=subject[:500], body=sms_text(subject, link),
                       dossier_id=dossier.id)
        used.append("sms")
    if ("email" in chosen or not used) and applicant.email:
        outbox.enqueue_email(session, key=key, recipient=applicant.email, subject=subject,
                             body=body, dossier_id=dossier.id, attachments=attachments)
        used.append("email")
    return used


# --- providers --------------------------------------------------------------------------

class HttpSms:
    """The protocol above over HTTP(S)."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0):
        self.base_url, self.token, self.timeout = base_url.rstrip("/"), token, timeout
        self.name = self.base_url

    def send(self, message: dict, key: str) -> dict:
        try:
            answer = post_json(f"{self.base_url}/messages", message, token=self.token,
                               key=key, timeout=self.timeout)
        except NoAnswer as exc:
            raise SmsUnavailable(str(exc)) from None
        if answer.get("status") != "accepted":
            raise SmsUnavailable(f"unexpected answer: {str(answer)[:500]}")
        return answer


class StandInSms:
    """A local stand-in of an SMS provider — it sends nothing. It keeps every message
    (``messages.jsonl`` under its directory), answers a key it has seen with its first
    answer, and refuses numbers that are not Vietnamese mobiles."""

    name = STAND_IN_NAME

    def __init__(self, directory: Path):
        self.store = JsonLinesStore(directory, "messages")

    def messages(self) -> list[dict]:
        """Everything it was sent: ``{key, message, answer}``, oldest first."""
        return self.store.lines()

    def receive(self, message: dict, key: str) -> tuple[int, dict]:
        """The protocol's status and answer for ``message`` under ``key``."""
        if not isinstance(message, dict) or not key or not str(message.get("text") or ""):
            return 422, {"error": "invalid_message",
                         "message": "Thiếu to, text hoặc Idempotency-Key."}
        if normalise_phone(message.get("to", "")) is None:
            return 422, {"error": "invalid_number",
                         "message": f"Số {message.get('to')!r} không phải số di động Việt Nam."}
        with self.store.locked() as held:
            for line in held:
                if line["key"] == key:
                    return 200, line["answer"]
            answer = {"id": "SMS-" + hashlib.sha256(key.encode()).hexdigest()[:12].upper(),
                      "status": "accepted", "stand_in": True, "provider": STAND_IN_NAME}
            self.store.append({"key": key, "message": message, "answer": answer})
            return 200, answer

    def send(self, message: dict, key: str) -> dict:
        status, answer = self.receive(message, key)
        if status != 200:
            raise SmsUnavailable(f"HTTP {status}: {answer.get('message')}")
        return answer


def stand_in(p) -> StandInSms:
    return StandInSms(p.settings.data_dir / "sandbox" / "sms")


def provider_for(p) -> SmsProvider:
    s = p.settings
    if s.sms_url:
        return HttpSms(s.sms_url, s.sms_token or DEMO_TOKEN)
    return stand_in(p)


def deliver(p, session: Session, row: Outbox) -> None:
    """Send one queued SMS (:func:`engine.outbox.send_due`); raises to be retried."""
    provider_for(p).send({"to": row.recipient, "text": row.body, "sender": SENDER,
                          "reference": row.idempotency_key}, row.idempotency_key)


__all__ = ["notify_applicant", "set_channels", "choice_of", "channels_of", "normalise_phone", "deliver",
           "HttpSms", "StandInSms", "provider_for", "stand_in"]
