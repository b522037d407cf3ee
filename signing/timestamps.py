"""RFC 3161 timestamps on signatures (what turns a PAdES B-B signature into B-T).

A *timestamp provider* is anything with ``name`` and ``token(digest) -> ContentInfo``: it
returns a time-stamp token (a CMS SignedData over a TSTInfo) whose message imprint is
``digest``, the SHA-256 of the signature value it vouches for. :func:`signing.cms.use`
puts the token in the signature's unsigned attributes (``signatureTimeStampToken``).

- :class:`HttpTimestamper` speaks RFC 3161 over HTTP (``application/timestamp-query`` →
  ``application/timestamp-reply``) to a real time-stamping authority, the URL set by
  ``MOTCUA_TSA_URL``;
- :mod:`signing.tsa_standin` is the local stand-in for the demo and the tests: a real
  RFC 3161 server on 127.0.0.1 signing with a TSA certificate of the demo PKI;
  :func:`provider` starts it when the setting is ``standin``.

What the client checks in a reply: the status (granted), the token's content type
(TSTInfo), the message imprint (SHA-256 of our signature value) and the nonce we sent. The
TSA's signature and certificate are judged by validation (:mod:`signing.verify`), against
the same trust roots as the signatures.

When the TSA cannot be reached or answers wrongly, :class:`TimestampError` (a
:class:`~signing.errors.SigningError`) says so and nothing is signed: the caller keeps the
officer's input and the officer signs again later. There is no silent fallback to an
untimestamped signature — a document once issued at B-B cannot be raised to B-T.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from asn1crypto import algos, cms, core, tsp

from signing.errors import SigningError

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
#: The value of ``MOTCUA_TSA_URL`` that starts the local stand-in (demo, tests).
STANDIN = "standin"


class TimestampError(SigningError):
    """The time-stamping authority did not give a usable timestamp."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            vi="Không lấy được dấu thời gian từ máy chủ cấp dấu thời gian (TSA): văn bản "
               "chưa được ký, thông tin bạn nhập vẫn được giữ. Hãy thử ký lại sau ít phút; "
               "nếu vẫn không được, hãy báo quản trị viên.")


class _Elements(core.SequenceOf):
    _child_spec = core.Any


def reply_status(reply: bytes) -> tsp.PKIStatusInfo:
    """The status of a TimeStampResp, readable even without a token (a rejection)."""
    return tsp.PKIStatusInfo.load(_Elements.load(reply)[0].dump())


class TimestampProvider(Protocol):
    """Gives RFC 3161 time-stamp tokens over SHA-256 digests."""

    name: str

    def token(self, digest: bytes) -> cms.ContentInfo:
        """Return a time-stamp token whose message imprint is the SHA-256 ``digest``."""


def request_for(digest: bytes, nonce: int) -> tsp.TimeStampReq:
    """The TimeStampReq for a SHA-256 ``digest``, asking for the TSA's certificate."""
    return tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": tsp.MessageImprint({
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "hashed_message": digest,
        }),
        "nonce": nonce,
        "cert_req": True,
    })


def check_reply(reply: bytes, digest: bytes, nonce: int, source: str) -> cms.ContentInfo:
    """Return the token of a TimeStampResp after checking it answers our request."""
    try:
        status_info = reply_status(reply)
        status = status_info["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = status_info["status_string"].native or []
            raise TimestampError(f"The time-stamping authority {source} refused the request "
                                 f"({status}: {'; '.join(text) or 'no reason given'}).")
        token = tsp.TimeStampResp.load(reply)["time_stamp_token"]
        info = token["content"]["encap_content_info"]
        if info["content_type"].native != "tst_info":
            raise TimestampError(f"The reply of {source} is not a time-stamp token.")
        tst = info["content"].parsed
        imprint = tst["message_imprint"]
        if (imprint["hash_algorithm"]["algorithm"].native != "sha256"
                or imprint["hashed_message"].native != digest):
            raise TimestampError(f"The timestamp of {source} is for other data.")
        if tst["nonce"].native != nonce:
            raise TimestampError(f"The timestamp of {source} does not answer our request "
                                 "(nonce differs).")
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"The reply of {source} is not a valid RFC 3161 response "
                             f"({exc}).") from exc
    return cms.ContentInfo({"content_type": "signed_data", "content": token["content"]})


class HttpTimestamper:
    """An RFC 3161 client: POSTs a TimeStampReq to ``url`` and checks the reply."""

    def __init__(self, url: str, *, timeout: float = 10.0, name: str = "") -> None:
        self.url, self.timeout = url, timeout
        self.name = name or url

    def token(self, digest: bytes) -> cms.ContentInfo:
        nonce = secrets.randbits(63)
        body = request_for(digest, nonce).dump()
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": QUERY_TYPE})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as reply:  # noqa: S310
                kind = reply.headers.get("Content-Type", "")
                data = reply.read()
        except (urllib.error.URLError, OSError) as exc:
            raise TimestampError(f"The time-stamping authority {self.name} cannot be "
                                 f"reached ({exc}); nothing was signed, try again later.") from exc
        if kind.split(";")[0].strip() != REPLY_TYPE:
            raise TimestampError(f"The time-stamping authority {self.name} answered "
                                 f"{kind or 'without a type'}, not {REPLY_TYPE}.")
        return check_reply(data, digest, nonce, self.name)


def provider(tsa_url: str, pki_dir: Path, *, timeout: float = 10.0) -> TimestampProvider | None:
    """The provider the setting ``tsa_url`` names: None when empty (signatures stay B-B),
    the local stand-in (started on first use) for ``standin``, else an HTTP client."""
    url = (tsa_url or "").strip()
    if not url:
        return None
    if url == STANDIN:
        from signing.tsa_standin import serve

        return HttpTimestamper(serve(Path(pki_dir)), timeout=timeout,
                               name="TSA (stand-in)")
    return HttpTimestamper(url, timeout=timeout)


def signature_digest(signature: bytes) -> bytes:
    """What a signature timestamp covers: the SHA-256 of the signature value."""
    return hashlib.sha256(signature).digest()
