"""A local stand-in for a time-stamping authority (RFC 3161), for the demo and the tests.

A real TSA cannot exist here, so this one speaks the real protocol and says what it is:
HTTP POST of a DER ``TimeStampReq`` (``application/timestamp-query``) answered with a
DER ``TimeStampResp`` (``application/timestamp-reply``, header ``X-Stand-In: true``). The
token is a CMS SignedData over a TSTInfo, signed with the stand-in's own certificate,
which the demo CA issues on first use: subject "Một Cửa TSA (stand-in)", extended key
usage timeStamping only and critical (RFC 3161 2.3), kept in ``pki/tsa/``. Its clock is
this machine's. The signed attributes are content type, message digest and
signing-certificate-v2 (RFC 5816).

:func:`serve` runs it on 127.0.0.1 in a daemon thread of this process (one per PKI
directory), so the signer always talks HTTP to it, in the web server, the worker, the CLI
and the tests alike; the Flask app also answers the same protocol at ``/sandbox/tsa``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing import pki

#: RFC 3161 §3.4: what a client sends and what the authority answers (the client, in
#: :mod:`signing.timestamps`, checks the same two media types).
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"

log = logging.getLogger(__name__)
SUBJECT = "Một Cửa TSA (stand-in)"
#: The stand-in's TSA policy: a UUID OID (ITU-T X.667), not a real authority's policy.
POLICY = "2.25.190193358457216154183470311127582213837"
_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def _paths(pki_dir: Path) -> tuple[Path, Path]:
    return Path(pki_dir) / "tsa" / "standin.pem", Path(pki_dir) / "tsa" / "standin.key.pem"


def ensure_certificate(pki_dir: Path) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """Return the stand-in's certificate and key, issuing them from the demo CA if absent."""
    cert_path, key_path = _paths(pki_dir)
    if not cert_path.is_file():
        ca_cert = pki.ensure_ca(pki_dir)
        with pki.locked(Path(pki_dir)):
            if not cert_path.is_file():
                _issue(Path(pki_dir), ca_cert, cert_path, key_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    return cert, key


def _issue(pki_dir: Path, ca_cert: x509.Certificate, cert_path: Path, key_path: Path) -> None:
    ca_key = pki.load_ca_key(pki_dir)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Một Cửa (demo)"),
                         x509.NameAttribute(NameOID.COMMON_NAME, SUBJECT)])
    usage = x509.KeyUsage(digital_signature=True, content_commitment=True,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=False, crl_sign=False, encipher_only=False,
                          decipher_only=False)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=365 * 3), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_cert.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    pki.write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    pki.write_public(cert_path, pki.pem(cert))
    log.info("issued the TSA stand-in's certificate %s", cert_path)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _rejection(fail_info: str, text: str) -> bytes:
    """A TimeStampResp with a rejection status and no token (asn1crypto's TimeStampResp
    cannot be built without one, so the outer SEQUENCE is written here)."""
    status = tsp.PKIStatusInfo({"status": "rejection", "status_string": [text],
                                "fail_info": tsp.PKIFailureInfo({fail_info})}).dump()
    return b"\x30" + _der_length(len(status)) + status


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


class StandinTsa:
    """Answers DER TimeStampReq bytes with DER TimeStampResp bytes."""

    def __init__(self, pki_dir: Path) -> None:
        cert, self._key = ensure_certificate(pki_dir)
        self._cert = _asn1(cert)
        self._chain = [self._cert, *(_asn1(c) for c in pki.trust_roots(pki_dir)[:1])]
        self._cert_hash = hashlib.sha256(self._cert.dump()).digest()

    def respond(self, body: bytes) -> bytes:
        """The TimeStampResp for ``body`` (a rejection for anything but a valid request)."""
        try:
            req = tsp.TimeStampReq.load(body)
            imprint = req["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            nonce, cert_req = req["nonce"].native, bool(req["cert_req"].native)
        except (ValueError, TypeError, KeyError):
            return _rejection("bad_data_format", "Not an RFC 3161 TimeStampReq (stand-in)")
        if algorithm not in _HASHES or len(digest) != _HASHES[algorithm].digest_size:
            return _rejection("bad_alg", f"Unsupported hash {algorithm} (stand-in)")
        info = {
            "version": "v1", "policy": POLICY, "message_imprint": imprint,
            "serial_number": secrets.randbits(63),
            "gen_time": core.GeneralizedTime(dt.datetime.now(dt.UTC).replace(microsecond=0)),
            "tsa": asn1_x509.GeneralName({"directory_name": self._cert.subject}),
        }
        if nonce is not None:
            info["nonce"] = nonce
        token = self._sign(tsp.TSTInfo(info).dump(), cert_req)
        return tsp.TimeStampResp({"status": tsp.PKIStatusInfo({"status": "granted"}),
                                  "time_stamp_token": token}).dump()

    def _sign(self, tst_info: bytes, with_certs: bool) -> cms.ContentInfo:
        sha256 = algos.DigestAlgorithm({"algorithm": "sha256"})
        attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "message_digest",
                              "values": [hashlib.sha256(tst_info).digest()]}),
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [
                tsp.SigningCertificateV2({"certs": [tsp.ESSCertIDv2({
                    "cert_hash": self._cert_hash})]})]}),
        ])
        signature = self._key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
                {"issuer": self._cert.issuer, "serial_number": self._cert.serial_number})}),
            "digest_algorithm": sha256,
            "signature_algorithm": algos.SignedDigestAlgorithm(
                {"algorithm": "sha256_rsa"}),
            "signed_attrs": attrs, "signature": signature,
        })
        signed = {
            "version": "v3", "digest_algorithms": [sha256],
            "encap_content_info": {"content_type": "tst_info",
                                   "content": core.ParsableOctetString(tst_info)},
            "signer_infos": [signer],
        }
        if with_certs:
            signed["certificates"] = self._chain
        return cms.ContentInfo({"content_type": "signed_data",
                                "content": cms.SignedData(signed)})


class _Handler(BaseHTTPRequestHandler):
    server_version = "MotCuaTSA-stand-in/1"
    tsa: StandinTsa

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 64 * 1024))
        if self.headers.get("Content-Type", "").split(";")[0].strip() != QUERY_TYPE:
            self._send(415, "text/plain; charset=utf-8",
                       f"TSA stand-in: send {QUERY_TYPE}\n".encode())
            return
        self._send(200, REPLY_TYPE, self.tsa.respond(body))

    def _send(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Stand-In", "true")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
        log.debug("TSA stand-in: " + format, *args)


_servers: dict[Path, str] = {}
_servers_lock = threading.Lock()


def serve(pki_dir: Path) -> str:
    """Start (once per process and PKI) the stand-in on 127.0.0.1; return its URL."""
    key = Path(pki_dir).resolve()
    with _servers_lock:
        if key not in _servers:
            handler = type("Handler", (_Handler,), {"tsa": StandinTsa(key)})
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name="tsa-standin",
                             daemon=True).start()
            _servers[key] = f"http://127.0.0.1:{server.server_address[1]}/"
            log.warning("RFC 3161 time-stamping authority STAND-IN (not a real TSA) at %s",
                        _servers[key])
        return _servers[key]
