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

This exists so that a fresh install can sign and verify end to end. **Production replaces
the whole PKI**: officers hold certificates of the Government Cipher Committee (Ban Cơ yếu
Chính phủ), usually on a PKCS#11 token; the CA key and its passphrase file never exist on a
server, and the real roots go into ``trusted/``. Keys are RSA, not EC, because endesive
mislabels ECDSA signatures.

**Unlocking a key** (:func:`load_signer`, :func:`load_agency_signer`) costs ~35–70 ms, and
almost none of it is the passphrase: keys are PKCS#8 PBES2 (AES-256-CBC, PBKDF2-HMAC-SHA256
with 2048 rounds, what ``cryptography``'s ``BestAvailableEncryption`` writes: ~1 ms). The
time goes to OpenSSL's RSA key check (primes, CRT parameters) that ``cryptography`` runs on
every load; it is kept, because a key that fails it could leak itself through faulty
signatures. Unlocked signers are therefore kept in a small per-process cache
(:class:`SignerCache`, see there for the security trade-off) instead of weakening either.
Strengthening the KDF for new keys (e.g. 600 000 PBKDF2 rounds, ~0.2 s an unlock) is a
separate decision; the cache would make it affordable.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass
class Signer:
    """An officer able to sign: private key, certificate and issuer chain (CA last)."""

    username: str
    key: PrivateKeyTypes
    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)
    #: What :func:`signing.sign.prepare` builds once per signer (its CMS template).
    prepared: Any = field(default=None, repr=False, compare=False)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_username(username: str) -> str:
    if not _USERNAME_RE.match(username or ""):
        raise SigningError(
            f"Invalid username {username!r} for a signing certificate: use letters, digits, "
            "'.', '_', '-' or '@' (at most 64 characters)."
        )
    return username


def _user_paths(pki_dir: Path, username: str) -> tuple[Path, Path, Path]:
    users = Path(pki_dir) / "users"
    name = _check_username(username)
    return users / f"{name}.pem", users / f"{name}.key.pem", users / f"{name}.chain.pem"


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # the certificate appears last and atomically: it marks "done"


@contextmanager
def _locked(pki_dir: Path) -> Iterator[None]:
    """Serialise PKI creation between processes (e.g. `motcua serve` and `motcua worker`)."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    with open(pki_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pem(cert: x509.Certificate) -> bytes:
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
    with _locked(pki_dir):
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
        _write_private(pki_dir / "ca.passphrase", passphrase.encode("ascii") + b"\n")
        _write_private(pki_dir / "ca.key.pem", _encrypted_pkcs8(key, passphrase))
        _write_public(ca_path, _pem(cert))
        return cert


def _load_ca_key(pki_dir: Path) -> PrivateKeyTypes:
    try:
        passphrase = (pki_dir / "ca.passphrase").read_text("ascii").strip()
        data = (pki_dir / "ca.key.pem").read_bytes()
        return serialization.load_pem_private_key(data, passphrase.encode("ascii"))
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(
            f"Cannot use the CA key in {pki_dir} ({exc}); only the demo PKI can issue "
            "certificates: in production, request them from the certificate authority."
        ) from exc


def _user_name(full_name: str, title: str, agency: str, email: str) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if agency:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, full_name))
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(attrs)


def _leaf_extensions(builder: x509.CertificateBuilder, key, ca_cert) -> x509.CertificateBuilder:
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), False
        )
    )


def _issue_leaf(
    pki_dir: Path, cert_path: Path, key_path: Path, subject: x509.Name, *,
    passphrase: str, email: str = "",
) -> x509.Certificate:
    """Issue an RSA-2048 end-entity certificate from the demo CA, unless ``cert_path`` exists.

    Written key first, certificate last (atomically): a certificate file means "done".
    """
    ca_cert = ensure_ca(pki_dir)
    with _locked(pki_dir):
        if cert_path.exists():
            return _load_cert(cert_path)
        ca_key = _load_ca_key(pki_dir)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = _now()
        not_after = min(now + dt.timedelta(days=365 * USER_YEARS), ca_cert.not_valid_after_utc)
        builder = _leaf_extensions(
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(not_after),
            key, ca_cert,
        )
        if email:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        _write_private(key_path, _encrypted_pkcs8(key, passphrase))
        _write_public(cert_path, _pem(cert))
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
    cert_path, key_path, _ = _user_paths(pki_dir, username)
    if cert_path.exists():
        return _load_cert(cert_path)
    if not full_name.strip():
        raise SigningError(f"A certificate for '{username}' needs the officer's full name.")
    if not passphrase:
        raise SigningError(f"The signing key of '{username}' needs a non-empty passphrase.")
    subject = _user_name(full_name.strip(), title, agency, email)
    return _issue_leaf(pki_dir, cert_path, key_path, subject, passphrase=passphrase, email=email)


def _agency_paths(pki_dir: Path, agency_code: str) -> tuple[Path, Path]:
    name = _check_username(agency_code)  # agency codes (000.00.14.H56) fit the same rule
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
    cert_path, key_path = _agency_paths(pki_dir, agency_code)
    if cert_path.exists():
        return _load_cert(cert_path)
    if not nfc_strip(name):
        raise SigningError(f"A seal certificate for agency '{agency_code}' needs its name.")
    if not passphrase:
        raise SigningError("The agencies' seal keys need a non-empty passphrase "
                           "(MOTCUA_AGENCY_KEY_PASSPHRASE).")
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, nfc_strip(name)),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, agency_code),
        x509.NameAttribute(NameOID.COMMON_NAME, nfc_strip(name)),
    ]
    if email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return _issue_leaf(pki_dir, cert_path, key_path, x509.Name(attrs), passphrase=passphrase,
                       email=email)


class SignerCache:
    """A small per-process cache of unlocked signers, so that an officer who signs several
    documents in a row (or the agency seal, once per slip) pays the key unlock once.

    Keyed by what the signer is made of: the kind and path of the key, a SHA-256 of the
    key, certificate and chain *files' contents* (so a re-issued or replaced key or
    certificate is never served from the cache, whatever its mtime) and an HMAC of the
    passphrase under a random per-process secret (so a wrong passphrase is a different key:
    it misses and is refused by the real decryption, even right after the right one was
    cached; the passphrase itself is not kept). Entries live ``ttl`` seconds from the
    unlock (not from the last use) and at most ``size`` are kept (least recently used
    goes first).

    The trade-off: for up to ``ttl`` seconds after an officer typed the passphrase, the
    decrypted key stays in this process's memory (it is in memory while signing anyway),
    so someone able to read the process memory gets it; and a passphrase *change* made by
    rewriting the key file takes effect at once (the file differs), but a stolen
    passphrase keeps working until the TTL even if the file is untouched — as it would
    anyway. ``ttl=0`` (the caller's setting, ``MOTCUA_SIGNER_CACHE_TTL=0``) disables the cache. Every lookup
    still reads the three small files (~0.1 ms).
    """

    def __init__(self, ttl: float = 300.0, size: int = 32) -> None:
        self.ttl, self.size = ttl, size
        self._secret = secrets.token_bytes(32)
        self._entries: OrderedDict[tuple, tuple[float, Signer]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.size > 0

    def key(self, kind: str, path: Path, contents: list[bytes | None],
            passphrase: str) -> tuple:
        """Return the cache key of a signer unlocked from the file ``contents`` (None:
        the file is absent), the first of which is the key file at ``path``."""
        digest = hashlib.sha256()
        for data in contents:
            digest.update(b"-" if data is None else len(data).to_bytes(8, "big") + data)
        secret = hmac.new(self._secret, (passphrase or "").encode("utf-8"), "sha256").digest()
        return (kind, str(Path(path).resolve()), digest.digest(), secret)

    def get(self, key: tuple) -> Signer | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= now:
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: tuple, signer: Signer) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            for stale in [k for k, (expires, _s) in self._entries.items() if expires <= now]:
                del self._entries[stale]
            self._entries[key] = (now + self.ttl, signer)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every unlocked signer (e.g. after revoking certificates)."""
        with self._lock:
            self._entries.clear()


#: The process's cache of unlocked signers; ``signer_cache.ttl = 0`` turns it off (the
#: engine sets it from its settings, ``MOTCUA_SIGNER_CACHE_TTL``).
signer_cache = SignerCache(ttl=300.0)


def _read(paths: list[Path]) -> dict[Path, bytes | None]:
    """Return the contents of ``paths`` (None for a missing file)."""
    contents: dict[Path, bytes | None] = {}
    for path in paths:
        try:
            contents[path] = path.read_bytes()
        except FileNotFoundError:
            contents[path] = None
        except OSError as exc:
            raise SigningError(f"Cannot read {path}: {exc}") from exc
    return contents


def _cached(kind: str, paths: list[Path], passphrase: str, load) -> Signer:
    """Return ``load(contents)``'s signer, made from the files ``paths`` (read once here,
    so the cache key and the signer come from the same bytes), from :data:`signer_cache`
    if the same contents were unlocked with the same passphrase less than its TTL ago."""
    contents = _read(paths)
    if not signer_cache.enabled:
        return load(contents)
    key = signer_cache.key(kind, paths[0], list(contents.values()), passphrase)
    signer = signer_cache.get(key)
    if signer is None:
        signer = load(contents)
        signer_cache.put(key, signer)
    return signer


def load_agency_signer(
    pki_dir: Path, agency_code: str, *, name: str, passphrase: str, email: str = ""
) -> Signer:
    """Return the agency's seal signer, issuing its certificate first if it has none yet
    (so an agency an administrator just added can issue slips at once).

    Raises:
        SigningError: the key does not open with ``passphrase`` (the server's agency-key
            passphrase changed since the key was made), or the CA cannot issue.
    """
    pki_dir = Path(pki_dir)
    cert_path, key_path = _agency_paths(pki_dir, agency_code)
    if not (cert_path.is_file() and key_path.is_file()):
        issue_agency_certificate(pki_dir, agency_code, name=name, passphrase=passphrase,
                                 email=email)
    ca_path = pki_dir / "ca.pem"
    return _cached("agency", [key_path, cert_path, ca_path], passphrase,
                   lambda files: _unlock_agency(agency_code, files[key_path],
                                                _cert(cert_path, files[cert_path]),
                                                files[ca_path], passphrase, cert_path))


def _cert(path: Path, data: bytes | None) -> x509.Certificate:
    """Return the PEM certificate ``data`` read from ``path``."""
    if data is None:
        raise SigningError(f"Cannot read the certificate {path}: it does not exist.")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise SigningError(f"Cannot read the certificate {path}: {exc}") from exc


def _ca_chain(ca_pem: bytes | None) -> list[x509.Certificate]:
    return [] if ca_pem is None else [_cert(Path("ca.pem"), ca_pem)]


def _unlock_agency(agency_code: str, key_pem: bytes | None, cert: x509.Certificate,
                   ca_pem: bytes | None, passphrase: str, cert_path: Path) -> Signer:
    try:
        key = serialization.load_pem_private_key(key_pem or b"",
                                                 (passphrase or "").encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise SigningError(
            f"The seal key of agency '{agency_code}' does not open with the configured "
            "MOTCUA_AGENCY_KEY_PASSPHRASE; restore the passphrase it was made with, or "
            f"remove {cert_path.name} and its key to issue a new seal certificate."
        ) from exc
    if key.public_key() != cert.public_key():
        raise SigningError(f"The seal key of agency '{agency_code}' does not match its "
                           "certificate; remove both files to issue a new one.")
    return Signer(username=agency_code, key=key, certificate=cert, chain=_ca_chain(ca_pem))


def nfc_strip(text: str) -> str:
    """Return ``text`` stripped and in Unicode NFC (certificate names are compared as bytes)."""
    return unicodedata.normalize("NFC", text or "").strip()


def has_certificate(pki_dir: Path, username: str) -> bool:
    """Return whether ``username`` has a signing certificate in ``pki_dir``."""
    try:
        cert_path, key_path, _ = _user_paths(Path(pki_dir), username)
    except SigningError:
        return False
    return cert_path.is_file() and key_path.is_file()


def load_signer(pki_dir: Path, username: str, passphrase: str) -> Signer:
    """Load an officer's key (decrypted with ``passphrase``), certificate and issuer chain.

    Served from :data:`signer_cache` when the same key, certificate and chain files were
    unlocked with the same passphrase less than its TTL ago (a wrong passphrase never
    matches a cached entry). The returned :class:`Signer` may be shared: do not modify it.

    Raises:
        SigningError: the officer has no certificate, the passphrase is wrong, or the key
            does not belong to the certificate.
    """
    pki_dir = Path(pki_dir)
    cert_path, key_path, chain_path = _user_paths(pki_dir, username)
    if not (cert_path.is_file() and key_path.is_file()):
        raise SigningError(
            f"Officer '{username}' has no signing certificate; an administrator issues one "
            "(`motcua init` / `motcua demo` for the demo PKI)."
        )
    ca_path = pki_dir / "ca.pem"
    return _cached("user", [key_path, cert_path, chain_path, ca_path], passphrase,
                   lambda files: _unlock_user(username, files[key_path],
                                              _cert(cert_path, files[cert_path]),
                                              files[chain_path], files[ca_path], passphrase))


def _unlock_user(username: str, key_pem: bytes | None, cert: x509.Certificate,
                 chain_pem: bytes | None, ca_pem: bytes | None, passphrase: str) -> Signer:
    try:
        key = serialization.load_pem_private_key(
            key_pem or b"", (passphrase or "").encode("utf-8")
        )
    except (ValueError, TypeError) as exc:
        raise SigningError(
            f"Wrong passphrase for the signing key of '{username}'.",
            vi="Mật khẩu khóa ký số không đúng. Hãy nhập mật khẩu bảo vệ khóa ký số của bạn "
               "(không phải mật khẩu đăng nhập).") from exc
    if key.public_key() != cert.public_key():
        raise SigningError(
            f"The signing key of '{username}' does not match its certificate; "
            "an administrator must re-issue the certificate."
        )
    chain = (x509.load_pem_x509_certificates(chain_pem) if chain_pem is not None
             else _ca_chain(ca_pem))
    return Signer(username=username, key=key, certificate=cert, chain=chain)


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
