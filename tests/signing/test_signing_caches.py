"""The caches that make signing fast must never change what is signed or who may sign."""

import hashlib
import io
import os
import time
from datetime import UTC, datetime

import pytest
from endesive import signer as endesive_signer
from endesive.pdf.PyPDF2_annotate.annotations.image import Image as EndesiveImage
from PIL import Image

from signing import cms, keycache, keyfiles, pki
from signing import sign as sign_module
from signing.appearance import appearance_lines, render_appearance, stamp
from signing.errors import SigningError
from signing.sign import prepare, sign_pdf
from signing.verify import VIETNAM_TZ, format_report, verify_pdf

from .conftest import AGENCY, PASSPHRASE


@pytest.fixture
def cache(monkeypatch):
    """A fresh, enabled signer cache for the test."""
    fresh = keycache.SignerCache(ttl=60, size=4)
    monkeypatch.setattr(keycache, "signer_cache", fresh)
    return fresh


@pytest.fixture
def own_pki(tmp_path):
    """A PKI this test may modify (the shared one is module-scoped)."""
    directory = tmp_path / "pki"
    pki.issue_certificate(directory, "canbo", full_name="Trần Thị Cúc", title="Chuyên viên",
                          agency=AGENCY, passphrase=PASSPHRASE)
    return directory


def test_cache_serves_the_same_signer(own_pki, cache):
    first = keyfiles.load_signer(own_pki, "canbo", PASSPHRASE)
    assert keyfiles.load_signer(own_pki, "canbo", PASSPHRASE) is first
    assert (cache.hits, cache.misses) == (1, 1)


def test_wrong_passphrase_is_refused_after_the_right_one_was_cached(own_pki, cache):
    keyfiles.load_signer(own_pki, "canbo", PASSPHRASE)
    for wrong in ("sai", "", PASSPHRASE.upper(), PASSPHRASE + " "):
        with pytest.raises(SigningError, match="Wrong passphrase"):
            keyfiles.load_signer(own_pki, "canbo", wrong)
    assert cache.hits == 0


def test_changed_key_file_is_not_served_from_cache(own_pki, cache):
    old = keyfiles.load_signer(own_pki, "canbo", PASSPHRASE)
    users = own_pki / "users"
    stat = (users / "canbo.key.pem").stat()
    for name in ("canbo.pem", "canbo.key.pem"):
        (users / name).unlink()
    pki.issue_certificate(own_pki, "canbo", full_name="Trần Thị Cúc", title="Chuyên viên",
                          agency=AGENCY, passphrase="mật khẩu mới")
    os.utime(users / "canbo.key.pem", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime
    with pytest.raises(SigningError, match="Wrong passphrase"):
        keyfiles.load_signer(own_pki, "canbo", PASSPHRASE)  # the old passphrase no longer opens it
    new = keyfiles.load_signer(own_pki, "canbo", "mật khẩu mới")
    assert new is not old and new.key.public_key() != old.key.public_key()
    assert new.certificate.public_key() == new.key.public_key()


def test_changed_chain_file_is_not_served_from_cache(own_pki, cache):
    old = keyfiles.load_signer(own_pki, "canbo", PASSPHRASE)
    (own_pki / "users" / "canbo.chain.pem").write_bytes((own_pki / "ca.pem").read_bytes())
    assert keyfiles.load_signer(own_pki, "canbo", PASSPHRASE) is not old


def test_cache_expires_and_is_bounded(own_pki, cache, monkeypatch):
    first = keyfiles.load_signer(own_pki, "canbo", PASSPHRASE)
    now = time.monotonic()
    monkeypatch.setattr(keycache.time, "monotonic", lambda: now + 61)
    assert keyfiles.load_signer(own_pki, "canbo", PASSPHRASE) is not first
    for index in range(6):
        cache.put(("x", index), first)
    assert len(cache._entries) == cache.size


def test_cache_can_be_disabled(own_pki, cache):
    cache.ttl = 0
    first = keyfiles.load_signer(own_pki, "canbo", PASSPHRASE)
    assert keyfiles.load_signer(own_pki, "canbo", PASSPHRASE) is not first
    assert not cache._entries


def test_agency_signer_is_cached_and_checked(tmp_path, cache):
    directory = tmp_path / "pki"
    seal = keyfiles.load_agency_signer(directory, "000.00.14.H56", name=AGENCY, passphrase="máy chủ")
    assert keyfiles.load_agency_signer(directory, "000.00.14.H56", name=AGENCY,
                                  passphrase="máy chủ") is seal
    with pytest.raises(SigningError, match="does not open"):
        keyfiles.load_agency_signer(directory, "000.00.14.H56", name=AGENCY, passphrase="khác")


def test_cms_template_is_byte_identical_to_endesive(handler):
    template = cms.build(handler)
    assert template is not None
    for _ in range(3):
        digest = hashlib.sha256(os.urandom(32)).digest()
        expected = endesive_signer.sign(None, handler.key, handler.certificate,
                                        list(handler.chain), "sha256", True, digest)
        assert template.fill(digest) == expected


def test_cms_template_only_answers_the_call_it_was_made_for(handler, head):
    template = cms.build(handler)
    digest = hashlib.sha256(b"x").digest()
    shim = cms._SignerShim()
    with cms.use(template):
        # another signer's key: endesive's own path, with that key
        assert shim.sign(None, head.key, head.certificate, list(head.chain), "sha256", True,
                         digest) == endesive_signer.sign(None, head.key, head.certificate,
                                                         list(head.chain), "sha256", True,
                                                         digest)
        hook = template.hook
        assert template.matches(None, handler.certificate, handler.chain, "sha256", True,
                                digest, hook, False, None, None)
        assert not template.matches(None, handler.certificate, [], "sha256", True,
                                    digest, hook, False, None, None)
        assert not template.matches(None, handler.certificate, handler.chain, "sha1",
                                    True, digest, hook, False, None, None)
        assert not template.matches(None, handler.certificate, handler.chain, "sha256",
                                    True, digest, cms.EndesiveHook(handler), False, None, None)
        assert not template.matches(handler.key, handler.certificate, handler.chain, "sha256",
                                    True, digest, None, False, None, None)


def test_template_refused_when_endesive_output_is_not_deterministic(handler, monkeypatch):
    real = endesive_signer.sign
    monkeypatch.setattr(cms, "_endesive",
                        lambda hook, chain, digest: real(None, None, hook.signer.certificate,
                                                         list(chain), "sha256", True,
                                                         os.urandom(32), hook))
    assert cms.build(handler) is None


def test_signatures_with_a_prepared_signer_verify(unsigned, pki_dir):
    handler = prepare(keyfiles.load_signer(pki_dir, "chuyenvien", PASSPHRASE))
    head = prepare(keyfiles.load_signer(pki_dir, "lanhdao", PASSPHRASE))
    assert handler.prepared and head.prepared
    roots = pki.trust_roots(pki_dir)
    for _ in range(2):  # the second round reuses templates and stamps
        pdf = sign_pdf(sign_pdf(unsigned, handler, slot=1), head, slot=2)
        report = verify_pdf(pdf, roots)
        assert report.ok, format_report(report)


def test_unprepared_signer_falls_back_to_endesive(unsigned, pki_dir, monkeypatch):
    monkeypatch.setattr(cms, "build", lambda *args: None)
    signer = keyfiles.load_signer(pki_dir, "chuyenvien", PASSPHRASE)
    signer = keyfiles.Signer(signer.username, signer.key, signer.certificate, list(signer.chain))
    pdf = sign_pdf(unsigned, signer, slot=1)
    assert signer.prepared is False
    first, second = verify_pdf(pdf, pki.trust_roots(pki_dir)).signatures
    assert first.intact and first.valid and first.trusted and not first.modified_after
    assert not second.signed  # the head's slot is still empty


def test_prepared_stamp_draws_what_render_appearance_draws():
    moment = datetime(2026, 11, 26, 14, 30, tzinfo=VIETNAM_TZ)
    lines = appearance_lines("Nguyễn Văn An", "Bác sĩ (thử)", AGENCY, moment)
    prepared = stamp("Nguyễn Văn An", "Bác sĩ (thử)", AGENCY, 216, 85)
    assert stamp("Nguyễn Văn An", "Bác sĩ (thử)", AGENCY, 216, 85) is prepared
    ours = Image.open(io.BytesIO(prepared.png(lines[-1])))
    reference = Image.open(io.BytesIO(render_appearance(lines, 216, 85)))
    assert ours.tobytes() == reference.tobytes()
    later = Image.open(io.BytesIO(prepared.png(appearance_lines(
        "Nguyễn Văn An", "", "", datetime(2027, 1, 2, 3, 4, tzinfo=UTC))[-1])))
    assert later.tobytes() != ours.tobytes()  # the time is drawn per signature


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_fast_image_bytes_match_endesive(mode):
    image = Image.frombytes(mode, (37, 11), os.urandom(37 * 11 * len(mode)))
    assert EndesiveImage.get_raw_image_bytes(image) == sign_module._ORIGINAL_RAW_IMAGE_BYTES(
        image)
    assert EndesiveImage.get_raw_image_bytes is not sign_module._ORIGINAL_RAW_IMAGE_BYTES


def _without_id(pdf: bytes) -> bytes:
    import re

    return re.sub(rb"/ID \[[^]]*\]|/(?:Creation|Mod)Date \([^)]*\)", b"", pdf)


def test_font_cache_renders_the_same_document(sample, monkeypatch):
    from signing import fonts
    from signing.render import render_pdf

    args = (sample["spec"], sample["context"])
    cached = [render_pdf(*args, signature_slots=sample["slots"]) for _ in range(2)]
    monkeypatch.setattr(fonts, "cache_fonts", False)
    plain = render_pdf(*args, signature_slots=sample["slots"])
    assert _without_id(cached[0]) == _without_id(cached[1]) == _without_id(plain)


def test_font_cache_notices_a_changed_file(tmp_path, monkeypatch):
    import shutil

    from fpdf import FPDF

    from signing import fonts

    font = tmp_path / "DejaVuSerif.ttf"
    shutil.copy(fonts.font_path(), font)
    fonts.add_cached_font(FPDF(), "X", "", font)
    first = fonts._parsed[str(font.resolve())]
    fonts.add_cached_font(FPDF(), "X", "", font)
    assert fonts._parsed[str(font.resolve())] is first
    shutil.copy(fonts.font_path(bold=True), font)
    os.utime(font, ns=(1, 1))
    fonts.add_cached_font(FPDF(), "X", "", font)
    assert fonts._parsed[str(font.resolve())] is not first
