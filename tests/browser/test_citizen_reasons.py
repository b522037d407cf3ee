"""What the applicant reads and does in Chromium: every missing field at once, files kept
across a rejected submission, the reason and items of a supplement request on the page and
on the supplement form, "đã bổ sung, đang xử lý" after it, and the reason of a refusal."""

import json

from playwright.sync_api import expect

from engine import accounts, tasks
from tests.browser.conftest import (
    fill_transport_application,
    off_the_loop,
    open_application_form,
    sign_in,
)
from tests.engine.factories import submit
from tests.scenario import PDF, open_task

ATTACHMENTS = ("application_letter", "manager_qualification", "safety_unit_decision",
               "manager_appointment")


def test_an_empty_form_lists_every_missing_field_and_a_rejected_one_keeps_its_files(
        platform, portal, browser, tmp_path):
    pdf = tmp_path / "giay-de-nghi.pdf"
    pdf.write_bytes(PDF)
    firm = sign_in(browser, portal, "doanhnghiep")
    open_application_form(firm, portal, "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô")
    for name in ("company_name", "enterprise_code", "head_office_address", "phone",
                 "email"):  # filled from the account
        expect(firm.locator(f"[name={name}]")).not_to_have_value("")
        firm.fill(f"[name={name}]", "")
    firm.click("form.form button[type=submit]")

    required = json.loads((platform.settings.bpmn_dir / "transport-business-licence/forms/"
                           "application.json").read_text(encoding="utf-8"))["required"]
    links = firm.locator(".error-summary a")
    expect(links).to_have_count(len(required))
    assert [h.removeprefix("#f-") for h in links.evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")] == required

    # Filled in with one mistake and the files attached: the files stay attached.
    fill_transport_application(firm, enterprise_code="28012")
    for field in ATTACHMENTS:
        firm.set_input_files(f"input[name={field}]", str(pdf))
    firm.click("form.form button[type=submit]")
    expect(firm.locator(".error-summary a")).to_have_count(1)
    expect(firm.locator(".error-summary")).to_contain_text("ví dụ 0101234567")
    expect(firm.locator(".current-file")).to_have_count(len(ATTACHMENTS))
    expect(firm.locator(".current-file").first).to_contain_text("giay-de-nghi.pdf")

    firm.fill("[name=enterprise_code]", "2801234567")
    firm.click("form.form button[type=submit]")
    expect(firm.locator("body")).to_contain_text("Hồ sơ đã được nộp trực tuyến.")
    expect(firm.locator("table a", has_text="giay-de-nghi.pdf")).to_have_count(len(ATTACHMENTS))


def reception(platform, code: str, data: dict) -> None:
    row = open_task(platform, code, "Task_Receive")
    off_the_loop(tasks.complete, platform, accounts.find_user(platform, "motcua"), row.id, data)


def test_the_applicant_reads_why_to_supplement_and_why_it_was_refused(platform, portal,
                                                                       browser):
    code = off_the_loop(submit, platform)
    reception(platform, code, {
        "reception_decision": "supplement", "reason": "Giấy đề nghị chưa có chữ ký",
        "supplement_items": "Giấy đề nghị có chữ ký người đại diện\n"
                            "Quyết định bổ nhiệm người điều hành vận tải"})
    firm = sign_in(browser, portal, "doanhnghiep")
    firm.goto(f"{portal}/ho-so/{code}")
    reasons = firm.locator(".reasons")
    expect(reasons).to_contain_text("Giấy đề nghị chưa có chữ ký")
    expect(reasons.locator(".supplement-items li")).to_have_count(2)

    firm.get_by_role("link", name="Bổ sung hồ sơ").click()
    expect(firm.locator(".supplement-items li").nth(1)).to_have_text(
        "Quyết định bổ nhiệm người điều hành vận tải")
    expect(firm.locator(".reasons")).to_contain_text("Giấy đề nghị chưa có chữ ký")
    firm.fill("[name=supplement_note]", "Đã ký lại giấy đề nghị.")
    firm.locator("form[action*='/complete'] button[type=submit]").click()
    expect(firm.locator(".badge").first).to_have_text("Đã bổ sung, đang xử lý")

    reception(platform, code, {"reception_decision": "refuse",
                               "reason": "Chưa đủ điều kiện kinh doanh vận tải."})
    firm.reload()
    refusal = firm.locator(".reasons")
    expect(refusal).to_contain_text("Hồ sơ bị từ chối")
    expect(refusal).to_contain_text("Chưa đủ điều kiện kinh doanh vận tải.")
