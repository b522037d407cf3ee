import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing import keyfiles, pki
from signing.errors import SigningError


def _attr(cert, oid):
    return cert.subject.get_attributes_for_oid(oid)[0].value


def test_ca_is_created_once_with_a_protected_key(pki_dir):
    ca = pki.ensure_ca(pki_dir)
    assert ca == pki.ensure_ca(pki_dir, name="ignored on the second call")
    assert _attr(ca, NameOID.COMMON_NAME) == "Tỉnh Thanh Hóa — CA dịch vụ công (demo)"
    assert isinstance(ca.public_key(), rsa.RSAPublicKey) and ca.public_key().key_size == 3072
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for name in ("ca.passphrase", "ca.key.pem"):
        assert stat.S_IMODE((pki_dir / name).stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in (pki_dir / "ca.key.pem").read_bytes()


def test_officer_certificate(pki_dir, sample):
    cert = pki.issue_certificate(pki_dir, "chuyenvien", full_name="x", title="x", agency="x",
                                 passphrase="other")  # idempotent: returned unchanged
    assert _attr(cert, NameOID.COMMON_NAME) == "Nguyễn Văn An"
    assert _attr(cert, NameOID.ORGANIZATION_NAME) == sample["agency"]
    assert _attr(cert, NameOID.TITLE) == "Chuyên viên"
    assert cert.public_key().key_size == 2048
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert cert.issuer == pki.ensure_ca(pki_dir).subject
    key_pem = (pki_dir / "users" / "chuyenvien.key.pem").read_bytes()
    assert key_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_load_signer(pki_dir, sample):
    signer = keyfiles.load_signer(pki_dir, "lanhdao", sample["passphrase"])
    assert signer.username == "lanhdao"
    assert signer.certificate.public_key() == signer.key.public_key()
    assert signer.chain == [pki.ensure_ca(pki_dir)]


def test_wrong_passphrase(pki_dir):
    with pytest.raises(SigningError, match="Wrong passphrase for the signing key of 'lanhdao'"):
        keyfiles.load_signer(pki_dir, "lanhdao", "sai")


def test_officer_without_certificate(pki_dir):
    assert pki.has_certificate(pki_dir, "chuyenvien")
    assert not pki.has_certificate(pki_dir, "motcua")
    assert not pki.has_certificate(pki_dir, "../ca")
    with pytest.raises(SigningError, match="'motcua' has no signing certificate"):
        keyfiles.load_signer(pki_dir, "motcua", "demo")


def test_bad_usernames_and_empty_passphrase(pki_dir):
    with pytest.raises(SigningError, match="Invalid username"):
        pki.issue_certificate(pki_dir, "../../etc", full_name="A", title="", agency="",
                              passphrase="p")
    with pytest.raises(SigningError, match="non-empty passphrase"):
        pki.issue_certificate(pki_dir, "nopass", full_name="A", title="", agency="",
                              passphrase="")


def test_trust_roots_include_extra_trusted_certificates(pki_dir, tmp_path):
    roots = pki.trust_roots(pki_dir)
    assert roots == [pki.ensure_ca(pki_dir)]
    other = tmp_path / "other"
    extra = pki.ensure_ca(other, name="Another root")
    trusted = pki_dir / "trusted"
    trusted.mkdir(exist_ok=True)
    (trusted / "national.pem").write_bytes((other / "ca.pem").read_bytes() * 2)  # duplicates
    try:
        assert pki.trust_roots(pki_dir) == [roots[0], extra]
        (trusted / "broken.pem").write_text("not a certificate")
        with pytest.raises(SigningError, match="broken.pem"):
            pki.trust_roots(pki_dir)
    finally:
        for path in trusted.iterdir():
            path.unlink()
        trusted.rmdir()
    assert pki.trust_roots(tmp_path / "no-pki-yet") == []
