"""A demo PKI kept in one directory: a provincial root CA and one certificate per officer.

Layout of ``pki_dir``::

    ca.pem                 root CA certificate (RSA-3072, 10 years)
    ca.key.pem             its key, PKCS#8 encrypted with the passphrase in ca.passphrase
    ca.passphrase          random passphrase, mode 0600
    users/<username>.pem   officer certificate (RSA-2048)
    users/<username>.key.pem
                           officer key, PKCS#8 encrypted with the officer's passphrase
    users/<username>.chain.pem
                           optional issuer chain (CA last); default: the CA certificate
    agencies/<agency code>.pem, agencies/<agency code>.key.pem
                           an agency's seal certificate (RSA-2048, O=CN=agency name) and
                           its key, encrypted with the server's agency-key passphrase
                           (``MOTCUA_AGENCY_KEY_PASSPHRASE``): slips the agency issues
                           (forms 01–05) are signed with it, without an officer's passphrase
    trusted/*.pem          extra trust roots for verification (e.g. real national roots)
    softhsm/               with MOTCUA_SIGNER=pkcs11: SoftHSM2's configuration, its tokens
                           (one per officer and agency seal: key and certificate, no files
                           under users/ or agencies/) and the tokens' SO PIN
                           (:mod:`signing.pkcs11`)

This exists so that a fresh install can sign and verify end to end. **Production replaces
the whole PKI**: officers hold certificates of the Government Cipher Committee (Ban Cơ yếu
Chính phủ), usually on a PKCS#11 token; the CA key and its passphrase file never exist on a
server, and the real roots go into ``trusted/``. Keys are RSA, not EC, because endesive
mislabels ECDSA signatures.

Where officers' and agencies' keys are kept and unlocked is not this module's business:
:mod:`signing.keyfiles` keeps them in files beside the certificates (the demo's default),
:mod:`signing.pkcs11` in PKCS#11 tokens, and :mod:`signing.providers` chooses between them.
This module only issues certificates, for a key it makes (file keys) or for a public key
held elsewhere (:func:`issue_for_key`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing.errors import SigningError

CA_YEARS = 10
USER_YEARS = 3
#: id-kp-documentSigning (RFC 9336).
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_username(username: str) -> str:
    if not _USERNAME_RE.match(username or ""):
        raise SigningError(
            f"Invalid username {username!r} for a signing certificate: use letters, digits, "
            "'.', '_', '-' or '@' (at most 64 characters)."
        )
    return username


def user_paths(pki_dir: Path, username: str) -> tuple[Path, Path, Path]:
    users = Path(pki_dir) / "users"
    name = check_username(username)
    return users / f"{name}.pem", users / f"{name}.key.pem", users / f"{name}.chain.pem"


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # the certificate appears last and atomically: it marks "done"


@contextmanager
def locked(pki_dir: Path) -> Iterator[None]:
    """Serialise PKI creation between processes (e.g. `motcua serve` and `motcua worker`)."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    with open(pki_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _encrypted_pkcs8(key: rsa.RSAPrivateKey, passphrase: str) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningError(f"Cannot read the certificate {path}: {exc}") from exc


def ensure_ca(
    pki_dir: Path, *, name: str = "Tỉnh Thanh Hóa — CA dịch vụ công (demo)"
) -> x509.Certificate:
    """Return the demo root CA certificate of ``pki_dir``, creating the CA if absent.

    Creates an RSA-3072 self-signed CA valid for 10 years: ``ca.pem``, ``ca.key.pem``
    (encrypted) and ``ca.passphrase`` (mode 0600). Idempotent: an existing CA is returned
    unchanged and ``name`` is then ignored. Safe against concurrent callers.

    Raises:
        SigningError: an existing ``ca.pem`` cannot be read.
    """
    pki_dir = Path(pki_dir)
    ca_path = pki_dir / "ca.pem"
    if ca_path.exists():
        return _load_cert(ca_path)
    with locked(pki_dir):
        if ca_path.exists():
            return _load_cert(ca_path)
        os.chmod(pki_dir, 0o700)
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Một Cửa (demo)"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        passphrase = secrets.token_urlsafe(32)
        write_private(pki_dir / "ca.passphrase", passphrase.encode("ascii") + b"\n")
        write_private(pki_dir / "ca.key.pem", _encrypted_pkcs8(key, passphrase))
        write_public(ca_path, pem(cert))
        return cert


def load_ca_key(pki_dir: Path) -> PrivateKeyTypes:
    try:
        passphrase = (pki_dir / "ca.passphrase").read_text("ascii").strip()
        data = (pki_dir / "ca.key.pem").read_bytes()
        return serialization.load_pem_private_key(data, passphrase.encode("ascii"))
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(
            f"Cannot use the CA key in {pki_dir} ({exc}); only the demo PKI can issue "
            "certificates: in production, request them from the certificate authority."
        ) from exc


def officer_subject(full_name: str, title: str, agency: str, email: str) -> x509.Name:
    """Return an officer certificate's subject: C=VN, O=agency, title, CN=name, e-mail."""
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if agency:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, full_name))
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def agency_subject(agency_code: str, name: str, email: str = "") -> x509.Name:
    """Return an agency seal certificate's subject: C=VN, O=CN=name, OU=code, e-mail."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, nfc_strip(name)),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, agency_code),
        x509.NameAttribute(NameOID.COMMON_NAME, nfc_strip(name)),
    ]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def _leaf_extensions(builder: x509.CertificateBuilder, public_key,
                     ca_cert) -> x509.CertificateBuilder:
    """Add what a document-signing end-entity certificate carries (officer or agency)."""
    return (
        builder
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING_EKU]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), False
        )
    )


def _certify(pki_dir: Path, ca_cert: x509.Certificate, subject: x509.Name, public_key,
             email: str) -> x509.Certificate:
    """Return a 3-year end-entity certificate for ``public_key`` signed by the demo CA."""
    ca_key = load_ca_key(pki_dir)
    now = _now()
    not_after = min(now + dt.timedelta(days=365 * USER_YEARS), ca_cert.not_valid_after_utc)
    builder = _leaf_extensions(
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after),
        public_key, ca_cert,
    )
    if email:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def issue_for_key(pki_dir: Path, subject: x509.Name, public_key, *,
                  email: str = "") -> x509.Certificate:
    """Issue an end-entity signing certificate from the demo CA for a key kept elsewhere
    (e.g. generated inside a PKCS#11 token, :mod:`signing.pkcs11`) and return it. Nothing
    is written: the caller stores the certificate where its key is. Creates the CA if
    needed.

    Raises:
        SigningError: the CA key is unusable.
    """
    pki_dir = Path(pki_dir)
    ca_cert = ensure_ca(pki_dir)
    with locked(pki_dir):
        return _certify(pki_dir, ca_cert, subject, public_key, email)


def _issue_leaf(
    pki_dir: Path, cert_path: Path, key_path: Path, subject: x509.Name, *,
    passphrase: str, email: str = "",
) -> x509.Certificate:
    """Issue an RSA-2048 end-entity certificate from the demo CA, unless ``cert_path`` exists.

    Written key first, certificate last (atomically): a certificate file means "done".
    """
    ca_cert = ensure_ca(pki_dir)
    with locked(pki_dir):
        if cert_path.exists():
            return _load_cert(cert_path)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = _certify(pki_dir, ca_cert, subject, key.public_key(), email)
        write_private(key_path, _encrypted_pkcs8(key, passphrase))
        write_public(cert_path, pem(cert))
        return cert


def issue_certificate(
    pki_dir: Path,
    username: str,
    *,
    full_name: str,
    title: str,
    agency: str,
    email: str = "",
    passphrase: str,
) -> x509.Certificate:
    """Issue an officer's RSA-2048 signing certificate from the demo CA and return it.

    Subject: CN=full_name, O=agency, title=title (and the e-mail if given); key usage
    digitalSignature + nonRepudiation; extended key usage emailProtection + documentSigning.
    The key is stored PKCS#8-encrypted with ``passphrase``. Creates the CA if needed.
    Idempotent: if ``username`` already has a certificate it is returned unchanged (the
    passphrase is then not checked — use :func:`load_signer` for that).

    Raises:
        SigningError: bad username, empty full name or passphrase, or the CA key is unusable.
    """
    pki_dir = Path(pki_dir)
    cert_path, key_path, _ = user_paths(pki_dir, username)
    if cert_path.exists():
        return _load_cert(cert_path)
    if not full_name.strip():
        raise SigningError(f"A certificate for '{username}' needs the officer's full name.")
    if not passphrase:
        raise SigningError(f"The signing key of '{username}' needs a non-empty passphrase.")
    subject = officer_subject(full_name.strip(), title, agency, email)
    return _issue_leaf(pki_dir, cert_path, key_path, subject, passphrase=passphrase, email=email)


def agency_paths(pki_dir: Path, agency_code: str) -> tuple[Path, Path]:
    name = check_username(agency_code)  # agency codes (000.00.14.H56) fit the same rule
    agencies = Path(pki_dir) / "agencies"
    return agencies / f"{name}.pem", agencies / f"{name}.key.pem"


def issue_agency_certificate(
    pki_dir: Path, agency_code: str, *, name: str, passphrase: str, email: str = ""
) -> x509.Certificate:
    """Issue an agency's seal certificate (CN=O=``name``, OU=``agency_code``) and return it.

    The agency signs what it issues as an organisation — receipts, supplement requests,
    refusals, apologies, control slips — with no officer's passphrase: the key is encrypted
    with the server's ``passphrase`` (settings ``agency_key_passphrase``). Same key usage as
    an officer's certificate. Idempotent like :func:`issue_certificate`.

    Raises:
        SigningError: bad agency code, empty name or passphrase, or the CA key is unusable.
    """
    pki_dir = Path(pki_dir)
    cert_path, key_path = agency_paths(pki_dir, agency_code)
    if cert_path.exists():
        return _load_cert(cert_path)
    if not nfc_strip(name):
        raise SigningError(f"A seal certificate for agency '{agency_code}' needs its name.")
    if not passphrase:
        raise SigningError("The agencies' seal keys need a non-empty passphrase "
                           "(MOTCUA_AGENCY_KEY_PASSPHRASE).")
    return _issue_leaf(pki_dir, cert_path, key_path, agency_subject(agency_code, name, email),
                       passphrase=passphrase, email=email)


def nfc_strip(text: str) -> str:
    """Return ``text`` stripped and in Unicode NFC (certificate names are compared as bytes)."""
    return unicodedata.normalize("NFC", text or "").strip()


def has_certificate(pki_dir: Path, username: str) -> bool:
    """Return whether ``username`` has a signing certificate (and key file) in ``pki_dir``."""
    try:
        cert_path, key_path, _ = user_paths(Path(pki_dir), username)
    except SigningError:
        return False
    return cert_path.is_file() and key_path.is_file()


def trust_roots(pki_dir: Path) -> list[x509.Certificate]:
    """Return the certificates verification trusts: ``ca.pem`` plus ``trusted/*.pem``.

    Duplicates are dropped. Returns an empty list if there is no PKI yet.

    Raises:
        SigningError: a file in ``trusted/`` is not a PEM certificate (bundle).
    """
    pki_dir = Path(pki_dir)
    found: list[x509.Certificate] = []
    if (pki_dir / "ca.pem").is_file():
        found.append(_load_cert(pki_dir / "ca.pem"))
    trusted_dir = pki_dir / "trusted"
    if trusted_dir.is_dir():
        for path in sorted(trusted_dir.glob("*.pem")):
            try:
                found.extend(x509.load_pem_x509_certificates(path.read_bytes()))
            except (OSError, ValueError) as exc:
                raise SigningError(f"Cannot read the trusted certificate {path}: {exc}") from exc
    unique: dict[bytes, x509.Certificate] = {}
    for cert in found:
        unique.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    return list(unique.values())


def issuer_chain(pki_dir: Path, username: str | None = None) -> list[x509.Certificate]:
    """Return the issuer chain (CA last) shown with a signature: the officer's
    ``users/<username>.chain.pem`` if there is one, else the CA certificate (if any)."""
    pki_dir = Path(pki_dir)
    if username is not None:
        chain_path = user_paths(pki_dir, username)[2]
        if chain_path.is_file():
            try:
                return x509.load_pem_x509_certificates(chain_path.read_bytes())
            except (OSError, ValueError) as exc:
                raise SigningError(f"Cannot read the chain {chain_path}: {exc}") from exc
    ca_path = pki_dir / "ca.pem"
    return [_load_cert(ca_path)] if ca_path.is_file() else []
