"""Long-term validation data (PAdES B-LT): the chain and revocation data in the PDF's DSS.

A B-T signature can be checked later only if the certificates and their revocation status
*as of the signing* can still be found. PAdES keeps them in the document: a Document
Security Store (``/DSS`` in the catalog: ``/Certs``, ``/CRLs``, ``/OCSPs`` streams) added as
an incremental update after the last signature, which every signature policy allows (a
"validation data" update: pyHanko's ``LTA_UPDATES``, and :mod:`signing.verify` accepts a
revision that only does that).

:func:`add_validation_data` collects every certificate of every signature and signature
timestamp in the file (signer, chain, TSA) plus the issuing CA's current CRL, and writes
them with pyHanko's :class:`~pyhanko.sign.validation.dss.DocumentSecurityStore`.

CRLs: the demo CA issues its own (:func:`current_crl`, kept in ``pki/crl/ca.crl``, valid 7
days, re-issued a day before it expires; it revokes what ``pki/crl/revoked.txt`` lists, one
hexadecimal serial number a line). Production has no CA key on the server: put the CRLs
the real CAs publish in ``pki/crl/*.crl`` (DER or PEM), refreshed by the operator's cron;
without a CRL the DSS still carries the certificates and the level stays B-T.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from signing import pki
from signing.errors import SigningError

log = logging.getLogger(__name__)
CRL_DAYS = 7
REISSUE_BEFORE = dt.timedelta(days=1)


def _crl_dir(pki_dir: Path) -> Path:
    return Path(pki_dir) / "crl"


def _revoked_serials(pki_dir: Path) -> list[int]:
    path = _crl_dir(pki_dir) / "revoked.txt"
    if not path.is_file():
        return []
    lines = (line.split("#")[0].strip() for line in path.read_text("ascii").splitlines())
    return [int(line, 16) for line in lines if line]


def _fresh(path: Path) -> bool:
    try:
        current = x509.load_der_x509_crl(path.read_bytes())
    except (OSError, ValueError):
        return False
    next_update = current.next_update_utc
    return next_update is not None and next_update - REISSUE_BEFORE > dt.datetime.now(dt.UTC)


def current_crl(pki_dir: Path) -> Path | None:
    """Return the demo CA's CRL file, (re)issued when missing or about to expire; None
    when the CA key is not on this server (production)."""
    pki_dir = Path(pki_dir)
    path = _crl_dir(pki_dir) / "ca.crl"
    if _fresh(path):
        return path
    if not (pki_dir / "ca.key.pem").is_file() or not (pki_dir / "ca.pem").is_file():
        return None
    with pki.locked(pki_dir):
        if _fresh(path):
            return path
        ca_cert = pki.ensure_ca(pki_dir)
        ca_key = pki.load_ca_key(pki_dir)
        now = dt.datetime.now(dt.UTC)
        number = int(now.timestamp())
        builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
                   .last_update(now - dt.timedelta(minutes=5))
                   .next_update(now + dt.timedelta(days=CRL_DAYS))
                   .add_extension(x509.CRLNumber(number), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       ca_cert.public_key()), critical=False))
        for serial in _revoked_serials(pki_dir):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(now).build())
        der = builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        pki.write_public(path, der)
        log.info("issued the demo CA's CRL %s (number %d)", path, number)
    return path


def crls(pki_dir: Path) -> list[asn1_crl.CertificateList]:
    """Every CRL to embed: the demo CA's current one and any in ``pki/crl/*.crl``."""
    found: dict[bytes, asn1_crl.CertificateList] = {}
    own = current_crl(pki_dir)
    paths = sorted(_crl_dir(pki_dir).glob("*.crl")) if _crl_dir(pki_dir).is_dir() else []
    for path in ([own] if own else []) + paths:
        data = path.read_bytes()
        if pem.detect(data):
            data = pem.unarmor(data)[2]
        try:
            found.setdefault(data, asn1_crl.CertificateList.load(data))
        except ValueError as exc:
            raise SigningError(f"Cannot read the CRL {path}: {exc}") from exc
    return list(found.values())


def timestamp_tokens(signed_data) -> list:
    """The SignedData of every signature timestamp of a signature's (asn1crypto) SignedData."""
    tokens = []
    for signer_info in signed_data["signer_infos"]:
        for attr in signer_info["unsigned_attrs"] or []:
            if attr["type"].native == "signature_time_stamp_token":
                tokens += [value["content"] for value in attr["values"]]
    return tokens


def _signature_certs(reader) -> list:
    """The certificates of every signature and signature timestamp of ``reader``."""
    found: dict[bytes, object] = {}
    for embedded in reader.embedded_signatures:
        signed_data = embedded.signed_data
        for data in [signed_data, *timestamp_tokens(signed_data)]:
            for choice in data["certificates"] or []:
                if choice.name == "certificate":
                    found.setdefault(choice.chosen.dump(), choice.chosen)
    return list(found.values())


def add_validation_data(pdf: bytes, pki_dir: Path) -> bytes:
    """Return ``pdf`` with a DSS holding every signature's certificates and the CRLs of
    :func:`crls`, as one incremental update (the bytes before stay as they are)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    class _ValidationDataWriter(IncrementalPdfFileWriter):
        """Writes the DSS and nothing else: pyHanko would also bump /Info's ModDate, a
        change of the document that no validation-data update needs."""

        def _update_meta(self) -> None:
            return None

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    certs = _signature_certs(reader)
    if not certs:
        return pdf
    roots = [c.public_bytes(serialization.Encoding.DER) for c in pki.trust_roots(pki_dir)]
    from asn1crypto import x509 as asn1_x509

    certs += [asn1_x509.Certificate.load(der) for der in roots
              if der not in {c.dump() for c in certs}]
    out = io.BytesIO(pdf)
    writer = _ValidationDataWriter(out, strict=False)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=certs, crls=crls(pki_dir))
    writer.write_in_place()
    return out.getvalue()
