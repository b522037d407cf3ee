"""The transport licence journey in a real browser: Debian's Chromium driven by Playwright
against the portal served by waitress, as a firm and three officers would use it."""

from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import expect

from signing.pki import trust_roots
from signing.verify import verify_pdf
from tests.scenario import PDF


def sign_in(browser, base: str, username: str):
    page = browser.new_context(locale="vi-VN").new_page()
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form.form button[type=submit]")
    return page


def open_first_task(page, base: str, *, claim: bool = False) -> None:
    page.goto(base + "/workspace/")
    if claim:  # claiming opens the task
        page.locator("form[action*='/claim'] button").first.click()
    else:
        page.locator("main a[href*='/workspace/tasks/']:not([hreflang])").first.click()
    expect(page.locator("form[action*='/complete']")).to_be_visible()


def complete(page) -> None:
    page.locator("form[action*='/complete'] button[type=submit]").click()
    expect(page.locator("body")).to_contain_text("Đã hoàn thành")


def test_firm_submits_and_officers_receive_appraise_approve_and_sign(platform, portal, browser,
                                                                      tmp_path):
    pdf = tmp_path / "giay-de-nghi.pdf"
    pdf.write_bytes(PDF)

    firm = sign_in(browser, portal, "doanhnghiep")
    firm.goto(portal + "/")
    firm.get_by_text("Cấp Giấy phép kinh doanh vận tải bằng xe ô tô").first.click()
    firm.get_by_text("Nộp hồ sơ trực tuyến").first.click()
    firm.fill("[name=company_name]", "Công ty TNHH Vận tải Hồng Đức")
    firm.fill("[name=enterprise_code]", "2801234567")
    firm.fill("[name=head_office_address]", "Số 12 Lê Lợi, TP Thanh Hóa")
    firm.fill("[name=legal_representative]", "Nguyễn Văn Hồng")
    firm.fill("[name=phone]", "0912345678")
    firm.fill("[name=email]", "doanhnghiep@example.vn")
    firm.check("input[name=transport_kinds][value=fixed_route]")
    firm.fill("[name=vehicle_count]", "12")
    for field in ("application_letter", "manager_qualification", "safety_unit_decision",
                  "manager_appointment"):
        firm.set_input_files(f"input[name={field}]", str(pdf))
    firm.click("form.form button[type=submit]")
    expect(firm.locator("body")).to_contain_text("Mã hồ sơ")
    code = firm.url.rsplit("/", 1)[-1]
    assert code.startswith("000.00.14.H56-")

    reception = sign_in(browser, portal, "motcua")
    open_first_task(reception, portal)
    expect(reception.locator("body")).to_contain_text(code)
    reception.check("input[name=reception_decision][value=accept]")
    complete(reception)

    handler = sign_in(browser, portal, "chuyenvien")
    open_first_task(handler, portal, claim=True)
    handler.check("input[name=recommendation][value=approve]")
    handler.fill("[name=appraisal_notes]", "Hồ sơ đầy đủ, hợp lệ.")
    handler.fill("[name=licence_number]", "GP-56-0001")
    complete(handler)

    head = sign_in(browser, portal, "lanhdao")
    open_first_task(head, portal)
    head.check("input[name=head_decision][value=approve]")
    complete(head)

    for page in (handler, head):
        open_first_task(page, portal)
        page.check("input[name=confirm]")
        page.fill("input[name=passphrase]", "demo")
        complete(page)

    firm.goto(portal + "/ho-so/" + code)
    body = firm.locator("body")
    expect(body).to_contain_text("Đã trả kết quả")
    expect(body).to_contain_text("2 chữ ký")
    href = firm.locator("a", has_text="licence-").last.get_attribute("href")
    licence = firm.request.get(portal + href).body()  # with the firm's session
    # pyHanko runs its own event loop; Playwright's is running in this thread.
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(verify_pdf, licence, trust_roots(platform.pki_dir)).result()
    assert report.ok and [s.signer for s in report.signatures] == ["Trần Minh Thụ",
                                                                   "Phạm Quang Duyệt"]
