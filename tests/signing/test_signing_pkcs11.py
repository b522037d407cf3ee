"""Officers' keys in PKCS#11 tokens (SoftHSM2): signatures that pyHanko and pdfsig accept,
PINs that are refused clearly, and token sessions that do not outlive the cache's TTL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signing import keycache, pki, providers
from signing.errors import SigningError
from signing.sign import sign_pdf
from signing.verify import format_report, verify_pdf

from .conftest import AGENCY, OFFICERS, PASSPHRASE

PyKCS11 = pytest.importorskip("PyKCS11")
from signing import pkcs11  # noqa: E402 - needs PyKCS11

pytestmark = pytest.mark.skipif(not os.path.exists(pkcs11.SOFTHSM_LIB),
                                reason="SoftHSM2 (softhsm2) not installed; `make test` "
                                       "installs it")


@pytest.fixture(scope="module")
def tokens(tmp_path_factory):
    """A demo CA and one SoftHSM2 token per officer of OFFICERS (PIN: PASSPHRASE)."""
    directory = tmp_path_factory.mktemp("pki-tokens")
    pki.ensure_ca(directory)
    provider = providers.Pkcs11Keys(directory, agency_passphrase="máy chủ",
                                    library=pkcs11.SOFTHSM_LIB, cache_ttl=60)
    for username, (full_name, title, email) in OFFICERS.items():
        provider.issue_officer(username, full_name=full_name, title=title, agency=AGENCY,
                               email=email, pin=PASSPHRASE)
    yield provider
    provider.close()


def test_tokens_stay_in_the_pki_directory_and_keys_never_leave_them(tokens):
    conf = tokens.pki_dir / "softhsm" / "softhsm2.conf"
    assert os.environ["SOFTHSM2_CONF"] == str(conf)
    assert f"directories.tokendir = {tokens.pki_dir / 'softhsm' / 'tokens'}/" in conf.read_text()
    assert len(list((tokens.pki_dir / "softhsm" / "tokens").iterdir())) == 2
    assert not (tokens.pki_dir / "users").exists()  # no key file, no certificate file
    with tokens.officer("chuyenvien", PASSPHRASE) as signer:
        key = signer._key
        sensitive, extractable = signer._session.getAttributeValue(
            key, [PyKCS11.CKA_SENSITIVE, PyKCS11.CKA_EXTRACTABLE])
        assert (sensitive, extractable) == (True, False)
        assert signer.certificate.issuer == pki.ensure_ca(tokens.pki_dir).subject
        assert signer.chain == [pki.ensure_ca(tokens.pki_dir)]
        assert not hasattr(signer, "key")


def test_token_signatures_are_valid_for_pyhanko_and_pdfsig(tokens, unsigned, tmp_path):
    with tokens.officer("chuyenvien", PASSPHRASE) as handler:
        once = sign_pdf(unsigned, handler, slot=1, reason="Thẩm định")
    with tokens.officer("lanhdao", PASSPHRASE) as head:
        twice = sign_pdf(once, head, slot=2)
    report = verify_pdf(twice, pki.trust_roots(tokens.pki_dir))
    assert report.ok, format_report(report)
    assert [(s.field, s.signer) for s in report.signatures] == [
        ("sig1", "Nguyễn Văn An"), ("sig2", "Lê Thị Bình")]
    assert all(s.intact and s.valid and s.trusted for s in report.signatures)
    if not shutil.which("pdfsig"):
        pytest.skip("pdfsig (poppler-utils) not installed; `make test` installs it")
    path = tmp_path / "signed.pdf"
    path.write_bytes(twice)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                         check=False).stdout
    assert re.findall(r"Signer Certificate Common Name: (.+)", out) == [
        "Nguyễn Văn An", "Lê Thị Bình"]
    assert out.count("Signature Validation: Signature is Valid.") == 2


def test_a_wrong_pin_is_refused_and_says_what_to_do(tokens):
    with tokens.officer("lanhdao", PASSPHRASE):
        pass  # the right PIN, now cached: a wrong one must still be refused by the token
    for wrong in ("sai", "", PASSPHRASE.upper()):
        with pytest.raises(SigningError, match="Wrong PIN for officer 'lanhdao'") as err:
            with tokens.officer("lanhdao", wrong):
                pytest.fail("a wrong PIN opened the token")
        assert "Type the PIN again; nothing was signed" in str(err.value)
        assert err.value.vi.startswith("Mã PIN khóa ký số không đúng")
    with tokens.officer("lanhdao", PASSPHRASE) as signer:  # the right PIN still opens it
        assert len(signer.sign(b"x")) == 256


def test_another_pin_while_a_signature_is_under_way_is_asked_again_later(tokens):
    """PKCS#11 keeps one login per token: another PIN cannot be checked meanwhile."""
    with tokens.officer("chuyenvien", PASSPHRASE) as busy:
        with pytest.raises(SigningError, match="in use by another signature") as err:
            with tokens.officer("chuyenvien", "sai"):
                pytest.fail("a wrong PIN reused the logged-in session")
        assert "Hãy ký lại sau giây lát" in err.value.vi
        assert len(busy.sign(b"still signs")) == 256
    with pytest.raises(SigningError, match="Wrong PIN"):
        with tokens.officer("chuyenvien", "sai"):
            pass


def test_an_officer_without_a_token_is_told_to_ask_an_administrator(tokens):
    with pytest.raises(SigningError, match="no PKCS#11 token 'u:motcua'") as err:
        with tokens.officer("motcua", PASSPHRASE):
            pass
    assert "quản trị viên" in err.value.vi


def test_a_locked_pin_sends_the_officer_to_an_administrator():
    """SoftHSM2 never locks a PIN; a real token answers CKR_PIN_LOCKED."""
    error = pkcs11.token_error(PyKCS11.PyKCS11Error(PyKCS11.CKR_PIN_LOCKED), "u:an",
                               "officer 'an'")
    assert "locked after too many wrong tries; an administrator must unlock it" in str(error)
    assert "đã bị khóa" in error.vi and "công việc vẫn còn nguyên" in error.vi
    wrong = pkcs11.token_error(PyKCS11.PyKCS11Error(PyKCS11.CKR_PIN_INCORRECT), "u:an", "x")
    assert "Wrong PIN" in str(wrong)


def _session_open(signer) -> bool:
    try:
        signer._session.getSessionInfo()
        return True
    except PyKCS11.PyKCS11Error as exc:
        assert exc.value == PyKCS11.CKR_SESSION_HANDLE_INVALID
        return False


def test_token_sessions_end_with_the_cache_ttl(tokens, monkeypatch):
    tokens.cache.clear()
    with tokens.officer("chuyenvien", PASSPHRASE) as first:
        pass
    with tokens.officer("chuyenvien", PASSPHRASE) as again:
        assert again is first  # one login for several signatures
    assert _session_open(first)
    now = time.monotonic()
    monkeypatch.setattr(keycache.time, "monotonic", lambda: now + 61)
    tokens.cache.sweep()  # what the cache's background thread does when the TTL ends
    assert first.closed and not _session_open(first)
    with pytest.raises(SigningError, match="has ended"):
        first.sign(b"too late")


def test_without_the_cache_a_session_lasts_one_use(tokens):
    saved, tokens.cache.ttl = tokens.cache.ttl, 0
    try:
        with tokens.officer("chuyenvien", PASSPHRASE) as signer:
            assert _session_open(signer) and len(signer.sign(b"x")) == 256
        assert signer.closed and not _session_open(signer)
    finally:
        tokens.cache.ttl = saved


def test_the_cache_thread_ends_sessions_on_time(tokens):
    """No signature after the TTL: the session still ends (by the background sweeper)."""
    cache = keycache.SignerCache(ttl=0.2)
    tokens_cache, tokens.cache = tokens.cache, cache
    try:
        with tokens.officer("lanhdao", PASSPHRASE) as signer:
            pass
        deadline = time.monotonic() + 10
        while not signer.closed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert signer.closed and not cache._entries
    finally:
        tokens.cache = tokens_cache


def test_an_agency_seal_token_is_made_on_first_use(tokens, unsigned):
    code = "000.00.14.H56"
    with tokens.agency(code, name=AGENCY) as seal:
        pdf = sign_pdf(unsigned, seal, slot=1)
        assert seal.certificate.subject.rfc4514_string().startswith(f"CN={AGENCY},OU={code}")
    with tokens.agency(code, name=AGENCY) as again:
        assert again.certificate == seal.certificate
    first = verify_pdf(pdf, pki.trust_roots(tokens.pki_dir)).signatures[0]
    assert first.valid and first.trusted and first.signer == AGENCY


def test_a_token_made_by_another_process_is_found_and_not_made_twice(tokens, unsigned):
    """serve and worker are separate processes: SoftHSM2 sees another process's new token
    only once initialised again, which the provider does before giving up or creating."""
    with tokens.officer("chuyenvien", PASSPHRASE):
        pass  # this process has the library loaded, with its view of the tokens
    script = ("import sys; from signing import providers; "
              "p = providers.provider_for('pkcs11', sys.argv[1], agency_passphrase='x'); "
              "p.issue_officer('khac', full_name='Đỗ Văn Khác', title='', agency='', "
              "pin=sys.argv[2]); p.close()")
    subprocess.run([sys.executable, "-c", script, str(tokens.pki_dir), PASSPHRASE],
                   check=True, cwd=Path(__file__).resolve().parents[2])
    before = set((tokens.pki_dir / "softhsm" / "tokens").iterdir())
    with tokens.officer("khac", PASSPHRASE) as other:
        assert other.certificate.subject.rfc4514_string().startswith("CN=Đỗ Văn Khác")
    tokens.issue_officer("khac", full_name="Đỗ Văn Khác", title="", agency="", pin="khác")
    assert set((tokens.pki_dir / "softhsm" / "tokens").iterdir()) == before


def test_long_usernames_get_a_label_that_fits():
    long = "can.bo.phong.mot.cua.so.giao.thong.van.tai@thanhhoa.gov.vn"
    label = pkcs11.token_label("u", long)
    assert len(label.encode()) == 32 and label.startswith("u:can.bo")
    assert label != pkcs11.token_label("u", long[:-1] + "x")
    assert pkcs11.token_label("a", "000.00.14.H56") == "a:000.00.14.H56"


def test_unknown_provider_kind_is_refused(tmp_path: Path):
    with pytest.raises(SigningError, match="MOTCUA_SIGNER is 'hsm'"):
        providers.provider_for("hsm", tmp_path, agency_passphrase="x")
