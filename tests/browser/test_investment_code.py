"""The investment project code in a real browser (DOMAIN.md §5b): a district unit files a
project in its preparation phase (form 02-MSNS-BTC) with its district finance office, which
forwards it; the Department of Finance issues a code starting with 7 and signs certificate
05B; the unit downloads it from its own dossier."""

import io
import re

from pypdf import PdfReader

from engine import worker
from tests.browser.conftest import (
    accept_first_task,
    complete,
    download_result,
    head_approves,
    off_the_loop,
    open_application_form,
    open_first_task,
    sign_in,
    sign_the_result,
    signers,
    submit_application,
)
from tests.scenario import PDF


def test_a_preparation_phase_project_gets_its_code_and_signed_certificate(platform, portal,
                                                                          browser, tmp_path):
    pdf = tmp_path / "to-khai-02-MSNS-BTC.pdf"
    pdf.write_bytes(PDF)

    unit = sign_in(browser, portal, "donvi")
    open_application_form(unit, portal, "Đăng ký mã số dự án đầu tư")
    unit.select_option("select[name=receiving_agency]", "000.10.20.H56")
    unit.check("input[name=request_kind][value=preparation]")
    unit.fill("[name=project_name]", "Cải tạo, nâng cấp Trường Tiểu học Điện Biên")
    unit.fill("[name=investor]", "Ban Quản lý dự án đầu tư xây dựng TP Thanh Hóa")
    unit.fill("[name=supervising_body]", "Ủy ban nhân dân TP Thanh Hóa")
    unit.fill("[name=location]", "Phường Điện Biên, TP Thanh Hóa")
    unit.fill("[name=total_investment]", "14500000000")
    unit.fill("[name=capital_source]", "Ngân sách TP Thanh Hóa")
    unit.fill("[name=decision_number]", "2345/QĐ-UBND")
    unit.fill("[name=decision_date]", "2026-10-20")
    unit.fill("[name=decision_issuer]", "Ủy ban nhân dân TP Thanh Hóa")
    unit.fill("[name=contact_person]", "Lê Thị Hoa")
    unit.fill("[name=phone]", "0912345678")
    unit.fill("[name=email]", "donvi@example.vn")
    for field in ("declaration", "decision"):
        unit.set_input_files(f"input[name={field}]", str(pdf))
    code = submit_application(unit)
    assert code.startswith("000.10.20.H56-")

    accept_first_task(browser, portal, "phongtc", code, "check_decision")
    off_the_loop(worker.tick, platform)  # forwarded: the Department's dossier starts

    reception = sign_in(browser, portal, "stc_motcua")
    open_first_task(reception, portal)
    reception.check("input[name=department_decision][value=accept]")
    complete(reception)

    handler = sign_in(browser, portal, "stc_chuyenvien")
    open_first_task(handler, portal, claim=True)
    handler.check("input[name=recommendation][value=issue]")
    handler.fill("[name=appraisal_notes]", "Có quyết định phê duyệt chủ trương đầu tư.")
    complete(handler)

    head = head_approves(browser, portal, "stc_lanhdao")
    sign_the_result(portal, handler, head)
    off_the_loop(worker.tick, platform)  # the answer and the certificate go back

    certificate = download_result(unit, portal, code, "giay-chung-nhan-ma-so-")
    assert signers(platform, certificate) == ["Hoàng Văn Thẩm", "Trịnh Quốc Ngân",
                                              "Sở Tài chính tỉnh Thanh Hóa"]  # its seal
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(certificate)).pages)
    assert re.search(r"\b7\d{6}\b", text), "a preparation-phase code starts with 7"
