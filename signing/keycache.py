"""A small per-process cache of unlocked signers, and the lease that ends a token session.

An officer who signs several documents in a row (or the agency seal, once per slip) pays
the key unlock once: a file key's decryption and RSA check (:mod:`signing.keyfiles`), or a
PKCS#11 login (:mod:`signing.pkcs11`). A signer that holds something which must be given
back (a logged-in token session) is *leased*: the cache holds it while it is cached, each
caller while it signs, and the session is closed when the last one lets go — so a session
lives at most the cache's TTL after the PIN was typed (plus the signature under way), and
with the cache off (TTL 0) only for one signature.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any


class Lease:
    """Reference counting for a signer that must be closed: :meth:`acquire` before use,
    :meth:`release` after; :meth:`_close` runs once, when the count falls to zero.
    A new signer starts held once (by whoever made it)."""

    def __init__(self) -> None:
        self._holders = 1
        self._closed = False
        self._lease_lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._closed

    def acquire(self) -> bool:
        """Hold the signer; False if it is already closed (then it must not be used)."""
        with self._lease_lock:
            if self._closed:
                return False
            self._holders += 1
            return True

    def release(self) -> None:
        with self._lease_lock:
            self._holders -= 1
            if self._holders > 0 or self._closed:
                return
            self._closed = True
        self._close()

    def _close(self) -> None:  # pragma: no cover - overridden
        """Give back what the signer holds (called once, outside the lease lock)."""


def acquire(signer: Any) -> bool:
    """Hold ``signer`` if it is leased (a file signer needs no holding)."""
    return signer.acquire() if isinstance(signer, Lease) else True


def release(signer: Any) -> None:
    """Let go of ``signer`` if it is leased."""
    if isinstance(signer, Lease):
        signer.release()


class SignerCache:
    """A small per-process cache of unlocked signers.

    Keyed by what the signer is made of (for file keys: the kind and path of the key, a
    SHA-256 of the key, certificate and chain *files' contents*, so a re-issued or replaced
    key or certificate is never served from the cache, whatever its mtime; for a token: its
    library, label and serial number) and an HMAC of the passphrase or PIN under a random
    per-process secret (so a wrong one is a different key: it misses and is refused by the
    real decryption or login, even right after the right one was cached; the passphrase
    itself is not kept). Entries live ``ttl`` seconds from the unlock (not from the last
    use) and at most ``size`` are kept (least recently used goes first). Leased signers
    (:class:`Lease`: token sessions) are released when they leave the cache; a background
    thread makes them leave on time even when nobody signs any more.

    The trade-off: for up to ``ttl`` seconds after an officer typed the passphrase, the
    decrypted key (or the logged-in token session) stays in this process, so someone able
    to read the process memory gets it (it is in memory while signing anyway); a
    passphrase *change* made by rewriting the key file takes effect at once (the file
    differs), but a stolen passphrase keeps working until the TTL even if the file is
    untouched — as it would anyway. ``ttl=0`` (``MOTCUA_SIGNER_CACHE_TTL=0``) disables the
    cache.
    """

    def __init__(self, ttl: float = 300.0, size: int = 32) -> None:
        self.ttl, self.size = ttl, size
        self._secret = secrets.token_bytes(32)
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Condition()
        self._sweeper: threading.Thread | None = None
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.size > 0

    def key(self, kind: str, ident: str, contents: list[bytes | None],
            passphrase: str) -> tuple:
        """Return the cache key of a signer ``ident`` (a resolved key path, a token) made
        from ``contents`` (None: a file that is absent) and unlocked with ``passphrase``."""
        digest = hashlib.sha256()
        for data in contents:
            digest.update(b"-" if data is None else len(data).to_bytes(8, "big") + data)
        return (kind, ident, digest.digest(), self.secret_digest(passphrase))

    def secret_digest(self, passphrase: str) -> bytes:
        """An HMAC of ``passphrase`` under this cache's per-process secret: what is kept to
        recognise it again, instead of the passphrase itself."""
        return hmac.new(self._secret, (passphrase or "").encode("utf-8"), "sha256").digest()

    def get(self, key: tuple) -> Any | None:
        """Return the cached signer, held for the caller (leased signers: release it after
        use, :func:`release`), or None."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now and acquire(entry[1]):
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
            if entry is not None:
                del self._entries[key]
                release(entry[1])
            self.misses += 1
            return None

    def put(self, key: tuple, signer: Any) -> None:
        """Keep ``signer`` (the cache holds it while it keeps it)."""
        if not self.enabled or not acquire(signer):
            return
        dropped = []
        with self._lock:
            dropped.extend(self._expired(time.monotonic()))
            old = self._entries.pop(key, None)
            if old is not None:
                dropped.append(old[1])
            self._entries[key] = (time.monotonic() + self.ttl, signer)
            while len(self._entries) > self.size:
                dropped.append(self._entries.popitem(last=False)[1][1])
            if isinstance(signer, Lease):
                self._start_sweeper()
            self._lock.notify_all()
        for gone in dropped:
            release(gone)

    def discard(self, key: tuple) -> Any | None:
        """Drop the entry ``key`` (releasing the cache's hold) and return its signer."""
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is not None:
            release(entry[1])
        return None if entry is None else entry[1]

    def clear(self) -> None:
        """Forget every unlocked signer (e.g. after revoking certificates)."""
        with self._lock:
            gone = [signer for _expires, signer in self._entries.values()]
            self._entries.clear()
            self._lock.notify_all()
        for signer in gone:
            release(signer)

    def _expired(self, now: float) -> list:
        """Remove the entries past their TTL (lock held) and return their signers."""
        stale = [k for k, (expires, _s) in self._entries.items() if expires <= now]
        return [self._entries.pop(k)[1] for k in stale]

    def sweep(self) -> int:
        """Drop (and release) the expired entries now; return how many."""
        with self._lock:
            gone = self._expired(time.monotonic())
        for signer in gone:
            release(signer)
        return len(gone)

    def _start_sweeper(self) -> None:
        if self._sweeper is None or not self._sweeper.is_alive():
            self._sweeper = threading.Thread(target=self._sweep_forever, daemon=True,
                                             name="motcua-signer-cache")
            self._sweeper.start()

    def _sweep_forever(self) -> None:
        """Release leased signers when their TTL ends; stop when none is left."""
        while True:
            with self._lock:
                leased = [e for e, s in self._entries.values() if isinstance(s, Lease)]
                if not leased:
                    self._sweeper = None
                    return
                self._lock.wait(timeout=max(0.05, min(leased) - time.monotonic()))
            self.sweep()


#: The process's cache of unlocked file-key signers; ``signer_cache.ttl = 0`` turns it off
#: (the engine sets it from its settings, ``MOTCUA_SIGNER_CACHE_TTL``). Token signers are
#: cached by their provider (:class:`signing.providers.Pkcs11Keys`), which closes them.
signer_cache = SignerCache(ttl=300.0)
