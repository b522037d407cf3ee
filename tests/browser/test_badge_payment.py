"""The vehicle badge (level 4) in a real browser, its fee paid online: a firm applies, the
authority's three officers receive, appraise, approve and sign, the firm pays through the
portal's VNPay sandbox and comes back to a page saying it is paid, the background worker
releases the badge, and the firm downloads it. Every PDF the firm received — the badge
and the one-stop slips, on the portal and by e-mail — passes the validator `motcua verify`
uses (signing.verify with the platform's own trust roots)."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser

import pytest
from playwright.sync_api import expect

from engine import worker
from signing.pki import trust_roots
from signing.verify import format_report, verify_pdf
from tests.browser.conftest import (
    accept_first_task,
    complete,
    head_approves,
    off_the_loop,
    open_application_form,
    open_first_task,
    sign_in,
    sign_the_result,
    submit_application,
)
from tests.scenario import PDF

APPLICANT_EMAIL = "doanhnghiep@example.vn"
AGENCY = "Sở Giao thông vận tải tỉnh Thanh Hóa"  # its seal signs the one-stop slips
PLATE = "36B-123.45"  # the tracking stand-in reports this tracker compliant


@pytest.fixture(autouse=True)
def _sandbox_gateway(monkeypatch):
    """Payments go to the portal's own VNPay sandbox, whatever the shell exports."""
    for name in ("MOTCUA_VNPAY_URL", "MOTCUA_VNPAY_TMN_CODE", "MOTCUA_VNPAY_HASH_SECRET"):
        monkeypatch.delenv(name, raising=False)


def status_of(page):
    """The dossier's status as its page shows it."""
    return page.locator("dl.summary-list dt:text-is('Trạng thái') + dd")


def apply_for_a_badge(firm, portal: str, tmp_path) -> str:
    registration = tmp_path / "dang-ky-xe.pdf"
    registration.write_bytes(PDF)
    open_application_form(firm, portal, "Cấp phù hiệu xe ô tô kinh doanh vận tải")
    firm.fill("[name=company_name]", "Công ty TNHH Vận tải Hồng Đức")
    firm.fill("[name=head_office_address]", "Số 12 Lê Lợi, phường Điện Biên, TP Thanh Hóa")
    firm.fill("[name=phone]", "0912345678")
    firm.fill("[name=email]", APPLICANT_EMAIL)
    firm.fill("[name=business_licence_number]", "GP-56-0001")
    firm.fill("[name=plate]", PLATE)
    firm.fill("[name=brand]", "THACO")
    firm.fill("[name=capacity]", "29 chỗ")
    firm.fill("[name=manufacture_year]", "2022")
    firm.check("input[name=ownership][value=owned]")
    firm.select_option("select[name=badge_type]", "contract")
    firm.fill("[name=requested_years]", "5")
    firm.set_input_files("input[name=vehicle_registration]", str(registration))
    code = submit_application(firm)
    assert code.startswith("000.00.14.H56-")
    expect(status_of(firm)).to_have_text("Mới nộp")
    return code


def officers_issue_and_sign(browser, portal: str, code: str) -> None:
    accept_first_task(browser, portal, "motcua", code, "reception_decision")

    handler = sign_in(browser, portal, "chuyenvien")
    open_first_task(handler, portal, claim=True)
    expect(handler.locator("body")).to_contain_text(PLATE)
    handler.check("input[name=recommendation][value=approve]")
    handler.fill("[name=appraisal_notes]",
                 "Hồ sơ đầy đủ; thiết bị giám sát hành trình hoạt động.")
    complete(handler)

    head = head_approves(browser, portal, "lanhdao")
    sign_the_result(portal, handler, head)


def pay_in_the_sandbox(firm, code: str) -> None:
    """From the dossier page: the pay button, the fee page, the sandbox bank, and back."""
    delivery = firm.locator("#delivery")
    delivery.get_by_role("link", name="Thanh toán trực tuyến").click()
    expect(firm.locator("h1")).to_have_text("Thanh toán phí, lệ phí")
    expect(firm.locator("main")).to_contain_text("50.000 đồng")
    expect(firm.locator("main")).to_contain_text("Chưa thanh toán")
    firm.get_by_role("button", name="Thanh toán trực tuyến").click()

    expect(firm).to_have_url(re.compile(r"/sandbox/vnpay/pay\?"))
    expect(firm.locator("h1")).to_contain_text("Cổng thanh toán thử nghiệm — không phải VNPay thật")
    expect(firm.locator("main")).to_contain_text("50.000 đồng")
    expect(firm.locator("main")).to_contain_text(code)  # in the order's description
    firm.get_by_role("button", name="Thanh toán", exact=True).click()

    expect(firm).to_have_url(re.compile(r"/payments/vnpay/return\?vnp_"))
    expect(firm.locator("[role=status]")).to_contain_text("Đã thanh toán thành công.")
    expect(firm.locator("[role=status]")).to_contain_text("Số tiền: 50.000 đồng.")
    firm.get_by_role("link", name=f"Về hồ sơ {code}").click()


def emailed_pdfs(platform) -> dict[str, bytes]:
    """The PDFs attached to the e-mails the worker sent the applicant (``.eml`` files, as
    no SMTP server is configured)."""
    found = {}
    for path in sorted((platform.settings.data_dir / "outbox").glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] != APPLICANT_EMAIL:
            continue
        for part in message.iter_attachments():
            if part.get_content_type() == "application/pdf":
                found[f"{path.name}:{part.get_filename()}"] = part.get_content()
    return found


def test_firm_pays_the_badge_fee_online_and_downloads_the_signed_badge(platform, portal,
                                                                       browser, tmp_path):
    firm = sign_in(browser, portal, "doanhnghiep")
    code = apply_for_a_badge(firm, portal, tmp_path)
    officers_issue_and_sign(browser, portal, code)

    # Signed, the badge waits for its fee: the worker does not release it.
    off_the_loop(worker.tick, platform)
    firm.goto(portal + "/ho-so/" + code)
    expect(status_of(firm)).to_have_text("Đã phê duyệt")
    delivery = firm.locator("#delivery")
    expect(delivery).to_contain_text("Phí, lệ phí nộp trực tuyến:")
    expect(delivery).not_to_contain_text("Đã thanh toán trực tuyến")
    expect(delivery.get_by_role("link", name="Tải kết quả")).to_have_count(0)

    pay_in_the_sandbox(firm, code)
    expect(firm).to_have_url(portal + "/ho-so/" + code)
    expect(delivery).to_contain_text("Đã thanh toán trực tuyến.")
    expect(delivery.get_by_role("link", name="Thanh toán trực tuyến")).to_have_count(0)
    expect(status_of(firm)).to_have_text("Đã phê duyệt")  # until the worker hears of it
    expect(delivery.get_by_role("link", name="Tải kết quả")).to_have_count(0)

    off_the_loop(worker.tick, platform)  # delivers payment_confirmed
    firm.reload()
    expect(status_of(firm)).to_have_text("Đã giải quyết xong")  # returned once downloaded
    expect(delivery).to_contain_text("Đã thanh toán trực tuyến.")
    result = delivery.get_by_role("link", name="Tải kết quả")
    expect(result).to_have_count(1)
    expect(result).to_have_text(re.compile(rf"Tải kết quả: phu-hieu-[a-z0-9-]+-{re.escape(code)}\.pdf"))
    expect(delivery).to_contain_text("(2 chữ ký)")

    # The link opens the PDF in Chromium's viewer; Alt+click is Chromium's "download link".
    with firm.expect_download() as download_info:
        result.click(modifiers=["Alt"])
    download = download_info.value
    assert re.fullmatch(rf"phu-hieu-[a-z0-9-]+-{re.escape(code)}\.pdf", download.suggested_filename)
    received = {f"download:{download.suggested_filename}": download.path().read_bytes()}

    # The one-stop slips attached to the dossier, from its documents table.
    documents = firm.locator("#documents-heading + .table-scroll")
    slips = documents.locator("a", has_text=re.compile(r"^(giay|phieu)-"))
    names = sorted(slips.all_inner_texts())
    assert [name.removesuffix(f"-{code}.pdf") for name in names] == [
        "giay-tiep-nhan-ho-so-va-hen-tra-ket-qua",  # the receipt (01)
        "phieu-kiem-soat-qua-trinh-giai-quyet-ho-so"]  # the control slip (05)
    for link in slips.all():
        name = link.inner_text()
        received[f"portal:{name}"] = firm.request.get(portal + link.get_attribute("href")).body()
    attached = emailed_pdfs(platform)
    assert sorted(n.rsplit(":", 1)[1] for n in attached) == names  # each slip once by e-mail
    received.update(attached)

    roots = trust_roots(platform.pki_dir)
    reports = {name: off_the_loop(verify_pdf, pdf, roots) for name, pdf in received.items()}
    for name, report in reports.items():
        assert report.ok, f"{name}:\n{format_report(report)}"
    signers = {name: [s.signer for s in report.signatures] for name, report in reports.items()}
    [badge] = [signed for name, signed in signers.items() if name.startswith("download:")]
    assert badge == ["Trần Minh Thụ", "Phạm Quang Duyệt", AGENCY]  # handler, head, then the seal
    assert all(signed == [AGENCY] for name, signed in signers.items()
               if "giay-tiep-nhan" in name or "phieu-" in name)
