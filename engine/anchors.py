"""Audit anchors (mốc neo nhật ký): the audit chain's head, signed with the province's key
and kept outside the database, so that whoever can write to the database still cannot
rewrite history unnoticed.

The hash chain (:mod:`engine.audit`) catches an edit in the middle of the log, but not an
edit followed by recomputing every later hash. An anchor closes that gap: at intervals (the
worker, ``audit_anchor_interval_seconds``) and on demand (``motcua audit-anchor``) the hashes
of the events written since the previous anchor, up to the chain's head, are written to a
file ``anchor-<last event id>.json`` under ``settings.audit_anchor_dir`` (by default
``data_dir/audit-anchors``; in production a directory the database's users cannot write,
e.g. a write-once mount or a copy sent off the machine), signed (RSA PKCS#1 v1.5, SHA-256)
with the seal key of the province (the agency of kind ``province``), its certificate
included. :func:`verify` checks every anchor's signature against the platform's CA, then
the chain, then every anchored hash against the event in the table: a rewritten and
re-hashed event differs from its anchored hash, so the first bad event is named exactly.
Events after the last anchor are checked by the chain alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

from . import clock
from .audit import GENESIS, _digest
from .errors import EngineError
from .models import Agency, AuditEvent, AuditHead

PREFIX = "anchor-"


def anchor_dir(p) -> Path:
    return Path(p.settings.audit_anchor_dir or p.settings.data_dir / "audit-anchors")


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _province(session) -> tuple[str, str, str]:
    """The code, name and e-mail of the province, whose seal signs the anchors."""
    province = session.execute(select(Agency).where(Agency.kind == "province")
                               .order_by(Agency.code).limit(1)).scalar()
    if province is None:
        raise EngineError("No agency of kind 'province' holds the key that signs anchors.",
                          vi="Chưa có cơ quan cấp tỉnh (kind: province) để ký mốc neo nhật ký.")
    return province.code, province.name_vi, province.email or ""


def _anchors(p) -> list[Path]:
    folder = anchor_dir(p)
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{PREFIX}*.json"))


def _last_anchored_id(p) -> int:
    files = _anchors(p)
    return int(files[-1].stem[len(PREFIX):]) if files else 0


def anchor(p) -> dict:
    """Anchor the chain's head now: ``{path, last_id, last_hash, events}`` of the new anchor,
    or of the last one when no event has been written since (``events`` 0)."""
    since = _last_anchored_id(p)
    with p.db.read() as session:
        rows = session.execute(select(AuditEvent.id, AuditEvent.hash)
                               .where(AuditEvent.id > since).order_by(AuditEvent.id)).all()
        if not rows:
            return {"path": None, "last_id": since, "last_hash": None, "events": 0}
        province = _province(session)
    payload = {"format": 1, "at": clock.now().isoformat(), "after_id": since,
               "last_id": rows[-1][0], "last_hash": rows[-1][1],
               "hashes": [[event_id, digest] for event_id, digest in rows]}
    code, name, email = province
    with p.signers.agency(code, name=name, email=email) as signer:  # a key file or a token
        signature = signer.sign(_canonical(payload))
        certificate = signer.certificate
    document = {"payload": payload, "signature": base64.b64encode(signature).decode("ascii"),
                "certificate": certificate.public_bytes(
                    serialization.Encoding.PEM).decode("ascii")}
    folder = anchor_dir(p)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{PREFIX}{payload['last_id']:012d}.json"
    if not path.exists():  # two workers anchoring the same head write it once
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(partial, path)
    return {"path": path, "last_id": payload["last_id"], "last_hash": payload["last_hash"],
            "events": len(rows)}


def _check_signature(path: Path, ca: list[x509.Certificate]) -> dict:
    """The payload of the anchor at ``path`` if its signature and certificate hold; raises
    ValueError saying what is wrong otherwise."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        payload = document["payload"]
        cert = x509.load_pem_x509_certificate(document["certificate"].encode("ascii"))
        signature = base64.b64decode(document["signature"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable: {exc}") from exc
    if not any(_issued_by(cert, root) for root in ca):
        raise ValueError("its certificate is not issued by the platform's CA")
    try:
        cert.public_key().verify(signature, _canonical(payload), padding.PKCS1v15(),
                                 hashes.SHA256())
    except InvalidSignature as exc:
        raise ValueError("its signature does not match its content") from exc
    return payload


def _issued_by(cert: x509.Certificate, root: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(root)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def verify(p) -> dict:
    """Check the anchors, the chain, and the chain against the anchors.

    Returns ``{ok, events, anchors, first_bad_id, reason}``: ``first_bad_id`` is the first
    event that is not what was anchored or breaks the chain (None when the fault is an
    anchor's own), ``reason`` says what is wrong in Vietnamese / English.
    """
    from signing.pki import trust_roots

    ca = trust_roots(p.pki_dir)
    anchored: dict[int, str] = {}
    files = _anchors(p)
    for path in files:
        try:
            payload = _check_signature(path, ca)
        except ValueError as exc:
            return _bad(None, 0, len(files), f"Mốc neo {path.name} không hợp lệ / anchor "
                                             f"{path.name} is not valid: {exc}")
        anchored.update({int(i): str(h) for i, h in payload.get("hashes", [])})
    order, at = sorted(anchored), 0
    prev, count = GENESIS, 0
    with p.db.read() as session:
        for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
            if at < len(order) and order[at] < event.id:
                return _bad(order[at], count, len(files),
                            "sự kiện đã neo bị xóa / an anchored event was deleted")
            expected = _digest(prev, event.at, event.actor, event.action, event.dossier_id,
                               event.detail)
            if at < len(order) and order[at] == event.id:
                at += 1
                if anchored[event.id] != event.hash:
                    return _bad(event.id, count, len(files),
                                "khác với mốc neo đã ký / differs from its signed anchor")
            if event.prev_hash != prev or event.hash != expected:
                return _bad(event.id, count, len(files),
                            "chuỗi băm bị đứt / the hash chain breaks")
            prev = event.hash
            count += 1
        head = session.get(AuditHead, 1)
    if at < len(order):
        return _bad(order[at], count, len(files),
                    "sự kiện đã neo bị xóa / an anchored event was deleted")
    if head is not None and head.last_hash != prev:
        return _bad(head.last_id, count, len(files),
                    "các sự kiện cuối bị xóa / the last events were deleted")
    return {"ok": True, "events": count, "anchors": len(files), "first_bad_id": None,
            "reason": "", "anchored_to": order[-1] if order else 0}


def _bad(event_id, count: int, anchors: int, reason: str) -> dict:
    return {"ok": False, "events": count, "anchors": anchors, "first_bad_id": event_id,
            "reason": reason}


def fingerprint(path: Path) -> str:
    """The SHA-256 of an anchor file, to note down or send elsewhere."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
