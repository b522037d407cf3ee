"""Slip layouts: A5 pages, tables of rows, Code 39 barcodes, and the agency's seal."""

import io
import unicodedata

import pypdf
import pytest
from cryptography.x509.oid import NameOID

from signing import keyfiles, pki
from signing.errors import SigningError
from signing.render import barcode_text, render_pdf
from signing.sign import sign_pdf
from signing.slots import find_slot
from signing.verify import verify_pdf

A5 = (419.5, 595.3)  # points
AGENCY = "Sở Giao thông vận tải tỉnh Thanh Hóa"


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _page_size(pdf: bytes) -> tuple[float, float]:
    box = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    return round(float(box.width), 1), round(float(box.height), 1)


HANDOVERS = {
    "title": "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
    "page": "A5",
    "table": {
        "rows": "handovers",
        "empty": "(Chưa có lần giao, nhận hồ sơ nào)",
        "columns": [
            {"title": "TT", "value": "{stt}", "width": 6},
            {"title": "Giao, nhận hồ sơ", "value": "Giao: {giver}\nNhận: {receiver}", "width": 40},
            {"title": "Kết quả", "value": "{result}", "width": 20},
        ],
    },
}


def test_a5_table_of_rows_in_vietnamese():
    rows = [{"giver": "Cán bộ tiếp nhận (một cửa)", "receiver": "Chuyên viên thụ lý",
             "result": "Trước hạn"},
            {"giver": "Chuyên viên thụ lý", "receiver": "Lãnh đạo", "result": "Quá hạn"}]
    pdf = render_pdf(HANDOVERS, {"handovers": rows, "agency_name": AGENCY})
    assert _page_size(pdf) == A5
    text = _text(pdf)
    assert text == unicodedata.normalize("NFC", text)
    for expected in ("Giao, nhận hồ sơ", "Giao: Cán bộ tiếp nhận (một cửa)",
                     "Nhận: Chuyên viên thụ lý", "Trước hạn", "Quá hạn", "Nhận: Lãnh đạo"):
        assert expected in text, expected
    # {stt} numbers the rows from 1
    assert "1 Giao: Cán bộ" in text and "2 Giao: Chuyên viên" in text


def test_an_empty_table_says_so():
    text = _text(render_pdf(HANDOVERS, {"handovers": []}))
    assert "(Chưa có lần giao, nhận hồ sơ nào)" in text
    assert "Giao, nhận hồ sơ" in text  # the column titles still show


def test_a_long_table_repeats_its_titles_on_the_next_page():
    rows = [{"giver": f"Bộ phận {i}", "receiver": "Lãnh đạo", "result": "Đúng hạn"}
            for i in range(60)]
    pdf = render_pdf(HANDOVERS, {"handovers": rows})
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    assert all("Giao, nhận hồ sơ" in page.extract_text() for page in reader.pages)
    assert "Bộ phận 59" in _text(pdf)


@pytest.mark.parametrize("table, message", [
    ({"columns": [{"title": "x"}]}, "rows"),
    ({"rows": "x", "columns": []}, "columns"),
    ({"rows": "x", "columns": [{"title": "x", "width": 0}]}, "width"),
    ("not a table", "mapping"),
])
def test_bad_tables_are_refused_with_a_reason(table, message):
    with pytest.raises(SigningError, match=message):
        render_pdf({"title": "T", "table": table}, {})


def test_unknown_page_size_is_refused():
    with pytest.raises(SigningError, match="A4, A5"):
        render_pdf({"title": "T", "page": "Letter"}, {})


def test_code39_barcode_of_a_template():
    spec = {"title": "GIẤY CHỨNG NHẬN MÃ SỐ ĐƠN VỊ CÓ QUAN HỆ VỚI NGÂN SÁCH",
            "barcode": "{budget_code}"}
    pdf = render_pdf(spec, {"budget_code": "1071234"})
    assert "1071234" in _text(pdf)  # the human-readable line under the bars
    without = render_pdf({"title": spec["title"]}, {})
    # the bars are filled rectangles: one per bar of '*1071234*' (5 bars a character)
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data()
    plain = pypdf.PdfReader(io.BytesIO(without)).pages[0].get_contents().get_data()
    assert page.count(b" re f") - plain.count(b" re f") == 5 * len("*1071234*")


def test_barcode_text_rules():
    assert barcode_text(" gp-56/0001 ") == "GP-56/0001"
    with pytest.raises(SigningError, match="Code 39"):
        barcode_text("Mã số 1071234")  # 'ã' cannot be encoded
    with pytest.raises(SigningError, match="Code 39"):
        render_pdf({"title": "T", "barcode": "{budget_code}"}, {})  # the placeholder stays
    assert _text(render_pdf({"title": "T", "barcode": "{code}"}, {"code": ""}))  # nothing


def test_agency_seal_is_issued_on_first_use_and_trusted(tmp_path):
    pki.ensure_ca(tmp_path)
    cert_file = tmp_path / "agencies" / "000.00.14.H56.pem"
    assert not cert_file.exists()
    signer = keyfiles.load_agency_signer(tmp_path, "000.00.14.H56", name=AGENCY, passphrase="bí mật")
    assert cert_file.exists()
    subject = signer.certificate.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == AGENCY
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == AGENCY
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "agencies" / "000.00.14.H56.key.pem").read_bytes()
    again = keyfiles.load_agency_signer(tmp_path, "000.00.14.H56", name="ignored", passphrase="bí mật")
    assert again.certificate == signer.certificate  # made once
    pdf = render_pdf({"title": "PHIẾU", "page": "A5"}, {}, signature_slots=[{"label": "x"}])
    signed = sign_pdf(pdf, signer, slot=1, reason="Phiếu")
    report = verify_pdf(signed, pki.trust_roots(tmp_path))
    assert report.ok and report.signatures[0].signer == AGENCY
    assert find_slot(signed, 1).filled


def test_agency_seal_with_a_changed_passphrase_says_what_to_do(tmp_path):
    pki.ensure_ca(tmp_path)
    pki.issue_agency_certificate(tmp_path, "000.00.13.H56", name="Sở Tài chính", passphrase="a")
    with pytest.raises(SigningError, match="MOTCUA_AGENCY_KEY_PASSPHRASE"):
        keyfiles.load_agency_signer(tmp_path, "000.00.13.H56", name="Sở Tài chính", passphrase="b")
    with pytest.raises(SigningError, match="non-empty passphrase"):
        pki.issue_agency_certificate(tmp_path, "000.00.15.H56", name="Sở Y tế", passphrase="")
