"""The CMS SignedData of a signature, built by endesive once per signer and then reused.

Why: endesive 2.19's ``signer.sign`` assembles the CMS with asn1crypto from Python dicts
and deep-copies it while tagging it (``retag``): ~30 ms per signature on the reference
machine, of which the RSA signature itself is 0.3 ms. Yet for one signer almost all of
those bytes never change: the certificates, the signer identifier, the algorithms and the
signing-certificate-v2 attribute. Only two values do, and both have a fixed length:

- the ``messageDigest`` signed attribute (the SHA-256 of the signed byte ranges, 32 bytes);
- the signature value (RSA PKCS#1 v1.5 over the DER of the signed attributes: exactly as
  many bytes as the key's modulus).

So :class:`CmsTemplate` asks endesive for the SignedData once, with a probe digest, and
remembers where these two values sit. Each later signature copies the template, writes
the real digest into the signed attributes, has the signer sign them and writes the
signature in: the same bytes endesive would produce, in ~0.5 ms.

The key itself is never handed to endesive: it signs through endesive's HSM hook
(:class:`EndesiveHook`, ``hsm=``), which asks the signer object to sign the signed
attributes — a key file's key or a PKCS#11 token's (:mod:`signing.providers`) alike.

Soundness rests on one property, which is *checked*, not assumed: endesive's output must
depend on nothing but the digest (no signing time, no nonce). endesive 2.19.3 includes no
signingTime attribute (its code has it commented out) and PKCS#1 v1.5 is deterministic.
:func:`build` asks endesive twice with two different probe digests and keeps the template
only if filling it reproduces *both* outputs byte for byte; otherwise (a future endesive
that adds a signing time, an ECDSA key, a timestamp server…) signing simply stays on
endesive's own path. The tests compare fast and endesive output for fresh digests too.

**PAdES.** The SignedData already is CAdES-BES-shaped (content type, message digest and
signing-certificate-v2 signed attributes, no signingTime), so only two things make the
signature PAdES baseline: the signature dictionary's SubFilter ``ETSI.CAdES.detached``
(:func:`install` has endesive write it instead of ``adbe.pkcs7.detached``: the same length,
so nothing else moves) and, for B-T, a ``signatureTimeStampToken`` unsigned attribute over
the signature value, which :func:`use` adds after the template (or endesive) signed: the
token comes from a :mod:`signing.timestamps` provider and is appended to the SignerInfo
without re-encoding anything before it (:func:`add_timestamp`).

The template is used through :func:`use`, which endesive reaches via :class:`_SignerShim`:
``endesive.pdf.cms`` calls the module-level ``signer.sign``; the shim installed in its
place answers from the active template when (and only when) the call is exactly the one the
template was made for (the same signer's hook, same chain, SHA-256, default attributes,
no PSS, timestamp or OCSP), and passes every other call to endesive
unchanged. The active template is a :class:`~contextvars.ContextVar`, so concurrent threads
cannot see each other's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from endesive import signer as endesive_signer
from endesive.pdf import cms as endesive_cms

from signing.timestamps import TimestampProvider, signature_digest

log = logging.getLogger(__name__)
HASH = "sha256"
_DIGEST_LEN = hashlib.sha256().digest_size


class EndesiveHook:
    """endesive's HSM interface (``certificate()``, ``sign(keyid, data, mech)``) over a
    signer object: endesive builds the CMS, the signer signs its signed attributes."""

    def __init__(self, signer: Any) -> None:
        self.signer = signer

    def certificate(self) -> tuple[None, bytes]:
        return None, self.signer.certificate.public_bytes(serialization.Encoding.DER)

    def sign(self, keyid, data: bytes, mech: str) -> bytes:
        if mech != HASH:
            raise ValueError(f"only {HASH} signatures are made here, not {mech}")
        return self.signer.sign(data)


@dataclass(frozen=True)
class CmsTemplate:
    """A signer's SignedData with holes at the message digest and the signature value."""

    hook: EndesiveHook
    chain: tuple[x509.Certificate, ...]
    head: bytes  # everything before the signed attributes
    attrs: bytes  # the signed attributes as stored ([0] IMPLICIT SET OF Attribute)
    digest_at: int  # offset of the 32 digest bytes inside ``attrs``
    middle: bytes  # from after the signed attributes up to the signature value
    signature_len: int

    @property
    def signer(self) -> Any:
        return self.hook.signer

    def matches(self, key, cert, othercerts, hashalgo, attrs, signed_value, hsm, pss,
                timestampurl, ocspurl) -> bool:
        """Return whether an endesive ``signer.sign`` call is the one this template makes."""
        return (hsm is self.hook and key is None and not pss
                and attrs is True and hashalgo == HASH and timestampurl is None
                and ocspurl is None and isinstance(signed_value, bytes)
                and len(signed_value) == _DIGEST_LEN
                and tuple(othercerts or ()) == self.chain)

    def fill(self, digest: bytes) -> bytes:
        """Return the DER SignedData (ContentInfo) signing ``digest``."""
        if len(digest) != _DIGEST_LEN:
            raise ValueError("a SHA-256 digest is 32 bytes")
        attrs = (self.attrs[: self.digest_at] + digest
                 + self.attrs[self.digest_at + _DIGEST_LEN:])
        # What is signed is the attributes' DER as a SET (tag 0x31), not as [0] (RFC 5652 5.4).
        signature = self.hook.signer.sign(b"\x31" + attrs[1:])
        if len(signature) != self.signature_len:  # cannot happen with RSA; never splice
            raise ValueError("unexpected signature length")
        return self.head + attrs + self.middle + signature


def _endesive(hook: EndesiveHook, chain, digest: bytes) -> bytes:
    return endesive_signer.sign(None, None, hook.signer.certificate, list(chain), HASH, True,
                                digest, hook)


def _locate(der: bytes, digest: bytes, key_bytes: int) -> tuple[int, int, int, int] | None:
    """Return (attrs start, attrs end, digest offset in attrs, signature length) or None."""
    from asn1crypto import cms as asn1_cms

    info = asn1_cms.ContentInfo.load(der)
    signer_info = info["content"]["signer_infos"][0]
    attrs = signer_info["signed_attrs"].dump()
    signature = signer_info["signature"].native
    if (der.count(attrs) != 1 or attrs.count(digest) != 1 or not der.endswith(signature)
            or len(signature) != key_bytes):
        return None
    start = der.index(attrs)
    return start, start + len(attrs), attrs.index(digest), len(signature)


def build(signer: Any, hook: EndesiveHook | None = None) -> CmsTemplate | None:
    """Return the CMS template of ``signer`` (an object with ``certificate``, ``chain`` and
    ``sign``) signing through ``hook`` (default: a new one), or None if endesive's output
    cannot be templated (not an RSA key, or the output depends on more than the digest)."""
    public_key = signer.certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return None
    hook = hook or EndesiveHook(signer)
    chain = tuple(signer.chain or ())
    probes = [hashlib.sha256(b"motcua cms probe %d " % i + os.urandom(16)).digest()
              for i in (1, 2)]
    try:
        first = _endesive(hook, chain, probes[0])
        where = _locate(first, probes[0], (public_key.key_size + 7) // 8)
        if where is None:
            return None
        start, end, digest_at, signature_len = where
        template = CmsTemplate(
            hook=hook, chain=chain, head=first[:start], attrs=first[start:end],
            digest_at=digest_at, middle=first[end: len(first) - signature_len],
            signature_len=signature_len,
        )
        if (template.fill(probes[0]) != first
                or template.fill(probes[1]) != _endesive(hook, chain, probes[1])):
            log.warning("endesive's CMS depends on more than the digest: not templated")
            return None
    except Exception:  # noqa: BLE001 - no template means endesive's own (slower) path
        log.exception("could not build a CMS template; signing uses endesive's path")
        return None
    return template


_ACTIVE: ContextVar[CmsTemplate | None] = ContextVar("motcua_cms_template", default=None)
_TIMESTAMPER: ContextVar[TimestampProvider | None] = ContextVar("motcua_timestamper",
                                                               default=None)
PADES_SUBFILTER = "/ETSI.CAdES.detached"


def _header(der: bytes, pos: int) -> tuple[int, int]:
    """Return (header length, content length) of the DER element at ``pos``."""
    first = der[pos + 1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    return 2 + count, int.from_bytes(der[pos + 2: pos + 2 + count], "big")


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _extend_last(der: bytes, depth: int, extra: bytes) -> bytes:
    """Return the DER element ``der`` with ``extra`` appended to its last descendant
    ``depth`` levels down (every enclosing length rewritten, nothing else touched)."""
    head, size = _header(der, 0)
    body = der[head: head + size]
    if depth:
        pos = last = 0
        while pos < len(body):
            last = pos
            child_head, child_size = _header(body, pos)
            pos += child_head + child_size
        body = body[:last] + _extend_last(body[last:], depth - 1, extra)
    else:
        body += extra
    return der[:1] + _length(len(body)) + body


def add_timestamp(der: bytes, timestamper: TimestampProvider) -> bytes:
    """Return the ContentInfo ``der`` (one signer, no unsigned attributes yet) with a
    signature timestamp from ``timestamper`` over its signature value."""
    from asn1crypto import cms as asn1_cms

    signer_info = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    token = timestamper.token(signature_digest(signer_info["signature"].native))
    attrs = asn1_cms.CMSAttributes([asn1_cms.CMSAttribute(
        {"type": "signature_time_stamp_token", "values": [token]})]).dump()
    # ContentInfo > [0] > SignedData > SignerInfos > SignerInfo: the signer is last at
    # every level; its unsignedAttrs are [1] IMPLICIT SET OF Attribute, after the signature.
    return _extend_last(der, 4, b"\xa1" + attrs[1:])


class _SignerShim:
    """Stands in for the ``endesive.signer`` module inside ``endesive.pdf.cms``."""

    def __getattr__(self, name):
        return getattr(endesive_signer, name)

    @staticmethod
    def sign(datau, key, cert, othercerts, hashalgo, attrs=True, signed_value=None, hsm=None,
             pss=False, timestampurl=None, timestampcredentials=None,
             timestamp_req_options=None, ocspurl=None, ocspissuer=None):
        template = _ACTIVE.get()
        if template is not None and datau is None and template.matches(
                key, cert, othercerts, hashalgo, attrs, signed_value, hsm, pss, timestampurl,
                ocspurl):
            der = template.fill(signed_value)
        else:
            der = endesive_signer.sign(datau, key, cert, othercerts, hashalgo, attrs,
                                       signed_value, hsm, pss, timestampurl,
                                       timestampcredentials, timestamp_req_options, ocspurl,
                                       ocspissuer)
        timestamper = _TIMESTAMPER.get()
        if timestamper is not None and datau is None and timestampurl is None:
            der = add_timestamp(der, timestamper)
        return der


_install_lock = threading.Lock()


_ORIGINAL_MAKE_SIGNATURE = endesive_cms.SignedData._make_signature


def _make_pades_signature(self, Contents=None, Type=None, SubFilter=None):  # noqa: N803
    """endesive's ``_make_signature`` writing ``/ETSI.CAdES.detached`` for a signature."""
    if SubFilter is not None and str(SubFilter) == "/adbe.pkcs7.detached":
        SubFilter = type(SubFilter)(PADES_SUBFILTER)  # noqa: N806 - endesive's name
    return _ORIGINAL_MAKE_SIGNATURE(self, Contents=Contents, Type=Type, SubFilter=SubFilter)


def install() -> None:
    """Put the shim in ``endesive.pdf.cms`` and have it write PAdES signature dictionaries
    (idempotent, thread-safe)."""
    with _install_lock:
        if not isinstance(endesive_cms.signer, _SignerShim):
            endesive_cms.signer = _SignerShim()
        endesive_cms.SignedData._make_signature = _make_pades_signature


@contextmanager
def use(template: CmsTemplate | None,
        timestamper: TimestampProvider | None = None) -> Iterator[None]:
    """Within the block, endesive's matching ``signer.sign`` calls are answered by
    ``template`` (None: endesive's own path), and every signature gets a timestamp from
    ``timestamper`` (None: none, PAdES B-B)."""
    install()
    token = _ACTIVE.set(template)
    stamper = _TIMESTAMPER.set(timestamper)
    try:
        yield
    finally:
        _TIMESTAMPER.reset(stamper)
        _ACTIVE.reset(token)
