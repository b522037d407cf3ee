"""Signing keys in PKCS#11 tokens (PyKCS11): SoftHSM2 here, a network HSM in production.

**One token per key holder.** Each officer has a token of their own, labelled
``u:<username>``, and each agency's seal one labelled ``a:<agency code>`` (a label longer
than PKCS#11's 32 bytes is cut and ends in a hash of the whole name, :func:`token_label`).
A PIN protects a token, not an object, so one token per officer is what gives each officer
a PIN of their own — and a PIN locked by wrong guesses locks that officer only, as with
the USB tokens officers are issued. The token holds the RSA-2048 private key (generated
inside it, sensitive and not extractable) and its certificate (same ``CKA_ID``); the
issuer chain comes from the PKI directory (``users/<username>.chain.pem`` or ``ca.pem``,
:func:`signing.pki.issuer_chain`). An officer's PIN is what they type when they sign; an
agency token's PIN is the server's agency-key passphrase (``MOTCUA_AGENCY_KEY_PASSPHRASE``).

**SoftHSM2 stays inside the data directory.** When the library is SoftHSM2's and the
operator has not set ``SOFTHSM2_CONF`` themselves, :class:`Device` writes
``<pki_dir>/softhsm/softhsm2.conf`` with the token directory ``<pki_dir>/softhsm/tokens``
and points ``SOFTHSM2_CONF`` at it before loading the library, so nothing touches the
system-wide token directory. The demo creates the tokens (:func:`create_token`, with a
random security-officer PIN kept in ``<pki_dir>/softhsm/so-pin``, mode 0600, which
also resets a forgotten user PIN). A real HSM's tokens are made by its administrators:
the portal then only finds them by label.

SoftHSM2 never locks a PIN (its maintainers' choice: whoever can run it can read its token
files); a real token answers ``CKR_PIN_LOCKED`` after a few wrong PINs, which
:func:`token_error` turns into a message that sends the officer to an administrator.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from pathlib import Path

import PyKCS11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from signing import pki
from signing.errors import SigningError
from signing.keycache import Lease

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"
LABEL_BYTES = 32
KEY_BITS = 2048
_SHA256_RSA = PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS, None)
_WRONG_PIN = {PyKCS11.CKR_PIN_INCORRECT, PyKCS11.CKR_PIN_INVALID, PyKCS11.CKR_PIN_LEN_RANGE}
_GONE = {PyKCS11.CKR_TOKEN_NOT_PRESENT, PyKCS11.CKR_DEVICE_REMOVED,
         PyKCS11.CKR_TOKEN_NOT_RECOGNIZED, PyKCS11.CKR_SLOT_ID_INVALID}


def token_label(kind: str, name: str) -> str:
    """Return the token label of an officer (``kind`` "u") or agency seal ("a"):
    ``<kind>:<name>``, or when that is over 32 bytes, its first bytes, "~" and 8 hex
    digits of the name's SHA-256 (usernames may have 64 characters)."""
    label = f"{kind}:{name}"
    if len(label.encode("utf-8")) <= LABEL_BYTES:
        return label
    return f"{label[:LABEL_BYTES - 9]}~{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


def token_error(exc: PyKCS11.PyKCS11Error, label: str, whose: str) -> SigningError:
    """Return the error an officer (or operator) can act on for a failed token call.

    ``whose`` names the key's holder in English ("officer 'chuyenvien'"); the
    Vietnamese is written for the officer at the signing page.
    """
    code = getattr(exc, "value", None)
    if code in _WRONG_PIN:
        return wrong_pin_error(label, whose)
    if code == PyKCS11.CKR_PIN_LOCKED:
        return locked_error(label, whose)
    if code == PyKCS11.CKR_USER_ALREADY_LOGGED_IN:
        return busy_error(label, whose)
    if code == PyKCS11.CKR_PIN_EXPIRED:
        return SigningError(
            f"The PIN of {whose} (token '{label}') has expired; set a new one with the "
            "token's tools, then sign again.",
            vi="Mã PIN khóa ký số đã hết hạn. Hãy đổi mã PIN mới rồi ký lại; văn bản chưa được "
               "ký, công việc vẫn còn nguyên.")
    if code in _GONE:
        return SigningError(
            f"The token of {whose} ('{label}') is not reachable ({exc}); an administrator "
            "must check the signing device.",
            vi="Không kết nối được thiết bị ký số (token). Hãy báo quản trị viên kiểm tra; "
               "văn bản chưa được ký, công việc vẫn còn nguyên.")
    return SigningError(f"The PKCS#11 token '{label}' of {whose} failed: {exc}.")


def wrong_pin_error(label: str, whose: str) -> SigningError:
    return SigningError(
        f"Wrong PIN for {whose} (token '{label}'). Type the PIN again; nothing was signed "
        "and the task is still open.",
        vi="Mã PIN khóa ký số không đúng. Hãy nhập lại mã PIN của thiết bị ký số (không "
           "phải mật khẩu đăng nhập); văn bản chưa được ký, công việc vẫn còn nguyên.")


def busy_error(label: str, whose: str) -> SigningError:
    """The token is logged in by a signature under way with another PIN: PKCS#11 keeps one
    login per token and process, so the PIN cannot be checked until that one is done."""
    return SigningError(
        f"The token of {whose} ('{label}') is in use by another signature; sign again in a "
        "moment. Nothing was signed and the task is still open.",
        vi="Thiết bị ký số đang bận với một lần ký khác. Hãy ký lại sau giây lát; văn bản "
           "chưa được ký, công việc vẫn còn nguyên.")


def locked_error(label: str, whose: str) -> SigningError:
    return SigningError(
        f"The PIN of {whose} (token '{label}') is locked after too many wrong tries; an "
        "administrator must unlock it (reset the PIN with the token's security-officer "
        "PIN). Nothing was signed and the task is still open.",
        vi="Khóa ký số (token) của bạn đã bị khóa do nhập sai mã PIN quá số lần cho phép. "
           "Hãy báo quản trị viên mở khóa; văn bản chưa được ký, công việc vẫn còn nguyên.")


# -- the library ------------------------------------------------------------------------

_load_lock = threading.Lock()
#: library path -> [SOFTHSM2_CONF it was initialised with (None: not ours), users]
_loaded: dict[str, list] = {}
_our_confs: set[str] = set()


def softhsm_conf(pki_dir: Path) -> Path:
    """Write (if absent) and return SoftHSM2's configuration for the tokens of ``pki_dir``."""
    folder = Path(pki_dir) / "softhsm"
    tokens = folder / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    conf = folder / "softhsm2.conf"
    if not conf.is_file():
        conf.write_text("# The portal's SoftHSM2 tokens (signing.pkcs11); not the system's.\n"
                        f"directories.tokendir = {tokens}/\nobjectstore.backend = file\n"
                        "log.level = ERROR\nslots.removable = false\n", encoding="utf-8")
    return conf


class Device:
    """A PKCS#11 library loaded for one PKI directory's tokens (one per provider).

    PKCS#11 libraries are initialised once per process, so two devices of the same library
    with different SoftHSM2 token directories cannot be open at the same time.
    """

    def __init__(self, library: str, pki_dir: Path) -> None:
        self.library, self.pki_dir = library, Path(pki_dir)
        self._lib: PyKCS11.PyKCS11Lib | None = None
        self._lock = threading.Lock()

    def _conf(self) -> str | None:
        """The SOFTHSM2_CONF this device sets (None: not SoftHSM2's, or the operator's own)."""
        if "softhsm" not in Path(self.library).name.lower():
            return None
        current = os.environ.get("SOFTHSM2_CONF")
        if current and current not in _our_confs:
            return None
        return str(softhsm_conf(self.pki_dir))

    def lib(self) -> PyKCS11.PyKCS11Lib:
        """Return the loaded library (loading it on first use)."""
        with self._lock:
            if self._lib is None:
                self._lib = self._load()
            return self._lib

    def _load(self) -> PyKCS11.PyKCS11Lib:
        conf = self._conf()
        with _load_lock:
            entry = _loaded.get(self.library)
            if entry and entry[1] > 0 and conf is not None and entry[0] != conf:
                raise SigningError(
                    f"This process already uses {self.library} with the tokens of "
                    f"{entry[0]}; one process serves one token directory.")
            if conf is not None:
                _our_confs.add(conf)
                os.environ["SOFTHSM2_CONF"] = conf
            try:
                lib = PyKCS11.PyKCS11Lib().load(self.library)
            except PyKCS11.PyKCS11Error as exc:
                raise SigningError(
                    f"Cannot load the PKCS#11 library {self.library} ({exc}); install it "
                    "(SoftHSM2: Debian package softhsm2) or set MOTCUA_PKCS11_LIB.") from exc
            entry = _loaded.setdefault(self.library, [conf, 0])
            entry[0], entry[1] = conf, entry[1] + 1
            return lib

    def close(self) -> None:
        """Unload the library (finalised when no other device of it is open)."""
        with self._lock, _load_lock:
            if self._lib is None:
                return
            self._lib.unload()
            self._lib = None
            entry = _loaded.get(self.library)
            if entry:
                entry[1] -= 1

    def find(self, label: str) -> tuple[int, PyKCS11.CK_TOKEN_INFO] | None:
        """Return the slot and token information of the token labelled ``label``."""
        lib = self.lib()
        for slot in lib.getSlotList(tokenPresent=True):
            info = lib.getTokenInfo(slot)
            if info.flags & PyKCS11.CKF_TOKEN_INITIALIZED and _label(info) == label:
                return slot, info
        return None

    def so_pin(self) -> str:
        """The security-officer PIN of the tokens this portal creates (made on first use)."""
        path = self.pki_dir / "softhsm" / "so-pin"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            pki.write_private(path, secrets.token_hex(16).encode("ascii") + b"\n")
        return path.read_text("ascii").strip()


def _label(info) -> str:
    return info.label.replace("\0", " ").rstrip()


# -- making a token ---------------------------------------------------------------------

def _attrs(session, handle, names: list[int]) -> list:
    return session.getAttributeValue(handle, names, allAsBinary=True)


def _public_key(session, handle) -> rsa.RSAPublicKey:
    modulus, exponent = _attrs(session, handle, [PyKCS11.CKA_MODULUS,
                                                 PyKCS11.CKA_PUBLIC_EXPONENT])
    return rsa.RSAPublicNumbers(int.from_bytes(bytes(exponent), "big"),
                                int.from_bytes(bytes(modulus), "big")).public_key()


def _generate(session, label: str, key_id: bytes):
    common = [(PyKCS11.CKA_TOKEN, True), (PyKCS11.CKA_LABEL, label),
              (PyKCS11.CKA_ID, key_id), (PyKCS11.CKA_KEY_TYPE, PyKCS11.CKK_RSA)]
    public = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY), (PyKCS11.CKA_PRIVATE, False),
              (PyKCS11.CKA_VERIFY, True), (PyKCS11.CKA_MODULUS_BITS, KEY_BITS),
              (PyKCS11.CKA_PUBLIC_EXPONENT, (0x01, 0x00, 0x01)), *common]
    private = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_PRIVATE, True),
               (PyKCS11.CKA_SIGN, True), (PyKCS11.CKA_SENSITIVE, True),
               (PyKCS11.CKA_EXTRACTABLE, False), *common]
    return session.generateKeyPair(public, private)


def _store_certificate(session, cert: x509.Certificate, label: str, key_id: bytes) -> None:
    der = cert.public_bytes(serialization.Encoding.DER)
    session.createObject([
        (PyKCS11.CKA_CLASS, PyKCS11.CKO_CERTIFICATE),
        (PyKCS11.CKA_CERTIFICATE_TYPE, PyKCS11.CKC_X_509), (PyKCS11.CKA_TOKEN, True),
        (PyKCS11.CKA_PRIVATE, False), (PyKCS11.CKA_LABEL, label), (PyKCS11.CKA_ID, key_id),
        (PyKCS11.CKA_SUBJECT, cert.subject.public_bytes()),
        (PyKCS11.CKA_ISSUER, cert.issuer.public_bytes()),
        (PyKCS11.CKA_SERIAL_NUMBER, _der_integer(cert.serial_number)),
        (PyKCS11.CKA_VALUE, der)])


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return b"\x02" + bytes([len(body)]) + body


def token_certificate(device: Device, slot: int, session=None) -> x509.Certificate | None:
    """Return the certificate stored in the token of ``slot`` (a public object: no login)."""
    own = session is None
    session = session or device.lib().openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
    try:
        found = session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_CERTIFICATE)])
        if not found:
            return None
        [der] = _attrs(session, found[0], [PyKCS11.CKA_VALUE])
        return x509.load_der_x509_certificate(bytes(der))
    finally:
        if own:
            session.closeSession()


def _free_slot(device: Device, label: str) -> int:
    lib = device.lib()
    for slot in lib.getSlotList(tokenPresent=True):
        if not lib.getTokenInfo(slot).flags & PyKCS11.CKF_TOKEN_INITIALIZED:
            return slot
    raise SigningError(f"The PKCS#11 device has no free slot for the token '{label}'; its "
                       "administrator must create that token (with a key and certificate).")


def create_token(device: Device, label: str, *, pin: str, subject: x509.Name,
                 email: str = "", reload=None) -> x509.Certificate:
    """Return the certificate of the token ``label``, first creating the token if it has
    none: initialise a free slot, set the user ``pin``, generate an RSA-2048 key inside
    the token, have the demo CA certify it (:func:`signing.pki.issue_for_key`) and store
    the certificate beside the key. Safe against concurrent callers, also in other
    processes, given ``reload``: called once the lock is held, it must reload the library
    (SoftHSM2 sees the tokens another process made only when initialised again).

    Raises:
        SigningError: an empty PIN, no free slot, or the token or CA failed.
    """
    if not pin:
        raise SigningError(f"The token '{label}' needs a non-empty PIN.")
    with pki.locked(device.pki_dir / "softhsm"):  # not the PKI's lock: the CA takes it
        if reload is not None:
            reload()
        found = device.find(label)
        if found is not None:
            cert = token_certificate(device, found[0])
            if cert is not None:
                return cert
        slot = found[0] if found is not None else _free_slot(device, label)
        try:
            return _initialise(device, slot, label, pin, subject, email)
        except PyKCS11.PyKCS11Error as exc:
            raise SigningError(f"Cannot create the PKCS#11 token '{label}': {exc}") from exc


def _initialise(device: Device, slot: int, label: str, pin: str, subject: x509.Name,
                email: str) -> x509.Certificate:
    lib, so_pin = device.lib(), device.so_pin()
    lib.initToken(slot, so_pin, label.ljust(LABEL_BYTES))
    session = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
    try:
        session.login(so_pin, user_type=PyKCS11.CKU_SO)
        session.initPin(pin)
        session.logout()
        session.login(pin)
        key_id = secrets.token_bytes(20)
        public, _private = _generate(session, label, key_id)
        cert = pki.issue_for_key(device.pki_dir, subject, _public_key(session, public),
                                 email=email)
        _store_certificate(session, cert, label, key_id)
        session.logout()
        return cert
    finally:
        session.closeSession()


# -- signing ----------------------------------------------------------------------------

class TokenSigner(Lease):
    """A logged-in session on an officer's (or agency's) token, able to sign with its key.

    Offers what every signer does (``username``, ``certificate``, ``chain``, ``prepared``,
    :meth:`sign`); the session is logged out and closed when the last holder releases it
    (:class:`signing.keycache.Lease`).
    """

    def __init__(self, username: str, session, key, certificate: x509.Certificate,
                 chain: list[x509.Certificate], label: str) -> None:
        super().__init__()
        self.username, self.certificate, self.chain = username, certificate, chain
        self.label, self.prepared = label, None
        #: The HMAC of the PIN this session was opened with (set by the provider).
        self.pin_digest = b""
        self._session, self._key = session, key
        self._sign_lock = threading.Lock()

    def sign(self, data: bytes) -> bytes:
        """Return the token's RSA PKCS#1 v1.5 SHA-256 signature (CKM_SHA256_RSA_PKCS)."""
        with self._sign_lock:
            if self.closed:
                raise SigningError(
                    f"The session on token '{self.label}' has ended; sign again with the PIN.",
                    vi="Phiên làm việc với thiết bị ký số đã hết. Hãy nhập lại mã PIN để ký.")
            try:
                return bytes(self._session.sign(self._key, data, _SHA256_RSA))
            except PyKCS11.PyKCS11Error as exc:
                raise token_error(exc, self.label, f"'{self.username}'") from exc

    def _close(self) -> None:
        # Closing the token's last session logs the process out of it (C_Logout would log
        # out every session of the process on that token at once).
        with self._sign_lock:
            try:
                self._session.closeSession()
            except PyKCS11.PyKCS11Error:
                pass  # the token went away or the library was finalised: nothing held


def open_signer(device: Device, label: str, pin: str, *, username: str, whose: str,
                chain: list[x509.Certificate], slot: int | None = None) -> TokenSigner:
    """Log in to the token ``label`` with ``pin`` and return a signer with its key.

    Raises:
        SigningError: no such token, a wrong or locked PIN, no key or certificate in the
            token, or a certificate that is not the key's.
    """
    found = device.find(label) if slot is None else (slot, device.lib().getTokenInfo(slot))
    if found is None:
        raise SigningError(
            f"There is no PKCS#11 token '{label}' for {whose}; an administrator creates one "
            "(the demo: `motcua demo` with MOTCUA_SIGNER=pkcs11).",
            vi="Chưa có thiết bị ký số (token) cho tài khoản này. Hãy báo quản trị viên.")
    slot, info = found
    if info.flags & PyKCS11.CKF_USER_PIN_LOCKED:
        raise locked_error(label, whose)
    if not pin:  # never right; some tokens answer an empty PIN with CKR_ARGUMENTS_BAD
        raise wrong_pin_error(label, whose)
    session = device.lib().openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
    try:
        session.login(pin)
        return _signer_in(session, label, username=username, whose=whose, chain=chain)
    except PyKCS11.PyKCS11Error as exc:
        session.closeSession()
        raise token_error(exc, label, whose) from exc
    except SigningError:
        session.closeSession()
        raise


def _signer_in(session, label: str, *, username: str, whose: str,
               chain: list[x509.Certificate]) -> TokenSigner:
    keys = session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY),
                                (PyKCS11.CKA_SIGN, True)])
    if not keys:
        raise SigningError(f"The token '{label}' of {whose} holds no signing key.")
    [key_id] = _attrs(session, keys[0], [PyKCS11.CKA_ID])
    certs = session.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_CERTIFICATE),
                                 (PyKCS11.CKA_ID, bytes(key_id))])
    if not certs:
        raise SigningError(f"The token '{label}' of {whose} holds no certificate for its key.")
    [der] = _attrs(session, certs[0], [PyKCS11.CKA_VALUE])
    cert = x509.load_der_x509_certificate(bytes(der))
    [modulus] = _attrs(session, keys[0], [PyKCS11.CKA_MODULUS])
    public = cert.public_key()
    if (not isinstance(public, rsa.RSAPublicKey)
            or public.public_numbers().n != int.from_bytes(bytes(modulus), "big")):
        raise SigningError(f"The key in token '{label}' of {whose} does not match its "
                           "certificate; an administrator must re-issue the certificate.")
    return TokenSigner(username, session, keys[0], cert, chain, label)
