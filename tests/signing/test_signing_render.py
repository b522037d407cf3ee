import datetime as dt
import io
import unicodedata

import pypdf
import pytest

from signing.errors import SigningError
from signing.render import render_pdf, vietnamese_date
from signing.slots import find_slot


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _squash(text: str) -> str:
    return " ".join(text.split())  # justified lines extract with doubled spaces


def test_vietnamese_text_extracts_back_nfc(sample):
    pdf = render_pdf(sample["spec"], sample["context"], signature_slots=sample["slots"])
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert text == unicodedata.normalize("NFC", text)
    flat = _squash(text)
    for expected in (
        "GIẤY PHÉP KINH DOANH VẬN TẢI BẰNG XE Ô TÔ",
        "Cấp cho: Công ty TNHH Vận tải Hồng Đức.",
        "huyện Thường Xuân, tỉnh Thanh Hóa",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Thanh Hóa, ngày 05 tháng 02 năm 2026",
        "SỞ GIAO THÔNG VẬN TẢI THANH HÓA",
        "Số: 123/GP-SGTVT",
        "Người đại diện Nguyễn Thị Hồng",
        "NGƯỜI THẨM ĐỊNH",
        "Nguyễn Văn An",
        "Lê Thị Bình",
        "Ghi chú: {application[missing_key]}",
        "Lưu: VT.",
    ):
        assert expected in flat, expected


def test_decomposed_input_is_normalised(sample):
    spec = {"title": unicodedata.normalize("NFD", "Thường Xuân"), "national_header": False}
    text = _squash(_text(render_pdf(spec, {})))
    assert "Thường Xuân" in text
    assert unicodedata.normalize("NFD", "Thường") not in text


def test_signature_fields_are_pre_created_on_the_last_page(sample):
    pdf = render_pdf(sample["spec"], sample["context"], signature_slots=sample["slots"])
    first, second = find_slot(pdf, 1), find_slot(pdf, 2)
    assert (first.field, second.field) == ("sig1", "sig2")
    assert not first.filled and first.signatures_present == 0
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert first.page == second.page == pages - 1
    assert first.rect[2] <= second.rect[0]  # side by side, left to right
    for x1, y1, x2, y2 in (first.rect, second.rect):
        assert 0 < x1 < x2 < 595.3 and 0 < y1 < y2 < 841.9  # inside an A4 page
        assert x2 - x1 > 150 and y2 - y1 > 60
    with pytest.raises(SigningError, match="no signature slot 3"):
        find_slot(pdf, 3)


def test_long_documents_keep_the_signature_block_whole(sample):
    sample["spec"]["paragraphs"] = ["Đoạn văn thứ {n} của tài liệu rất dài."] * 38
    pdf = render_pdf(sample["spec"], {"n": 1}, signature_slots=sample["slots"][:1])
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    slot = find_slot(pdf, 1)
    assert slot.page == 1
    assert slot.rect[0] > 595.3 / 2 - 90  # a single slot sits on the right half


def test_qr_code(sample):
    url = "https://motcua.thanhhoa.gov.vn/tra-cuu?ma=H56.22-260205-0001"
    pdf = render_pdf(sample["spec"], sample["context"], qr_text=url)
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert len(page.images) == 1
    assert url in page.extract_text().replace("\n", "")


def test_bad_specs():
    with pytest.raises(SigningError, match="title"):
        render_pdf({"paragraphs": ["x"]}, {})
    with pytest.raises(SigningError, match="At most 3"):
        render_pdf({"title": "x"}, {}, signature_slots=[{}] * 4)
    with pytest.raises(SigningError, match="issued_on"):
        render_pdf({"title": "x"}, {"issued_on": "hôm qua"})
    with pytest.raises(SigningError, match="'fields'"):
        render_pdf({"title": "x", "fields": ["Tên: {name}"]}, {})
    with pytest.raises(SigningError, match="'paragraphs'"):
        render_pdf({"title": "x", "paragraphs": {"a": 1}}, {})
    with pytest.raises(SigningError, match="signature slot"):
        render_pdf({"title": "x"}, {}, signature_slots=["Giám đốc"])


def test_a_lone_string_counts_as_one_paragraph():
    pdf = render_pdf({"title": "x", "paragraphs": "Một đoạn duy nhất.", "footer": "Hết."}, {})
    assert "Một đoạn duy nhất." in _text(pdf) and "Hết." in _text(pdf)


def test_vietnamese_date_follows_decree_30():
    assert vietnamese_date("Thanh Hóa", dt.date(2026, 2, 5)) == (
        "Thanh Hóa, ngày 05 tháng 02 năm 2026")
    assert vietnamese_date("Thường Xuân", dt.date(2026, 11, 26)) == (
        "Thường Xuân, ngày 26 tháng 11 năm 2026")
    assert vietnamese_date("X", dt.date(2026, 3, 9)) == "X, ngày 09 tháng 3 năm 2026"


def test_signature_boxes_never_stand_alone_on_a_page_and_dates_read_dd_mm_yyyy():
    """The transport licence's layout: its signatures do not fit under the fields on page
    1, so the last fields go over to page 2 with them; the date is written 06/12/2026."""
    from pathlib import Path

    import yaml

    layout = Path(__file__).resolve().parents[2] / (
        "bpmn/transport-business-licence/documents/licence.yaml")
    spec = yaml.safe_load(layout.read_text(encoding="utf-8"))
    context = {"application": {"company_name": "Công ty TNHH Vận tải Hồng Đức",
                               "head_office_address": "Số 12 Lê Lợi, TP Thanh Hóa",
                               "enterprise_code": "2801234567",
                               "legal_representative": "Nguyễn Văn Hồng",
                               "phone": "0912345678"},
               "dossier": {"code": "000.00.14.H56-261206-0001"}, "licence_number": "GP-1",
               "licence_kinds": "Tuyến cố định", "agency_name": "Sở Giao thông vận tải",
               "issued_on": dt.date(2026, 12, 6)}
    pdf = render_pdf(spec, context, signature_slots=[{"label": "NGƯỜI LẬP", "name": "A"},
                                                     {"label": "GIÁM ĐỐC", "name": "B"}],
                     qr_text="000.00.14.H56-261206-0001",
                     qr_url="https://motcua.example/tra-cuu?code=000.00.14.H56-261206-0001")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    last = _squash(reader.pages[-1].extract_text())
    assert "NGƯỜI LẬP" in last and "Ngày cấp" in last and "06/12/2026" in last
    assert "2026-12-06" not in _squash(_text(pdf))
