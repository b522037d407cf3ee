"""Signing keys kept in files beside their certificates (:mod:`signing.pki`'s layout).

The officer's key is PKCS#8-encrypted with the officer's passphrase; an agency's seal key
with the server's agency-key passphrase. This is the demo's default key store
(``MOTCUA_SIGNER=file``); :mod:`signing.pkcs11` keeps keys in tokens instead, behind the
same signer interface (:mod:`signing.providers`).

**Unlocking a key** (:func:`load_signer`, :func:`load_agency_signer`) costs ~35–70 ms, and
almost none of it is the passphrase: keys are PKCS#8 PBES2 (AES-256-CBC, PBKDF2-HMAC-SHA256
with 2048 rounds, what ``cryptography``'s ``BestAvailableEncryption`` writes: ~1 ms). The
time goes to OpenSSL's RSA key check (primes, CRT parameters) that ``cryptography`` runs on
every load; it is kept, because a key that fails it could leak itself through faulty
signatures. Unlocked signers are therefore kept in a small per-process cache
(:class:`signing.keycache.SignerCache`, see there for the security trade-off) instead of
weakening either. Strengthening the KDF for new keys (e.g. 600 000 PBKDF2 rounds, ~0.2 s
an unlock) is a separate decision; the cache would make it affordable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from signing import keycache
from signing.errors import SigningError
from signing.keycache import SignerCache, signer_cache  # noqa: F401 - importable from here
from signing.pki import agency_paths, issue_agency_certificate, user_paths

#: What the engine tells an officer whose key will not open (passphrase or PIN).
WRONG_SECRET_VI = ("Mật khẩu khóa ký số không đúng. Hãy nhập mật khẩu bảo vệ khóa ký số của "
                   "bạn (không phải mật khẩu đăng nhập).")


@dataclass
class Signer:
    """An officer (or agency seal) able to sign with a key file: the private key, its
    certificate and issuer chain (CA last).

    Every signer, whatever keeps its key, offers ``username``, ``certificate``, ``chain``,
    ``prepared`` and :meth:`sign` (see :mod:`signing.providers`); only this one has ``key``.
    """

    username: str
    key: PrivateKeyTypes
    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)
    #: What :func:`signing.sign.prepare` builds once per signer (its CMS template).
    prepared: Any = field(default=None, repr=False, compare=False)

    def sign(self, data: bytes) -> bytes:
        """Return the RSA PKCS#1 v1.5 signature of ``data`` with SHA-256 (for a CMS
        signature, ``data`` is the DER of the signed attributes)."""
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


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
    so the cache key and the signer come from the same bytes), from the signer cache if
    the same contents were unlocked with the same passphrase less than its TTL ago."""
    cache = keycache.signer_cache
    contents = _read(paths)
    if not cache.enabled:
        return load(contents)
    key = cache.key(kind, str(paths[0].resolve()), list(contents.values()), passphrase)
    signer = cache.get(key)
    if signer is None:
        signer = load(contents)
        cache.put(key, signer)
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
    cert_path, key_path = agency_paths(pki_dir, agency_code)
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


def load_signer(pki_dir: Path, username: str, passphrase: str) -> Signer:
    """Load an officer's key (decrypted with ``passphrase``), certificate and issuer chain.

    Served from the signer cache when the same key, certificate and chain files were
    unlocked with the same passphrase less than its TTL ago (a wrong passphrase never
    matches a cached entry). The returned :class:`Signer` may be shared: do not modify it.

    Raises:
        SigningError: the officer has no certificate, the passphrase is wrong, or the key
            does not belong to the certificate.
    """
    pki_dir = Path(pki_dir)
    cert_path, key_path, chain_path = user_paths(pki_dir, username)
    if not (cert_path.is_file() and key_path.is_file()):
        raise SigningError(
            f"Officer '{username}' has no signing certificate; an administrator issues one "
            "(`motcua init` / `motcua demo` for the demo PKI).",
            vi="Bạn chưa có chứng thư số để ký. Hãy báo quản trị viên cấp chứng thư số.",
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
        raise SigningError(f"Wrong passphrase for the signing key of '{username}'.",
                           vi=WRONG_SECRET_VI) from exc
    if key.public_key() != cert.public_key():
        raise SigningError(
            f"The signing key of '{username}' does not match its certificate; "
            "an administrator must re-issue the certificate."
        )
    chain = (x509.load_pem_x509_certificates(chain_pem) if chain_pem is not None
             else _ca_chain(ca_pem))
    return Signer(username=username, key=key, certificate=cert, chain=chain)
