"""Where signing keys come from: the signer providers the platform chooses between.

A provider answers "give me a signer for officer X (or agency Y's seal), unlocked with
this PIN or passphrase". A **signer** is any object with

- ``username``: the officer's username (or the agency's code);
- ``certificate`` (a ``cryptography`` certificate) and ``chain`` (issuers, CA last);
- ``sign(data) -> bytes``: the RSA PKCS#1 v1.5 signature of ``data`` with SHA-256 — for
  a PDF signature, ``data`` is the DER of the CMS signed attributes (:mod:`signing.cms`
  hands it over through endesive's HSM hook), so the key never leaves its store;
- ``prepared``: a slot :func:`signing.sign.prepare` fills once per signer.

Two providers (settings ``MOTCUA_SIGNER``):

- :class:`FileKeys` (``file``, the default): keys in files beside the certificates
  (:mod:`signing.keyfiles`), unlocked with the officer's passphrase;
- :class:`Pkcs11Keys` (``pkcs11``): keys in PKCS#11 tokens (:mod:`signing.pkcs11`; SoftHSM2
  by default, ``MOTCUA_PKCS11_LIB``), unlocked with the officer's PIN.

Signers are lent out by context managers (``with provider.officer(name, pin) as signer``):
a token signer holds a logged-in session, which the provider's cache keeps for at most its
TTL and closes when the last user lets go (:mod:`signing.keycache`).
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography import x509

from signing import keycache, keyfiles, pki
from signing.errors import SigningError

KINDS = ("file", "pkcs11")


class FileKeys:
    """Keys in files under ``pki_dir`` (:mod:`signing.pki`'s layout)."""

    name = "file"

    def __init__(self, pki_dir: Path, *, agency_passphrase: str) -> None:
        self.pki_dir = Path(pki_dir)
        self.agency_passphrase = agency_passphrase

    @contextmanager
    def officer(self, username: str, pin: str) -> Iterator[Any]:
        """Lend the officer's signer, unlocked with their passphrase ``pin``.

        Raises:
            SigningError: no key, a wrong passphrase, or a key that is not the certificate's.
        """
        yield keyfiles.load_signer(self.pki_dir, username, pin)

    @contextmanager
    def agency(self, code: str, *, name: str, email: str = "") -> Iterator[Any]:
        """Lend the agency's seal signer (its key and certificate made on first use)."""
        yield keyfiles.load_agency_signer(self.pki_dir, code, name=name,
                                          passphrase=self.agency_passphrase, email=email)

    def issue_officer(self, username: str, *, full_name: str, title: str, agency: str,
                      email: str = "", pin: str) -> x509.Certificate:
        """Give the officer a key protected by ``pin`` and a demo-CA certificate
        (idempotent: an existing one is returned unchanged)."""
        return pki.issue_certificate(self.pki_dir, username, full_name=full_name, title=title,
                                     agency=agency, email=email, passphrase=pin)

    def close(self) -> None:
        """Nothing to give back: file signers hold no session."""


class Pkcs11Keys:
    """Keys in PKCS#11 tokens, one token per officer or agency (:mod:`signing.pkcs11`).

    Logged-in sessions are cached for ``cache_ttl`` seconds from the login (0: one session
    per signature): one per token, keyed by its serial number, with an HMAC of the PIN
    that opened it (:meth:`_open`).
    """

    name = "pkcs11"

    def __init__(self, pki_dir: Path, *, agency_passphrase: str, library: str,
                 cache_ttl: float = 300.0) -> None:
        from signing import pkcs11

        self.pki_dir = Path(pki_dir)
        self.agency_passphrase = agency_passphrase
        self.device = pkcs11.Device(library, self.pki_dir)
        self.cache = keycache.SignerCache(ttl=cache_ttl)
        self._lock = threading.RLock()

    @contextmanager
    def officer(self, username: str, pin: str) -> Iterator[Any]:
        """Lend the officer's token signer, logged in with ``pin``.

        Raises:
            SigningError: no token, a wrong or locked PIN, or a token without key and
                certificate; the message says what to do (``vi`` too, for the officer).
        """
        from signing.pkcs11 import token_label

        pki.check_username(username)
        signer = self._open(token_label("u", username), pin, username,
                            f"officer '{username}'",
                            lambda: pki.issuer_chain(self.pki_dir, username))
        try:
            yield signer
        finally:
            keycache.release(signer)

    @contextmanager
    def agency(self, code: str, *, name: str, email: str = "") -> Iterator[Any]:
        """Lend the agency's seal signer, creating its token on first use."""
        from signing.pkcs11 import create_token, token_label

        pki.check_username(code)
        label = token_label("a", code)
        with self._lock:
            if self._find(label) is None:
                if not pki.nfc_strip(name):
                    raise SigningError(f"A seal token for agency '{code}' needs its name.")
                create_token(self.device, label, pin=self.agency_passphrase,
                             subject=pki.agency_subject(code, name, email), email=email,
                             reload=self._reload)
        signer = self._open(label, self.agency_passphrase, code,
                            f"agency '{code}' (its PIN: MOTCUA_AGENCY_KEY_PASSPHRASE)",
                            lambda: pki.issuer_chain(self.pki_dir))
        try:
            yield signer
        finally:
            keycache.release(signer)

    def _open(self, label: str, pin: str, username: str, whose: str, chain) -> Any:
        """Return a held signer of token ``label``, logged in with ``pin``.

        PKCS#11 keeps one login per token and process (a second session is logged in
        already, whatever PIN it would give), so a token has at most one cached session,
        keyed by the token alone, and the PIN it was opened with is remembered as an HMAC:
        the same PIN reuses it; another PIN first closes it (once no signature is using
        it), so the token itself judges that PIN.
        """
        from signing.pkcs11 import busy_error, open_signer

        with self._lock:
            found = self._find(label)
            key = None
            if found is not None:
                ident = f"{self.device.library}|{label}"
                key = self.cache.key("pkcs11", ident, [found[1].serialNumber.encode()], "")
                signer = self.cache.get(key)
                if signer is not None and hmac.compare_digest(
                        signer.pin_digest, self.cache.secret_digest(pin)):
                    return signer
                if signer is not None:
                    keycache.release(signer)  # the hold get() gave us
                    self.cache.discard(key)
                    if not signer.closed:
                        raise busy_error(label, whose)
            signer = open_signer(self.device, label, pin, username=username, whose=whose,
                                 chain=chain(), slot=None if found is None else found[0])
            signer.pin_digest = self.cache.secret_digest(pin)
            if key is not None:
                self.cache.put(key, signer)
            return signer

    def _find(self, label: str):
        """Return the slot and information of token ``label``, reloading the library once
        if it is not found: SoftHSM2 sees a token that another process (a worker, another
        server) made only when initialised again."""
        found = self.device.find(label)
        if found is None:
            self._reload()
            found = self.device.find(label)
        return found

    def _reload(self) -> None:
        """Close every cached session and unload the library (loaded again on next use).
        A signature under way in another thread then fails, asking to sign again."""
        self.cache.clear()
        self.device.close()

    def issue_officer(self, username: str, *, full_name: str, title: str, agency: str,
                      email: str = "", pin: str) -> x509.Certificate:
        """Create the officer's token (PIN ``pin``) with a key made inside it and a demo-CA
        certificate (idempotent: an existing token's certificate is returned)."""
        from signing.pkcs11 import create_token, token_label

        pki.check_username(username)
        if not full_name.strip():
            raise SigningError(f"A certificate for '{username}' needs the officer's full name.")
        pki.ensure_ca(self.pki_dir)
        with self._lock:
            return create_token(self.device, token_label("u", username), pin=pin,
                                subject=pki.officer_subject(full_name.strip(), title,
                                                            agency, email),
                                email=email, reload=self._reload)

    def close(self) -> None:
        """Close every cached session and unload the library."""
        self.cache.clear()
        self.device.close()


def provider_for(kind: str, pki_dir: Path, *, agency_passphrase: str, pkcs11_lib: str = "",
                 cache_ttl: float = 300.0) -> FileKeys | Pkcs11Keys:
    """Return the provider ``kind`` ("file" or "pkcs11") for the keys of ``pki_dir``.

    Raises:
        SigningError: an unknown kind.
    """
    kind = (kind or "file").strip().lower()
    if kind == "file":
        return FileKeys(pki_dir, agency_passphrase=agency_passphrase)
    if kind == "pkcs11":
        from signing.pkcs11 import SOFTHSM_LIB

        return Pkcs11Keys(pki_dir, agency_passphrase=agency_passphrase,
                          library=pkcs11_lib or SOFTHSM_LIB, cache_ttl=cache_ttl)
    raise SigningError(f"MOTCUA_SIGNER is {kind!r}: it must be one of {', '.join(KINDS)}.")
