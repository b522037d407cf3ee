import io
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pypdf
import pytest
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm

from signing import keyfiles, pki
from signing import sign as sign_module
from signing.appearance import PX_PER_PT, appearance_lines, render_appearance
from signing.errors import SigningError
from signing.render import render_pdf
from signing.sign import sign_pdf
from signing.verify import VIETNAM_TZ, format_report, verify_pdf

SIGNED_AT = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def signed_once(unsigned, handler) -> bytes:
    return sign_pdf(unsigned, handler, slot=1, reason="Thẩm định", signing_time=SIGNED_AT)


@pytest.fixture(scope="module")
def signed_twice(signed_once, head) -> bytes:
    return sign_pdf(signed_once, head, slot=2, signing_time=SIGNED_AT)


@pytest.fixture(scope="module")
def roots(pki_dir):
    return pki.trust_roots(pki_dir)


def _appearance_image(pdf: bytes, field: str):
    """Return the image drawn in a signature widget's appearance, and the widget."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    widget = next(a.get_object() for page in reader.pages for a in page.get("/Annots", [])
                  if a.get_object().get("/T") == field)
    frm = widget["/AP"]["/N"]["/Resources"]["/XObject"]["/FRM"]
    layer = frm["/Resources"]["/XObject"]["/n2"]
    image = next(iter(layer["/Resources"]["/XObject"].values())).get_object()
    return image, widget


def test_two_signatures_are_both_valid(signed_twice, signed_once, roots):
    assert signed_twice.startswith(signed_once)  # incremental: earlier bytes untouched
    report = verify_pdf(signed_twice, roots)
    assert report.ok, format_report(report)
    assert report.error == ""
    assert [(s.field, s.signer) for s in report.signatures] == [
        ("sig1", "Nguyễn Văn An"), ("sig2", "Lê Thị Bình")]
    for sig in report.signatures:
        assert sig.intact and sig.valid and sig.trusted and not sig.modified_after
        assert sig.signed_at is not None and sig.signed_at.utcoffset().total_seconds() == 7 * 3600
    text = format_report(report)
    assert text.splitlines()[-1].startswith("OK: 2")
    assert "Nguyễn Văn An" in text and "Lê Thị Bình" in text


def test_first_signature_certifies_and_second_approves(signed_twice):
    sigs = PdfFileReader(io.BytesIO(signed_twice)).embedded_signatures
    assert [s.docmdp_level for s in sigs] == [MDPPerm.FILL_FORMS, None]
    assert sigs[0].sig_object["/Reason"] == "Thẩm định"
    assert sigs[1].sig_object["/Reason"] == "Phê duyệt"
    assert sigs[0].sig_object["/M"].startswith("D:20261126143000+07")


def test_visible_appearance(signed_twice):
    for field in ("sig1", "sig2"):
        image, widget = _appearance_image(signed_twice, field)
        x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
        assert image["/Width"] == round((x2 - x1) * PX_PER_PT)
        assert image["/Height"] == round((y2 - y1) * PX_PER_PT)
        assert "/SMask" in image  # transparent around the text


def test_appearance_lines_and_picture():
    moment = datetime(2026, 11, 26, 14, 30, tzinfo=VIETNAM_TZ)
    lines = appearance_lines("Nguyễn Văn An", "Bác sĩ (thử)", "", moment)
    assert lines == ["Ký bởi: Nguyễn Văn An", "Bác sĩ (thử)",
                     "Thời gian ký: 2026-11-26T14:30:00+07:00"]
    picture = Image.open(io.BytesIO(render_appearance(lines, 200, 80)))
    assert picture.size == (200 * PX_PER_PT, 80 * PX_PER_PT) and picture.mode == "RGBA"
    ink = [px for px in picture.get_flattened_data() if px[3] == 255]
    assert ink and all(px[2] > px[0] for px in ink)  # blue
    inset = 3 * PX_PER_PT  # inside the frame
    interior = (inset, inset, picture.width - inset, picture.height - inset)
    left, top, right, bottom = picture.getchannel("A").crop(interior).getbbox()
    assert bottom - top > 0.35 * (interior[3] - interior[1])  # three lines tall
    assert right - left > 0.5 * (interior[2] - interior[0])
    empty = Image.open(io.BytesIO(render_appearance([" "], 200, 80)))
    assert empty.getchannel("A").crop(interior).getbbox() is None  # only the frame


def test_appearance_text_defaults_come_from_the_certificate(unsigned, head, monkeypatch):
    seen = []
    real = sign_module.appearance_lines

    def spy(*args):
        seen.append(real(*args))
        return seen[-1]

    monkeypatch.setattr(sign_module, "appearance_lines", spy)
    sign_pdf(unsigned, head, slot=2, signing_time=SIGNED_AT)
    sign_pdf(unsigned, head, slot=2, agency="UBND huyện Thường Xuân", title="KT. Chủ tịch",
             signing_time=SIGNED_AT)
    assert seen == [
        ["Ký bởi: Lê Thị Bình", "Phó Giám đốc", "Sở Giao thông vận tải Thanh Hóa",
         "Thời gian ký: 2026-11-26T14:30:00+07:00"],
        ["Ký bởi: Lê Thị Bình", "KT. Chủ tịch", "UBND huyện Thường Xuân",
         "Thời gian ký: 2026-11-26T14:30:00+07:00"],
    ]


def test_flipped_byte_breaks_integrity(signed_twice, roots):
    data = bytearray(signed_twice)
    assert data[9:10] == b"%"  # the binary comment line right after the header
    data[11] ^= 0x01
    report = verify_pdf(bytes(data), roots)
    assert not report.ok and report.error
    assert [s.intact for s in report.signatures] == [False, False]
    assert "FAILED:" in format_report(report).splitlines()[-1]


def test_flipped_byte_in_compressed_content_does_not_crash(signed_once, roots):
    data = bytearray(signed_once)
    data[data.index(b"stream\n") + 40] ^= 0xFF
    report = verify_pdf(bytes(data), roots)
    assert not report.ok and not report.signatures[0].intact


def _append(pdf: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _add_text(writer):
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 400 Td (DA SUA) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))


def _add_page(writer):
    contents = writer.add_object(generic.StreamObject(stream_data=b"0 0 m 100 100 l S"))
    page = generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Page"),
        generic.pdf_name("/MediaBox"): generic.ArrayObject(map(generic.NumberObject,
                                                               (0, 0, 595, 842))),
        generic.pdf_name("/Resources"): generic.DictionaryObject(),
        generic.pdf_name("/Contents"): contents,
    })
    writer.insert_page(page)


def _add_annotation(writer):
    page_ref, _ = writer.find_page_for_modification(0)
    page = page_ref.get_object()
    note = writer.add_object(generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
        generic.pdf_name("/Subtype"): generic.pdf_name("/FreeText"),
        generic.pdf_name("/Rect"): generic.ArrayObject(map(generic.NumberObject,
                                                           (100, 100, 300, 200))),
        generic.pdf_name("/Contents"): generic.TextStringObject("Đã hủy"),
    }))
    page["/Annots"].append(note)
    writer.update_container(page)


@pytest.mark.parametrize("change", [_add_text, _add_page, _add_annotation])
def test_changes_after_signing_are_reported(signed_twice, roots, change):
    report = verify_pdf(_append(signed_twice, change), roots)
    assert not report.ok
    for sig in report.signatures:
        assert sig.intact and sig.valid and sig.trusted  # the signed bytes are untouched…
        assert sig.modified_after  # …but what is shown is not what was signed
    assert "modified after signing" in report.signatures[0].summary


def test_certificate_from_another_ca_is_not_trusted(unsigned, roots, tmp_path):
    other = tmp_path / "other-pki"
    pki.issue_certificate(other, "mao", full_name="Kẻ Mạo Danh", title="Giám đốc",
                          agency="Sở Giao thông vận tải Thanh Hóa", passphrase="x")
    forged = sign_pdf(unsigned, keyfiles.load_signer(other, "mao", "x"), slot=1)
    report = verify_pdf(forged, roots)
    assert not report.ok
    sig, empty = report.signatures
    assert sig.intact and sig.valid and not sig.trusted and not sig.modified_after
    assert sig.signer == "Kẻ Mạo Danh"
    assert not empty.signed
    trusting = verify_pdf(forged, pki.trust_roots(other))
    assert trusting.signatures[0].trusted and trusting.error.endswith("sig2")


def test_bad_input_gives_a_report_not_an_exception(unsigned, signed_once, roots):
    for data, error in [
        (b"hello, not a pdf", "Not a PDF"),
        (b"", "Not a PDF"),
        (unsigned, "No signatures"),
        (signed_once[: len(signed_once) // 2], ""),
        (b"%PDF-1.7\n garbage", ""),
    ]:
        report = verify_pdf(data, roots)
        assert not report.ok and report.error, data[:20]
        assert error in report.error
        assert format_report(report).splitlines()[-1].startswith("FAILED: ")
    assert "No trust roots" in verify_pdf(signed_once, []).error


def test_signing_errors(unsigned, signed_once, handler):
    for slot in (0, 3, -1, "1"):
        with pytest.raises(SigningError, match="slot"):
            sign_pdf(unsigned, handler, slot=slot)
    with pytest.raises(SigningError, match="already signed"):
        sign_pdf(signed_once, handler, slot=1)
    with pytest.raises(SigningError, match="not a PDF"):
        sign_pdf(b"not a pdf", handler, slot=1)
    plain = render_pdf({"title": "Không có ô ký"}, {})
    with pytest.raises(SigningError, match="no signature slot 1"):
        sign_pdf(plain, handler, slot=1)


def test_slots_on_a_later_page(sample, handler, head, roots):
    sample["spec"]["paragraphs"] = ["Đoạn văn thứ {n} của một giấy phép dài."] * 40
    pdf = render_pdf(sample["spec"], {"n": 2}, signature_slots=sample["slots"])
    pdf = sign_pdf(sign_pdf(pdf, head, slot=2), handler, slot=1)  # any order works
    report = verify_pdf(pdf, roots)
    assert report.ok, format_report(report)
    assert [s.signer for s in report.signatures] == ["Lê Thị Bình", "Nguyễn Văn An"]


def _first_revision(pdf: bytes) -> bytes:
    """The file cut back to the revision its first signature made."""
    first = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    start, length = list(first.byte_range)[2:]
    return pdf[: start + length]


def test_licence_cut_back_to_its_first_signature_reports_the_empty_field(
        signed_twice, signed_once, roots):
    cut = _first_revision(signed_twice)
    assert cut.rstrip() == signed_once.rstrip()  # the head's signature is gone
    report = verify_pdf(cut, roots)
    assert not report.ok
    assert [(s.field, s.signed) for s in report.signatures] == [("sig1", True), ("sig2", False)]
    assert report.signatures[0].intact and report.signatures[0].trusted
    assert "sig2" in report.error
    text = format_report(report)
    assert "Signature: sig2\n  Trường chữ ký chưa được ký / Signature field not signed" in text
    assert text.splitlines()[-1].startswith("FAILED: ") and "sig2" in text.splitlines()[-1]


def _add_info(writer):
    info = generic.DictionaryObject({generic.pdf_name("/Title"):
                                     generic.TextStringObject("Bản đã sửa")})
    writer.set_info(writer.add_object(info))


def test_an_update_adding_only_info_is_a_modification(signed_twice, roots):
    report = verify_pdf(_append(signed_twice, _add_info), roots)
    assert not report.ok
    assert (report.revisions, report.unsigned_revisions) == (5, [5])
    assert [s.revision for s in report.signatures] == [3, 4]
    assert all(s.intact and s.trusted and s.modified_after for s in report.signatures)
    assert "revision(s) after the last signature" in report.error
    assert "Revisions not signed: 5 / 5" in format_report(report)


def test_motcua_verify_prints_no_traceback_for_an_untrusted_chain(unsigned, pki_dir, tmp_path):
    other = tmp_path / "other-pki"
    pki.issue_certificate(other, "mao", full_name="Kẻ Mạo Danh", title="Giám đốc",
                          agency="Sở Giao thông vận tải Thanh Hóa", passphrase="x")
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(sign_pdf(unsigned, keyfiles.load_signer(other, "mao", "x"), slot=1))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pki").symlink_to(pki_dir)
    env = {**os.environ, "MOTCUA_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", "from web.cli import cli; cli()", "verify",
                           str(forged)], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1
    assert "chứng thư không tin cậy / certificate not trusted" in done.stdout
    assert done.stderr == ""


@pytest.mark.skipif(not shutil.which("pdfsig"), reason="pdfsig (poppler-utils) not installed; "
                    "`make test` installs it")
@pytest.mark.parametrize("case", ["twice", "cut", "info"])
def test_the_same_fields_and_coverage_as_pdfsig(case, signed_twice, roots, tmp_path):
    pdf = {"twice": signed_twice, "cut": _first_revision(signed_twice),
           "info": _append(signed_twice, _add_info)}[case]
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True,
                         check=False).stdout
    pdfsig_fields = re.findall(r"Signature Field Name: (\S+)", out)
    pdfsig_unsigned = re.findall(r"Signature Field Name: (\S+)\n\s+The signature form field "
                                 r"is not signed", out)
    signed = [part for part in out.split("Signature #")[1:] if "is not signed" not in part]
    total = "Total document signed" in signed[-1]
    report = verify_pdf(pdf, roots)
    assert [s.field for s in report.signatures] == pdfsig_fields
    assert [s.field for s in report.signatures if not s.signed] == pdfsig_unsigned
    last = [s for s in report.signatures if s.signed][-1]
    assert last.modified_after == (not total) == (case == "info")
