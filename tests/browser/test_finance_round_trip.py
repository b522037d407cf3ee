"""The province ↔ district round trip in a real browser (DOMAIN.md §1, §5a): a district unit
files with its district finance office, the office forwards, the background worker carries the
dossier to the Department of Finance, whose officers receive, appraise, approve and sign; the
worker brings the signed certificate back and the unit downloads it."""

from playwright.sync_api import expect

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


def run_worker(platform) -> None:
    """What `motcua worker` does in the background: deliver the messages between the sides."""
    off_the_loop(worker.tick, platform)


def test_unit_district_office_and_department_round_trip(platform, portal, browser, tmp_path):
    pdf = tmp_path / "to-khai-01-MSNS-BTC.pdf"
    pdf.write_bytes(PDF)

    unit = sign_in(browser, portal, "donvi")
    open_application_form(unit, portal, "Đăng ký mã số đơn vị có quan hệ với ngân sách")
    unit.select_option("select[name=receiving_agency]", "000.10.20.H56")
    unit.fill("[name=unit_name]", "Trường Tiểu học Điện Biên")
    unit.check("input[name=unit_type][value=budget_using]")
    unit.check("input[name=budget_level][value=district]")
    unit.fill("[name=supervising_body]", "Phòng Giáo dục và Đào tạo TP Thanh Hóa")
    unit.fill("[name=address]", "Số 5 Trần Phú, phường Điện Biên, TP Thanh Hóa")
    unit.fill("[name=founding_decision_number]", "1234/QĐ-UBND")
    unit.fill("[name=founding_decision_date]", "2026-09-01")
    unit.fill("[name=founding_decision_issuer]", "Ủy ban nhân dân TP Thanh Hóa")
    unit.fill("[name=contact_person]", "Lê Thị Hoa")
    unit.fill("[name=phone]", "0912345678")
    unit.fill("[name=email]", "donvi@example.vn")
    for field in ("declaration", "founding_decision"):
        unit.set_input_files(f"input[name={field}]", str(pdf))
    code = submit_application(unit)
    assert code.startswith("000.10.20.H56-")  # coded by the district office it chose

    accept_first_task(browser, portal, "phongtc", code, "check_decision")

    # the Department sees nothing until the worker delivers the forwarded dossier
    reception = sign_in(browser, portal, "stc_motcua")
    reception.goto(portal + "/workspace/")
    expect(reception.locator("main")).not_to_contain_text(code)
    run_worker(platform)
    open_first_task(reception, portal)
    expect(reception.locator("body")).to_contain_text("Tiếp nhận hồ sơ liên thông")
    reception.check("input[name=department_decision][value=accept]")
    complete(reception)

    handler = sign_in(browser, portal, "stc_chuyenvien")
    open_first_task(handler, portal, claim=True)
    handler.check("input[name=recommendation][value=issue]")
    handler.fill("[name=appraisal_notes]", "Hồ sơ đầy đủ, hợp lệ; đơn vị chưa có mã số.")
    complete(handler)

    head = head_approves(browser, portal, "stc_lanhdao")
    sign_the_result(portal, handler, head)
    run_worker(platform)  # the answer goes back to the district dossier

    certificate = download_result(unit, portal, code, "giay-chung-nhan-ma-so-")
    assert signers(platform, certificate) == ["Hoàng Văn Thẩm", "Trịnh Quốc Ngân",
                                              "Sở Tài chính tỉnh Thanh Hóa"]  # its seal
