"""The PAdES baseline level of a signature (B-B, B-T, B-LT), judged with pyHanko.

- **B-B**: SubFilter ``ETSI.CAdES.detached``, a signing-certificate(-v2) signed attribute,
  and the signature valid and trusted;
- **B-T**: also a signature timestamp (RFC 3161 token over the signature value) that is
  intact, valid and from a TSA chaining to the trust roots — its time is a proof that the
  signature existed then, unlike the signer's own clock (/M);
- **B-LT**: also the document's DSS holds what validating needs years later: pyHanko
  validates signature and timestamp again with *only* the trust roots, the DSS's
  certificates and CRLs/OCSP responses, revocation data required for every certificate
  below the root (pyHanko's ``require`` mode).

B-LTA (a document timestamp over the DSS) is not produced here. A legacy
``adbe.pkcs7.detached`` signature has no level ("").

Also here: :func:`validation_data_only`, which tells a revision that only adds
validation data (the DSS update of :mod:`signing.ltv`) from any other change.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError

log = logging.getLogger(__name__)
PADES_SUBFILTER = "/ETSI.CAdES.detached"
#: Catalog entries a validation-data update may add or change (ISO 32000-2 12.8.4.3).
_VALIDATION_KEYS = {"/DSS", "/Extensions"}


def _is_pades(embedded) -> bool:
    if str(embedded.sig_object.get("/SubFilter", "")) != PADES_SUBFILTER:
        return False
    attrs = embedded.signer_info["signed_attrs"]
    return any(attr["type"].native in ("signing_certificate_v2", "signing_certificate")
               for attr in attrs)


def _timestamp_ok(status) -> bool:
    ts = getattr(status, "timestamp_validity", None)
    return ts is not None and bool(ts.intact and ts.valid and ts.trusted)


def _lt_ok(embedded, reader, anchors) -> bool:
    """Whether signature and timestamp validate from the DSS alone, revocation required."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return False
    try:
        context = dss.as_validation_context({"trust_roots": anchors, "allow_fetching": False,
                                             "revocation_mode": "require"})
        status = validate_pdf_signature(embedded, signer_validation_context=context,
                                        ts_validation_context=context)
    except Exception as exc:  # noqa: BLE001 - not long-term verifiable is an answer too
        log.debug("long-term validation of %s failed: %s", embedded.field_name, exc)
        return False
    return bool(status.intact and status.valid and status.trusted) and _timestamp_ok(status)


def level(embedded, status, reader, anchors) -> tuple[str, datetime | None]:
    """Return (level, timestamp time) of a validated signature: ("", None) below B-B."""
    if not (status.intact and status.valid and status.trusted) or not _is_pades(embedded):
        return "", None
    if not _timestamp_ok(status):
        return "B-B", None
    when = status.timestamp_validity.timestamp
    return ("B-LT" if _lt_ok(embedded, reader, anchors) else "B-T"), when


def validation_data_only(reader, revision: int) -> bool:
    """Whether 1-based ``revision`` only adds validation data: the catalog changed in
    /DSS (/Extensions) alone, every other object it writes is new, none is freed, and
    /Info is the same. (pyHanko's difference analysis judges the same revision too: this
    only decides whether it counts as "a revision no signature made".)"""
    index = revision - 1
    if index < 1:
        return False
    try:
        old = reader.get_historical_resolver(index - 1)
        new = reader.get_historical_resolver(index)
        root_ref = dict.get(new.trailer_view, "/Root")
        if (root_ref != dict.get(old.trailer_view, "/Root")
                or dict.get(new.trailer_view, "/Info") != dict.get(old.trailer_view, "/Info")):
            return False
        if reader.xrefs.refs_freed_in_revision(index):
            return False
        for ref in reader.xrefs.explicit_refs_in_revision(index):
            if ref == getattr(root_ref, "reference", root_ref):
                before, after = old.get_object(ref), new.get_object(ref)
                if "/DSS" not in after:
                    return False
                keys = (set(before) | set(after)) - _VALIDATION_KEYS
                if any(dict.get(before, k) != dict.get(after, k) for k in keys):
                    return False
            elif reader.xrefs.get_introducing_revision(ref) != index:
                return False
    except Exception as exc:  # noqa: BLE001 - unreadable means not provably harmless
        log.debug("revision %d could not be compared: %s", revision, exc)
        return False
    return True
