"""In Chromium: a reception officer receives a dossier at the counter for a new applicant
and prints slip 01, the applicant follows it online; the leaders' page draws its charts at
desktop and phone widths, and its table holds the API's numbers."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from engine.models import Dossier
from tests.browser.conftest import complete, sign_in
from tests.engine.test_stats import december  # noqa: F401  (fixture)
from tests.scenario import PDF

DECEMBER = "start=2026-12-01&end=2026-12-31"


def test_counter_reception_slip_01_and_online_look_up(platform, portal, browser, tmp_path):
    scan = tmp_path / "ban-quet.pdf"
    scan.write_bytes(PDF)
    officer = sign_in(browser, portal, "motcua")
    officer.get_by_role("link", name="Tiếp nhận", exact=True).click()
    officer.select_option("#counter-procedure", "transport-business-licence")
    officer.fill("#counter-id", "038090012345")
    officer.get_by_role("button", name="Tiếp tục").click()
    expect(officer.locator("#applicant-new")).to_be_visible()
    officer.fill("#applicant_full_name", "Trịnh Văn Quầy")
    officer.fill("#applicant_phone", "0987654321")
    for name, value in (("company_name", "Công ty TNHH Vận tải Quầy"),
                        ("enterprise_code", "2801239999"),
                        ("head_office_address", "Số 3 Phan Chu Trinh, TP Thanh Hóa"),
                        ("legal_representative", "Trịnh Văn Quầy"), ("phone", "0987654321"),
                        ("email", "quay@example.vn"), ("vehicle_count", "2")):
        officer.fill(f"[name={name}]", value)
    officer.check("input[name=transport_kinds][value=truck]")
    for field in ("application_letter", "manager_qualification", "safety_unit_decision",
                  "manager_appointment"):
        officer.set_input_files(f"input[name={field}]", str(scan))
    officer.get_by_role("button", name="Tiếp nhận hồ sơ").click()
    # Straight to the dossier's reception step: accepting issues slip 01.
    officer.check("input[name=reception_decision][value=accept]")
    complete(officer)
    with platform.db.read() as session:
        code = session.execute(select(Dossier.code).where(Dossier.channel == "counter")).scalar_one()
    officer.goto(f"{portal}/ho-so/{code}")
    slip = officer.locator("a", has_text="giay-tiep-nhan-ho-so").first  # slip 01, named in Vietnamese
    expect(slip).to_be_visible()
    assert officer.request.get(portal + slip.get_attribute("href")).body().startswith(b"%PDF")

    applicant = browser.new_context(locale="vi-VN").new_page()
    applicant.goto(f"{portal}/tra-cuu?code={code}&id_number=038090012345")
    expect(applicant.locator("body")).to_contain_text(code)
    expect(applicant.locator("body")).to_contain_text("Đã tiếp nhận")


def test_leaders_page_charts_and_table_match_the_api(december, portal, browser):  # noqa: F811
    token = browser.new_context().request.post(
        f"{portal}/api/v1/auth/token", data={"username": "lanhdaotinh", "password": "demo"}).json()
    api = browser.new_context().request.get(
        f"{portal}/api/v1/stats?{DECEMBER}", headers={"Authorization": f"Bearer {token['token']}"}
    ).json()
    for width in (1280, 390):
        page = browser.new_context(locale="vi-VN", viewport={"width": width, "height": 900}).new_page()
        page.goto(portal + "/auth/login")
        page.fill("input[name=username]", "lanhdaotinh")
        page.fill("input[name=password]", "demo")
        page.click("form.form button[type=submit]")
        page.goto(f"{portal}/thong-ke/?{DECEMBER}")
        summary = page.locator("#table-summary")
        expect(summary.locator("[data-key=received]")).to_have_text(str(api["received"]))
        expect(summary.locator("[data-key=electronic_results]")).to_have_text(
            str(api["electronic_results"]))
        expect(summary.locator("[data-key=by_channel]")).to_have_text(
            "{online} / {counter} / {post}".format(**api["by_channel"]))
        on_time = f"{api['share_on_time'] * 100:.1f} %"
        expect(summary.locator("[data-key=share_on_time]")).to_have_text(on_time)
        for chart in ("chart-trend", "chart-agency", "chart-procedure"):
            page.wait_for_function(f"document.getElementById('{chart}').chart !== undefined")
            drawn = page.evaluate(f"document.getElementById('{chart}').chart.data.datasets.length")
            assert drawn >= 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
