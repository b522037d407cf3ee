"""The citizens' side of a dossier: the QR code of a slip opens the public look-up and
verify page, the verify page judges signatures in plain words, the printable receipt, and
no English on Vietnamese pages (nor Vietnamese on English ones)."""

# ruff: noqa: F811
from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
import zxingcpp

from engine import accounts, tasks
from signing.keyfiles import load_agency_signer
from signing.render import render_pdf
from signing.sign import sign_pdf
from tests.engine.factories import submit
from tests.engine.test_slips import slip
from tests.scenario import open_task
from tests.web.test_pages import (  # noqa: F401  (fixtures)
    APPLY_URL,
    app,
    auth,
    client,
    submit_application,
    text,
)

CATALOGUE = Path(__file__).resolve().parents[2] / "web/translations/en/LC_MESSAGES/messages.po"


def accepted_dossier(platform) -> str:
    """A transport licence dossier the reception accepted: it has slip 01."""
    code = submit(platform)
    row = open_task(platform, code, "Task_Receive")
    tasks.complete(platform, accounts.find_user(platform, "motcua"), row.id,
                   {"reception_decision": "accept"})
    return code


def qr_codes(pdf: bytes) -> list[str]:
    """The text of every QR code drawn on the PDF's first page, as a phone reads it."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    found = []
    for image in page.images:
        found += [b.text for b in zxingcpp.read_barcodes(image.image.convert("L"))
                  if b.format == zxingcpp.BarcodeFormat.QRCode]
    return found


def test_the_qr_code_of_a_slip_opens_the_look_up_and_verify_page(platform, client):
    code = accepted_dossier(platform)
    _doc, pdf = slip(platform, code, "01")
    [link] = qr_codes(pdf)
    base = platform.settings.public_url.rstrip("/")
    assert link.startswith(base + "/tra-cuu?code=")
    page = text(client.get(link.removeprefix(base)))
    assert code in page and "Xác minh văn bản" in page
    assert "Hãy nhập cả mã hồ sơ" not in page  # the code alone is no mistake here
    verify_link = re.search(r'href="(/xac-minh\?code=[^"]+)"', page).group(1)
    assert code in text(client.get(verify_link))
    # with the applicant's ID number, the status and the plain steps
    page = text(client.get(link.removeprefix(base) + "&id_number=2801234567"))
    assert "Đã tiếp nhận" in page and "Tiến độ giải quyết" in page


def upload(auth, pdf: bytes, name: str = "van-ban.pdf"):
    return auth.post("/xac-minh", {"file": (io.BytesIO(pdf), name, "application/pdf")},
                     page="/xac-minh", content_type="multipart/form-data")


def test_the_verify_page_judges_a_signed_a_tampered_and_a_half_signed_pdf(platform, auth):
    code = accepted_dossier(platform)
    _doc, pdf = slip(platform, code, "01")
    html = text(upload(auth, pdf))
    assert "Văn bản hợp lệ" in html and "Sở Giao thông vận tải tỉnh Thanh Hóa" in html
    assert "Còn ô chữ ký chưa ký" not in html

    # One character of the signed text changed: the signature no longer matches it.
    marker = pdf.index(b"/Producer")
    tampered = pdf[:marker] + b"/Producex" + pdf[marker + 9:]
    html = text(upload(auth, tampered))
    assert "Văn bản KHÔNG hợp lệ" in html
    assert "Không — nội dung đã bị thay đổi" in html

    # A result with two signature boxes, signed in one: not the official copy yet.
    doc = render_pdf({"title": "GIẤY PHÉP"}, {"agency_name": "Sở Xây dựng"},
                     signature_slots=[{"label": "NGƯỜI LẬP"}, {"label": "GIÁM ĐỐC"}])
    signer = load_agency_signer(platform.pki_dir, "000.00.14.H56", name="Sở Giao thông vận "
                                "tải tỉnh Thanh Hóa",
                                passphrase=platform.settings.agency_key_passphrase)
    html = text(upload(auth, sign_pdf(doc, signer, slot=1)))
    assert "Văn bản KHÔNG hợp lệ" in html and "Còn ô chữ ký chưa ký:" in html
    assert re.search(r"<dt>Cơ quan</dt><dd>Sở Giao thông vận tải tỉnh Thanh Hóa</dd>", html)

    response = upload(auth, b"not a pdf", "anh.png")
    assert response.status_code == 422 and "không phải PDF" in text(response)


def test_a_printable_receipt_right_after_an_online_submission(auth, client, platform):
    auth.login()
    code = submit_application(auth)
    html = text(client.get(f"/ho-so/{code}"))
    assert "Hồ sơ đã được nộp trực tuyến." in html
    receipt = text(client.get(f"/ho-so/{code}/bien-nhan"))
    assert "Biên nhận hồ sơ nộp trực tuyến" in receipt and code in receipt
    assert "<svg" in receipt and "Giấy đề nghị cấp Giấy phép kinh doanh vận tải" in receipt
    assert f"/tra-cuu?code={code}" in receipt
    assert "Hồ sơ đã được nộp trực tuyến." not in text(client.get(f"/ho-so/{code}"))  # once


def translations() -> list[tuple[str, str]]:
    """``(Vietnamese, English)`` pairs of the catalogue, single-line entries of 3+ words."""
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', CATALOGUE.read_text(encoding="utf-8"),
                       re.M)
    return [(vi, en) for vi, en in pairs
            if vi != en and "%(" not in vi and len(en.split()) >= 3 and '\\"' not in vi]


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_catalogue_string_is_left_in_the_other_language(auth, client, lang):
    auth.login()
    code = submit_application(auth)
    client.get(f"/?lang={lang}")
    pages = ["/", "/?q=giay phep", "/?q=zzz", "/thu-tuc/transport-business-licence",
             "/thu-tuc/transport-business-licence/mau-don", "/thu-tuc/vehicle-badge/mau-don", "/thu-tuc/vehicle-badge", APPLY_URL,
             "/ho-so", f"/ho-so/{code}",
             f"/ho-so/{code}/bien-nhan", f"/tra-cuu?code={code}",
             f"/tra-cuu?code={code}&id_number=2801234567", "/xac-minh"]
    shown = " ".join(visible_text(text(client.get(url, headers={"Accept-Language": lang})))
                     for url in pages)
    assert shown
    left = sorted({(vi if lang == "en" else en) for vi, en in translations()
                   if (vi if lang == "en" else en) in shown})
    assert left == []
    # administrators' notes never reach the public pages
    assert "quản trị viên cập nhật" not in shown and "administrator updates" not in shown


def test_the_catalogue_finds_a_procedure_typed_without_diacritics(client):
    html = text(client.get("/?q=phu hieu xe"))
    assert 'value="phu hieu xe"' in html and "1 thủ tục khớp với “phu hieu xe”." in html
    assert "Cấp phù hiệu xe ô tô kinh doanh vận tải" in html
    assert "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô" not in html
    html = text(client.get("/?q=" + "giấy phép đánh bắt cá"))
    assert "Không có thủ tục nào khớp với “giấy phép đánh bắt cá”." in html
    assert "Xem tất cả thủ tục" in html
    assert "No procedure matches" in text(client.get("/?q=zzz&lang=en"))


def test_the_verify_page_flags_an_untrusted_signer_and_a_change_after_signing(platform, auth,
                                                                             tmp_path):
    from signing import keyfiles, pki
    from tests.signing.test_signing_sign_verify import _add_text, _append

    code = accepted_dossier(platform)
    _doc, pdf = slip(platform, code, "01")
    html = text(upload(auth, _append(pdf, _add_text)))  # words drawn on it later
    assert "Văn bản KHÔNG hợp lệ" in html
    assert "Có — văn bản đã bị thêm, sửa sau khi ký" in html
    assert "Không — nội dung đã bị thay đổi" not in html  # what was signed is intact

    other = tmp_path / "other-pki"  # a certificate no authority the portal trusts issued
    pki.issue_certificate(other, "mao", full_name="Kẻ Mạo Danh", title="Giám đốc",
                          agency="Sở Giao thông vận tải Thanh Hóa", passphrase="x")
    doc = render_pdf({"title": "GIẤY PHÉP"}, {}, signature_slots=[{"label": "GIÁM ĐỐC"}])
    html = text(upload(auth, sign_pdf(doc, keyfiles.load_signer(other, "mao", "x"), slot=1)))
    assert "Văn bản KHÔNG hợp lệ" in html and "Kẻ Mạo Danh" in html
    assert "Không — chứng thư không do tổ chức được Cổng tin cậy cấp" in html
    assert "Còn ô chữ ký chưa ký" not in html


@pytest.mark.parametrize("procedure", ["transport-business-licence", "vehicle-badge",
                                       "budget-unit-code", "investment-project-code"])
def test_every_procedure_offers_its_application_form_to_print(client, procedure):
    import json

    from web.formschema import title_of

    page = text(client.get(f"/thu-tuc/{procedure}"))
    assert f'href="/thu-tuc/{procedure}/mau-don"' in page
    response = client.get(f"/thu-tuc/{procedure}/mau-don")  # no account needed
    assert response.status_code == 200
    html = text(response)
    schema = json.loads((Path(__file__).resolve().parents[2] / "bpmn" / procedure / "forms"
                         / "application.json").read_text(encoding="utf-8"))
    fields, documents = html.split('class="blank-form-fields"')[1].split("Giấy tờ gửi kèm")
    for part, documents_only in ((fields, False), (documents, True)):
        at = [part.find(f"{title_of(prop, name, 'vi')}")
              for name, prop in schema["properties"].items()
              if (prop.get("format") == "document") == documents_only]
        assert -1 not in at and at == sorted(at)  # every field, in the form's order
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html and "NGƯỜI ĐỀ NGHỊ" in html
    assert html.count('class="blank-box"') >= 2  # choices to tick


def test_the_printed_transport_form_shows_hints_choices_and_documents(client):
    html = text(client.get("/thu-tuc/transport-business-licence/mau-don"))
    assert "Tên doanh nghiệp, hợp tác xã <span class=\"req\">*</span>" in html
    assert "Ví dụ: 0101234567" in html and "Đánh dấu các ô phù hợp." in html
    assert "Kinh doanh vận tải hành khách theo tuyến cố định" in html
    documents = html.split("Giấy tờ gửi kèm")[1]
    assert "Giấy đề nghị cấp Giấy phép kinh doanh vận tải" in documents
    english = text(client.get("/thu-tuc/transport-business-licence/mau-don?lang=en"))
    assert "Company or cooperative name" in english and "THE APPLICANT" in english
    assert client.get("/thu-tuc/khong-co/mau-don").status_code == 404


def test_the_supplement_and_refusal_slips_qr_codes_open_the_look_up_too(platform):
    code = submit(platform)
    officer = accounts.find_user(platform, "motcua")
    base = platform.settings.public_url.rstrip("/")
    tasks.complete(platform, officer, open_task(platform, code, "Task_Receive").id, {
        "reception_decision": "supplement", "reason": "Thiếu chữ ký",
        "supplement_items": "Giấy đề nghị có chữ ký"})
    tasks.complete(platform, accounts.find_user(platform, "doanhnghiep"),
                   open_task(platform, code, "Task_Supplement").id,
                   {"supplement_note": "Đã ký lại"})
    tasks.complete(platform, officer, open_task(platform, code, "Task_Receive").id,
                   {"reception_decision": "refuse", "reason": "Không đủ điều kiện."})
    for form in ("02", "03"):
        assert qr_codes(slip(platform, code, form)[1]) == [f"{base}/tra-cuu?code={code}"]
