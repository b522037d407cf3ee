"""PAdES signatures: RFC 3161 timestamps from the TSA stand-in over real HTTP (B-T), the
agency's seal as the last signature, validation data in a DSS (B-LT), as pyHanko and
poppler's pdfsig see them."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import socket
import subprocess
import urllib.request
from contextlib import nullcontext

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import images, keyfiles, ltv, pki, seal, timestamps, tsa_standin
from signing.errors import SigningError
from signing.render import render_pdf
from signing.sign import sign_pdf
from signing.verify import format_report, verify_pdf

from .conftest import AGENCY, CONTEXT, SLOTS, SPEC

AGENCY_CODE = "000.00.14.H56"


@pytest.fixture(scope="module")
def tsa(pki_dir):
    """The stand-in TSA, served on 127.0.0.1 by a thread of this process."""
    return timestamps.provider(timestamps.STANDIN, pki_dir)


@pytest.fixture(scope="module")
def roots(pki_dir):
    return pki.trust_roots(pki_dir)


def _seal_signer(pki_dir):
    return lambda: nullcontext(
        keyfiles.load_agency_signer(pki_dir, AGENCY_CODE, name=AGENCY, passphrase="demo"))


def _finish(pdf, pki_dir, tsa):
    return seal.finish(pdf, pki_dir=pki_dir, seal_signer=_seal_signer(pki_dir),
                       agency_code=AGENCY_CODE, agency_name=AGENCY, timestamper=tsa)


@pytest.fixture(scope="module")
def result(pki_dir, handler, head, tsa) -> bytes:
    """The licence with a seal field, signed by both officers with timestamps, then
    sealed and given its validation data."""
    pdf = seal.add_seal_field(render_pdf(SPEC, CONTEXT, signature_slots=SLOTS))
    first = sign_pdf(pdf, handler, slot=1, timestamper=tsa,
                     image=images.signature_image(pki_dir, "chuyenvien", "Nguyễn Văn An"))
    assert _finish(first, pki_dir, tsa) == first  # the head has not signed: nothing yet
    second = sign_pdf(first, head, slot=2, timestamper=tsa,
                      image=images.signature_image(pki_dir, "lanhdao", "Lê Thị Bình"))
    return _finish(second, pki_dir, tsa)


def test_a_real_rfc3161_round_trip_with_the_stand_in(pki_dir, tsa):
    digest = hashlib.sha256(b"a signature value").digest()
    body = timestamps.request_for(digest, 12345).dump()
    request = urllib.request.Request(tsa.url, data=body, method="POST",
                                     headers={"Content-Type": timestamps.QUERY_TYPE})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.headers["Content-Type"] == timestamps.REPLY_TYPE
        assert reply.headers["X-Stand-In"] == "true"
        data = reply.read()
    response = tsp.TimeStampResp.load(data)
    assert response["status"]["status"].native == "granted"
    info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == 12345
    token = timestamps.check_reply(data, digest, 12345, "stand-in")
    certs = [c.chosen for c in token["content"]["certificates"]]
    tsa_cert = x509.load_der_x509_certificate(certs[0].dump())
    assert "(stand-in)" in tsa_cert.subject.rfc4514_string()
    usage = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert usage.critical and list(usage.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert tsa_cert.issuer == pki.ensure_ca(pki_dir).subject


def test_the_stand_in_refuses_what_is_not_a_timestamp_request(tsa):
    request = urllib.request.Request(tsa.url, data=b"not DER", method="POST",
                                     headers={"Content-Type": timestamps.QUERY_TYPE})
    with urllib.request.urlopen(request, timeout=10) as reply:
        data = reply.read()
    status = timestamps.reply_status(data)
    assert (status["status"].native, status["fail_info"].native) == ("rejection",
                                                                     {"bad_data_format"})
    with pytest.raises(timestamps.TimestampError, match="refused the request"):
        timestamps.check_reply(data, b"\0" * 32, 1, "stand-in")


def test_a_reply_for_other_data_is_refused(pki_dir):
    other = timestamps.request_for(hashlib.sha256(b"other").digest(), 7).dump()
    reply = tsa_standin.StandinTsa(pki_dir).respond(other)
    with pytest.raises(timestamps.TimestampError, match="for other data"):
        timestamps.check_reply(reply, hashlib.sha256(b"mine").digest(), 7, "stand-in")


def test_timestamped_signature_is_pades_b_t(unsigned, handler, roots, tsa):
    pdf = sign_pdf(unsigned, handler, slot=1, timestamper=tsa)
    embedded = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    report = verify_pdf(pdf, roots)
    first = report.signatures[0]
    assert (first.level, first.intact, first.trusted) == ("B-T", True, True)
    assert first.timestamp is not None and first.timestamp.utcoffset().total_seconds() == 7 * 3600
    assert abs((first.timestamp - first.signed_at).total_seconds()) < 120


def test_without_timestamp_the_signature_is_b_b(unsigned, handler, roots):
    report = verify_pdf(sign_pdf(unsigned, handler, slot=1), roots)
    assert (report.signatures[0].level, report.signatures[0].timestamp) == ("B-B", None)
    assert "PAdES level: B-B" in format_report(report)


def test_the_result_is_sealed_last_and_b_lt(result, roots):
    report = verify_pdf(result, roots)
    assert report.ok, report.error
    assert [s.field for s in report.signatures] == ["sig1", "sig2", "seal"]
    assert [s.signer for s in report.signatures] == ["Nguyễn Văn An", "Lê Thị Bình", AGENCY]
    assert [s.level for s in report.signatures] == ["B-LT"] * 3
    assert all(s.timestamp is not None for s in report.signatures)
    assert report.unsigned_revisions == []  # the DSS update is validation data only
    text = format_report(report)
    assert text.count("PAdES level: B-LT") == 3 and "Timestamp: 20" in text


def test_the_dss_holds_the_chain_and_the_crl(result, pki_dir):
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(result)))
    subjects = {c.subject.human_friendly for c in dss.load_certs()}
    assert any("stand-in" in s for s in subjects) and any(AGENCY in s for s in subjects)
    assert len(dss.crls) == 1
    crl = x509.load_der_x509_crl(ltv.current_crl(pki_dir).read_bytes())
    assert crl.issuer == pki.ensure_ca(pki_dir).subject


def test_without_revocation_data_the_level_stays_b_t(pki_dir, handler, head, tsa, roots,
                                                     tmp_path, monkeypatch):
    monkeypatch.setattr(ltv, "crls", lambda _dir: [])
    pdf = seal.add_seal_field(render_pdf(SPEC, CONTEXT, signature_slots=SLOTS))
    pdf = sign_pdf(sign_pdf(pdf, handler, slot=1, timestamper=tsa), head, slot=2,
                   timestamper=tsa)
    report = verify_pdf(_finish(pdf, pki_dir, tsa), roots)
    assert report.ok and [s.level for s in report.signatures] == ["B-T"] * 3


def _add_info(writer):
    writer.set_info(writer.add_object(generic.DictionaryObject(
        {generic.pdf_name("/Title"): generic.TextStringObject("Bản đã sửa")})))


def test_a_change_after_the_validation_data_is_still_a_modification(result, roots):
    writer = IncrementalPdfFileWriter(io.BytesIO(result))
    _add_info(writer)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pdf(out.getvalue(), roots)
    assert not report.ok and report.unsigned_revisions == [report.revisions]
    assert all(s.modified_after for s in report.signatures)


@pytest.mark.skipif(not shutil.which("pdfsig"), reason="pdfsig (poppler-utils) not installed; "
                    "`make test` installs it")
def test_pdfsig_agrees_the_signatures_are_valid(result, roots, tmp_path):
    path = tmp_path / "result.pdf"
    path.write_bytes(result)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                         check=False).stdout
    assert re.findall(r"Signature Field Name: (\S+)", out) == ["sig1", "sig2", "seal"]
    assert out.count("Signature Type: ETSI.CAdES.detached") == 3
    assert out.count("Signature Validation: Signature is Valid.") == 3
    # pdfsig counts the DSS update as "not total document signed"; pyHanko's difference
    # analysis (and ours) sees that it only adds validation data.
    assert all(not s.modified_after for s in verify_pdf(result, roots).signatures)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_tsa_signs_nothing_and_says_so(unsigned, handler):
    down = timestamps.HttpTimestamper(f"http://127.0.0.1:{_closed_port()}/", timeout=2)
    with pytest.raises(SigningError, match="cannot be reached") as caught:
        sign_pdf(unsigned, handler, slot=1, timestamper=down)
    assert "dấu thời gian" in caught.value.vi


def test_the_pictures_are_made_once_and_kept(pki_dir):
    first = images.seal_image(pki_dir, AGENCY_CODE, AGENCY)
    assert first.startswith(b"\x89PNG") and (pki_dir / "agencies" / f"{AGENCY_CODE}.seal.png"
                                              ).read_bytes() == first
    assert images.seal_image(pki_dir, AGENCY_CODE, "Another name") == first
    from PIL import Image

    picture = Image.open(io.BytesIO(first)).convert("RGBA")
    red = sum(1 for r, g, b, a in picture.get_flattened_data() if a > 200 and r > 180 and g < 80)
    assert red > 1000  # a red seal, transparent around it
    assert picture.getpixel((0, 0))[3] == 0
