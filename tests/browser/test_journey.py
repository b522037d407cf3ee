"""The transport licence journey in a real browser: Debian's Chromium driven by Playwright
against the portal served by waitress, as a firm and three officers would use it; the firm is
offered the licence once it is finally signed, and its QR code opens the look-up."""

from playwright.sync_api import expect

from tests.browser.conftest import (
    accept_first_task,
    complete,
    download_result,
    fill_transport_application,
    head_approves,
    open_application_form,
    open_first_task,
    sign_in,
    sign_the_result,
    signers,
    submit_application,
)
from tests.scenario import PDF
from tests.web.test_citizen_pages import qr_codes


def test_firm_submits_and_officers_receive_appraise_approve_and_sign(platform, portal, browser,
                                                                      tmp_path):
    pdf = tmp_path / "giay-de-nghi.pdf"
    pdf.write_bytes(PDF)

    firm = sign_in(browser, portal, "doanhnghiep")
    open_application_form(firm, portal, "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô")
    fill_transport_application(firm)
    for field in ("application_letter", "manager_qualification", "safety_unit_decision",
                  "manager_appointment"):
        firm.set_input_files(f"input[name={field}]", str(pdf))
    code = submit_application(firm)
    assert code.startswith("000.00.14.H56-")

    accept_first_task(browser, portal, "motcua", code, "reception_decision")

    handler = sign_in(browser, portal, "chuyenvien")
    open_first_task(handler, portal, claim=True)
    handler.check("input[name=recommendation][value=approve]")
    handler.fill("[name=appraisal_notes]", "Hồ sơ đầy đủ, hợp lệ.")
    handler.fill("[name=licence_number]", "GP-56-0001")
    complete(handler)

    head = head_approves(browser, portal, "lanhdao")
    sign_the_result(portal, handler)
    # Signed by the handler only, the licence is a draft the applicant is not offered.
    firm.goto(f"{portal}/ho-so/{code}")
    expect(firm.locator("a", has_text="giay-phep")).to_have_count(0)
    sign_the_result(portal, head)

    licence = download_result(firm, portal, code, "giay-phep-kinh-doanh-van-tai-")
    href = firm.locator("a", has_text="giay-phep").last.get_attribute("href")
    # One result (linked from the result box and the documents), its final revision,
    # named in Vietnamese with the dossier's code
    links = firm.locator("a", has_text="giay-phep")
    assert set(links.evaluate_all("l => l.map(a => a.getAttribute('href'))")) == {href}
    assert all(t.strip().endswith(f"giay-phep-kinh-doanh-van-tai-bang-xe-o-to-{code}.pdf")
               for t in links.all_inner_texts())
    # and its QR code opens the dossier's public look-up and verify page
    [link] = qr_codes(licence)
    assert link == f"{portal}/tra-cuu?code={code}"
    firm.goto(link)
    expect(firm.locator("body")).to_contain_text("Xác minh văn bản")
    assert signers(platform, licence) == ["Trần Minh Thụ", "Phạm Quang Duyệt",
                                          "Sở Giao thông vận tải tỉnh Thanh Hóa"]  # its seal
