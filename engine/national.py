"""Synchronisation with the national public-service portal (Cổng Dịch vụ công quốc gia).

Decision 766/QĐ-TTg scores the share of a province's dossiers synchronised to the national
portal, so every change of a dossier's status sends the portal the dossier's record (the
fields of DOMAIN.md §4): **through the outbox**, as a row written in the step's own
transaction (:func:`record_status`) — nothing is sent for a step that rolls back — and
sent after commit by the worker (:func:`engine.outbox.send_due`):

- **idempotent**: each record has a key ``<dossier code>:national:<sequence>``, sent as
  the ``Idempotency-Key`` header; a worker killed after the portal stored a record but
  before it recorded the answer sends it again, and the portal answers as the first time;
- **retried** with the outbox's back-off while the portal is down (no answer, 5xx, 409),
  the error kept in the row's ``last_error`` and the row ``failed`` after the outbox's
  last attempt, where the operations console shows failed work;
- **in order per dossier**: a record is not sent while an earlier one of its dossier is
  unsent, and it carries its ``sequence`` so the portal can check.

The portal's answer names the dossier's **national code**, stored on the dossier
(``dossier.national_code``).

The protocol (version 1), JSON over HTTPS::

    POST {base}/records
    Authorization: Bearer {token}
    Idempotency-Key: 000.00.14.H56-261203-0001:national:0002
    Content-Type: application/json

    {"protocol": 1, "local_code": "000.00.14.H56-261203-0001", "sequence": 2,
     "status": "accepted", "status_label": "Đã tiếp nhận", "changed_at": "…",
     "procedure_code": "…" (national procedure code, or the local one), "agency_code": "…",
     "received_at": "…", "due_at": "…", "finished_at": null,
     "processing_time": {"value": 0, "unit": "working_days"},
     "channel": 2,                    1 counter, 2 online, 3 post
     "paid_online": 0,                0 no, 1 national payment platform, 2 local gateway
     "result_code": null, "result_file_url": null,
     "digitised": false, "from_citizen_store": false,
     "vneid_verified": false}         true when the applicant's account signed in with the
                                      national identity (engine/identity.py)

    200 {"national_code": "G22.99-…", "sequence": 2, "accepted": true}   stored (or stored before
                                                  under this key: the same answer again)
    409 {"error": "out_of_order", "expected": 1}  an earlier record is missing: retry later
    400/422 {"error": "…", "message": "…"}        the record is wrong: retried, then failed
    401 {"error": "unauthorized"}                  wrong token
    other statuses, a timeout or a body that is not the above: the portal is unavailable

With ``MOTCUA_NATIONAL_SYNC_URL`` unset, records go to the portal's local **stand-in**
(:class:`StandInPortal`, also served over HTTP at ``/sandbox/national`` by
``web/sandbox_national.py``): it keeps what it receives under the data directory, checks
order and keys as above, and says it is a stand-in in every answer (``"stand_in": true``).
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from . import clock, outbox
from .deadlines import processing_working_days
from .httpjson import NoAnswer, post_json
from .identity import VERIFIED
from .models import Document, Dossier, Outbox
from .payment_models import Payment
from .standin_store import JsonLinesStore
from .step import sql
from .step.facts import NATIONAL_KIND
from .unit import unit_of
from .vocabulary import Channel, Status

KIND = NATIONAL_KIND
RECIPIENT = "national-portal"
PROTOCOL = 1
CHANNELS = {Channel.COUNTER: 1, Channel.ONLINE: 2, Channel.POST: 3}
SANDBOX_PATH = "/sandbox/national"
DEMO_TOKEN = "sandbox-national-demo-token"
STAND_IN_NAME = ("Cổng Dịch vụ công quốc gia thử nghiệm (stand-in, không phải hệ thống "
                 "thật)")


class PortalUnavailable(Exception):
    """No usable answer (down, slow, refused our token, out of order, or malformed): retry."""


class NationalPortal(Protocol):
    """Where the records go."""

    name: str

    def send(self, record: dict, key: str) -> dict:
        """Deliver ``record`` under idempotency ``key``; the portal's answer (with
        ``national_code``), or :class:`PortalUnavailable`."""
        ...


# --- the record ------------------------------------------------------------------------

def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


# Built once (a step reads them with every status change). What a record needs from other
# tables comes in one statement sent on the step's connection: Core, so no autoflush of the
# step's pending ORM changes. None of it is written by a step: payments are settled in their
# own transaction (the worker delivers the diagram's ``payment_confirmed`` message later),
# identities are linked at sign-in, and the step's own records wait in its unit of work
# (``unit.national_sequence`` counts them).
_BY_DOSSIER = bindparam("dossier_id")
_FACT_VALUES = (
    select(func.count()).select_from(Outbox)
    .where(Outbox.dossier_id == _BY_DOSSIER, Outbox.kind == KIND).scalar_subquery(),
    select(func.count()).select_from(Payment)
    .where(Payment.dossier_id == _BY_DOSSIER, Payment.status == "paid").scalar_subquery(),
    VERIFIED)
_FACTS = select(*_FACT_VALUES)
#: The same facts as rows of the step's calendar read (:func:`_facts_with_calendar`).
_FACT_KEYS = ("(national) sent", "(national) paid", "(national) verified")


@lru_cache(maxsize=1)
def _facts_with_calendar():
    """The calendar's inputs with the facts as three more rows (key, value as text): one
    statement where a status change that has not read the calendar yet would send two."""
    from sqlalchemy import Date, String, Text, case, cast, literal_column, null

    from .calendar import inputs_with

    sent, paid, verified = _FACT_VALUES
    return inputs_with(*(
        select(null().cast(Date), null().cast(String(10)), null().cast(String(255)),
               literal_column(f"'{key}'", String(80)), cast(value, Text))
        for key, value in zip(_FACT_KEYS, (sent, paid, case((verified, 1), else_=0)),
                              strict=True)))
# The result: a document made in an earlier step, or in this one (then still to be written).
_RESULT = (select(Document.id).where(Document.dossier_id == bindparam("dossier_id"),
                                     Document.kind == "generated",
                                     ~Document.name.like("slip-%"))
           .order_by(Document.id.desc()).limit(1))


def _result_id(session: Session, dossier: Dossier) -> int | None:
    """The id of the dossier's result document. A document this step made is written first
    (its id comes with the write); otherwise no ORM flush, which would send the locked
    dossier's changes early, in an update of their own."""
    if any(isinstance(obj, Document) for obj in session.new):
        session.flush()
    found = sql.run(session, _RESULT, {"dossier_id": dossier.id})
    return found[0][0] if found else None


def _facts(session: Session, dossier: Dossier) -> tuple[int, int, bool]:
    """``(records queued before this transaction, paid payments, identity verified)``."""
    ((sent, paid, verified),) = sql.run(
        session, _FACTS, {"dossier_id": dossier.id, "user_id": dossier.applicant_id})
    return sent or 0, paid or 0, bool(verified)


def _step_facts(step) -> tuple[int, int, bool]:
    """:func:`_facts` for a step: as its locked read found them (:mod:`engine.step.facts`),
    else read now; when the step has not read its working calendar yet (the record needs it
    too), both in one statement, the calendar handed to the step."""
    known = unit_of(step.session).national_facts.get(step.dossier.id)
    if known is not None:
        return known
    unread = getattr(step.calendar, "unread", None)
    if unread is None or not unread():
        return _facts(step.session, step.dossier)
    from .calendar import from_rows

    rows = sql.run(step.session, _facts_with_calendar(),
                   {"dossier_id": step.dossier.id, "user_id": step.dossier.applicant_id})
    facts = {row[3]: row[4] for row in rows if row[3] in _FACT_KEYS}
    step.calendar.supply(from_rows([row for row in rows if row[3] not in _FACT_KEYS])[0])
    sent, paid, verified = (facts[key] for key in _FACT_KEYS)
    return int(sent or 0), int(paid or 0), verified == "1"


def build_record(session: Session, p, dossier: Dossier, sequence: int, *, meta: dict,
                 calendar, facts: tuple[int, int, bool] | None = None) -> dict:
    """The dossier's record as of now (DOMAIN.md §4's fields), from the version's ``meta``
    and the working ``calendar`` the step already holds (``facts``: :func:`_facts`, when
    the caller has read them, else as the transaction's unit of work holds them, else read
    now)."""
    _sent, paid, verified = (facts or unit_of(session).national_facts.get(dossier.id)
                             or _facts(session, dossier))
    fee = meta.get("fee")
    paid = paid if isinstance(fee, dict) and fee.get("amount") else 0
    result = _result_id(session, dossier) if dossier.status in ("processed", "returned") \
        else None
    return {
        "protocol": PROTOCOL, "local_code": dossier.code, "sequence": sequence,
        "status": dossier.status,
        "status_label": Status.label_of(dossier.status),
        "changed_at": clock.now().isoformat(),
        "procedure_code": meta.get("national_code") or dossier.procedure.code,
        "agency_code": dossier.agency.code,
        "received_at": _iso(dossier.received_at), "due_at": _iso(dossier.due_at),
        "finished_at": _iso(dossier.finished_at),
        "processing_time": {"value": processing_working_days(calendar, dossier),
                            "unit": "working_days"},
        "channel": CHANNELS.get(dossier.channel, 2),
        "paid_online": 2 if paid else 0,
        "result_code": str(result) if result else None,
        "result_file_url": f"{p.settings.public_url}/tai-lieu/{result}" if result else None,
        "digitised": False, "from_citizen_store": False,
        "vneid_verified": verified,
    }


def record_status(step, *, first: bool = False) -> str | None:
    """Queue the record of the step's dossier's current status for the national portal, in
    the step's transaction (``step``: a :class:`engine.operators.StepContext`: its
    session, platform, dossier, version and calendar). ``first``: the dossier has just been
    received, so it has no record yet. Returns the outbox key, or None when this
    transaction already queued a record of this same status."""
    session, p, dossier = step.session, step.platform, step.dossier
    sequences = unit_of(session).national_sequence
    last = (0, None) if first else sequences.get(dossier.id)
    facts = None
    if last is None:
        facts = _step_facts(step)
        last = (facts[0], None)
    number, status = last
    if status == dossier.status:
        return None
    number += 1
    sequences[dossier.id] = (number, dossier.status)
    key = f"{dossier.code}:national:{number:04d}"
    record = build_record(session, p, dossier, number, meta=step.version.meta or {},
                          calendar=step.calendar, facts=facts)
    outbox.enqueue(session, key=key, kind=KIND, recipient=RECIPIENT,
                   subject=f"{dossier.status} #{number}",
                   body=_RECORD_JSON.encode(record), dossier_id=dossier.id)
    return key


#: ``json.dumps(record, ensure_ascii=False)``'s encoder, made once: ``json.dumps`` makes
#: one per call when given an option, then returns its ``encode``.
_RECORD_JSON = json.JSONEncoder(ensure_ascii=False)


def deliver(p, session: Session, row: Outbox) -> None:
    """Send one record (:func:`engine.outbox.send_due`); store the national code the portal
    answers with. Raises on failure (the outbox retries)."""
    answer = portal_for(p).send(json.loads(row.body), row.idempotency_key)
    code = answer.get("national_code")
    if code:
        session.execute(update(Dossier).where(Dossier.id == row.dossier_id,
                                              Dossier.national_code.is_distinct_from(code))
                        .values(national_code=str(code)[:80]))


# --- the HTTP client --------------------------------------------------------------------

class HttpPortal:
    """The protocol above over HTTP(S)."""

    def __init__(self, base_url: str, token: str, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.name = self.base_url

    def send(self, record: dict, key: str) -> dict:
        try:
            answer = post_json(f"{self.base_url}/records", record, token=self.token, key=key,
                               timeout=self.timeout)
        except NoAnswer as exc:
            raise PortalUnavailable(str(exc)) from None
        if not answer.get("accepted"):
            raise PortalUnavailable(f"unexpected answer: {str(answer)[:500]}")
        return answer


# --- the stand-in ------------------------------------------------------------------------

class StandInRefusal(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body.get("message") or body.get("error"))
        self.status, self.body = status, body


class StandInPortal:
    """A local stand-in of the national portal — not the real one. It keeps every record it
    accepts (:class:`engine.standin_store.JsonLinesStore`, ``records.jsonl``), answers a
    key it has seen with its first answer, refuses a record whose sequence is not the next
    of its dossier (409), and gives each dossier a national code derived from its local
    code."""

    name = STAND_IN_NAME

    def __init__(self, directory: Path):
        self.store = JsonLinesStore(directory, "records")

    def records(self) -> list[dict]:
        """Everything accepted, in the order it arrived: ``{key, record, answer}``."""
        return self.store.lines()

    def receive(self, record: dict, key: str) -> dict:
        """Accept ``record`` under ``key`` (the protocol's answer), or StandInRefusal."""
        if not key or not isinstance(record, dict) or not record.get("local_code") \
                or not isinstance(record.get("sequence"), int):
            raise StandInRefusal(422, {"error": "invalid_record",
                                       "message": "Thiếu local_code, sequence hoặc "
                                                  "Idempotency-Key."})
        with self.store.locked() as stored:
            for line in stored:
                if line["key"] == key:
                    return line["answer"]
            mine = [line["record"]["sequence"] for line in stored
                    if line["record"]["local_code"] == record["local_code"]]
            expected = max(mine, default=0) + 1
            if record["sequence"] != expected:
                raise StandInRefusal(409, {"error": "out_of_order", "expected": expected,
                                           "message": f"Chờ bản ghi số {expected}."})
            digest = hashlib.sha256(record["local_code"].encode()).hexdigest()[:10].upper()
            answer = {"accepted": True, "national_code": f"G22.99-{digest}",
                      "sequence": record["sequence"], "stand_in": True,
                      "portal": STAND_IN_NAME}
            self.store.append({"key": key, "record": record, "answer": answer})
            return answer

    def send(self, record: dict, key: str) -> dict:
        try:
            return self.receive(record, key)
        except StandInRefusal as exc:
            raise PortalUnavailable(f"HTTP {exc.status}: {json.dumps(exc.body)}") from None


def stand_in(p) -> StandInPortal:
    return StandInPortal(p.settings.data_dir / "sandbox" / "national")


def portal_for(p) -> NationalPortal:
    """The configured portal, else the stand-in (in process)."""
    s = p.settings
    if s.national_sync_url:
        return HttpPortal(s.national_sync_url, s.national_sync_token or DEMO_TOKEN,
                          s.national_sync_timeout_seconds)
    return stand_in(p)


__all__ = ["KIND", "record_status", "build_record", "deliver", "HttpPortal", "StandInPortal",
           "PortalUnavailable", "portal_for", "stand_in"]
