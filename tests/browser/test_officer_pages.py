"""Officers' pages in a real browser: the head sees what the handler recommended, the inbox
searches and filters, a signing step previews its document and says it is busy, and every
page a citizen or officer works on fits a phone's width."""

import io

import pypdf
import pytest
from playwright.sync_api import expect

from engine import tasks
from tests.browser.conftest import off_the_loop, sign_in
from tests.engine.factories import submit
from tests.scenario import open_task, user

NOTES = "Doanh nghiệp đủ điều kiện về người điều hành và bộ phận an toàn giao thông."


def at_approval(platform) -> str:
    """A transport licence accepted by reception and appraised by the handler (recommending
    the licence GP-56-0042): the head's approval step is open. Its code."""
    code = submit(platform)
    tasks.complete(platform, user(platform, "motcua"), open_task(platform, code, "Task_Receive").id,
                   {"reception_decision": "accept"})
    tasks.complete(platform, user(platform, "chuyenvien"),
                   open_task(platform, code, "Task_Appraise").id,
                   {"recommendation": "approve", "appraisal_notes": NOTES,
                    "licence_number": "GP-56-0042"})
    return code


def test_the_head_finds_the_dossier_and_sees_the_handlers_recommendation(platform, portal,
                                                                          browser):
    code = at_approval(platform)
    head = sign_in(browser, portal, "lanhdao")
    head.goto(portal + "/workspace/")
    waiting = head.locator("section[aria-labelledby=waiting-heading]")
    expect(waiting).to_contain_text(code)

    head.fill("input[name=q]", code[-8:])  # part of the code
    head.click("form.filters button[type=submit]")
    expect(waiting.locator("tbody tr")).to_have_count(1)
    head.fill("input[name=q]", "Không có hồ sơ này")
    head.click("form.filters button[type=submit]")
    expect(waiting).to_contain_text("Không có việc chờ nhận nào khớp với bộ lọc.")
    head.fill("input[name=q]", "giấy phép kinh doanh vận tải")  # the procedure, any case
    head.select_option("select[name=due]", "overdue")
    head.click("form.filters button[type=submit]")
    expect(waiting).to_contain_text("Không có việc chờ nhận nào khớp với bộ lọc.")
    head.select_option("select[name=due]", "")
    head.click("form.filters button[type=submit]")
    expect(waiting.locator("tbody tr")).to_have_count(1)

    waiting.locator("a[href*='/workspace/tasks/']").first.click()
    earlier = head.locator("section.earlier")
    expect(earlier).to_contain_text("Thẩm định hồ sơ")
    expect(earlier).to_contain_text("Đề xuất cấp giấy phép")
    expect(earlier).to_contain_text(NOTES)
    expect(earlier).to_contain_text("GP-56-0042")
    expect(earlier).to_contain_text("Tiếp nhận hồ sơ")  # reception's decision, under it


PAGES = {
    "inbox": ("lanhdao", lambda code, task_id: "/workspace/"),
    "task": ("lanhdao", lambda code, task_id: f"/workspace/tasks/{task_id}"),
    "my-dossiers": ("doanhnghiep", lambda code, task_id: "/ho-so"),
    "dossier": ("doanhnghiep", lambda code, task_id: f"/ho-so/{code}"),
}


@pytest.mark.parametrize("page_name", list(PAGES))
def test_pages_fit_a_phone_without_sideways_scrolling(platform, portal, browser, page_name):
    code = at_approval(platform)
    task_id = open_task(platform, code, "Task_Approve").id
    username, path = PAGES[page_name]
    page = sign_in(browser, portal, username)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(portal + path(code, task_id))
    expect(page.locator("body")).to_contain_text(code if page_name != "inbox" else "Chờ nhận")
    width, viewport = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= viewport, f"{page_name}: {width} px wide in a {viewport} px viewport"
    if page_name == "task":  # the action form comes before the dossier on a phone
        form = page.locator("form[action*='/complete']").bounding_box()
        dossier = page.locator("#dossier-heading").bounding_box()
        assert form["y"] < dossier["y"]
    if page_name in ("inbox", "my-dossiers"):  # rows are cards: no table header in view
        assert page.locator("thead").first.bounding_box()["width"] <= 1
    if page_name == "my-dossiers":  # each card shows its dossier's status on screen
        status = page.locator("tbody tr", has_text=code).locator(".badge").first
        expect(status).to_be_visible()
        box = status.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport


def at_signing(platform) -> str:
    """A transport licence the head approved: the handler's signing step is open."""
    code = at_approval(platform)
    tasks.complete(platform, user(platform, "lanhdao"),
                   open_task(platform, code, "Task_Approve").id, {"head_decision": "approve"})
    return code


def test_the_signing_step_previews_the_document_it_signs_and_says_it_is_busy(platform, portal,
                                                                             browser):
    code = off_the_loop(at_signing, platform)
    task_id = open_task(platform, code, "Task_SignHandler").id
    handler = sign_in(browser, portal, "chuyenvien")
    handler.goto(f"{portal}/workspace/tasks/{task_id}")
    preview = handler.locator("section.sign-preview iframe")
    expect(preview).to_be_visible()
    source = preview.get_attribute("src")
    # the previewed document is the one the form signs, and it is the licence drafted
    signed_id = handler.locator("input[name=sign_document_id]").get_attribute("value")
    assert source.endswith(f"/tai-lieu/{signed_id}")
    content = handler.request.get(portal + source).body()
    words = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert "GP-56-0042" in words and "Công ty TNHH Vận tải Hồng Đức" in words

    # While the form is being sent it says so and cannot be sent twice (the sending itself
    # held back here, after the page's own handler has run).
    handler.evaluate("window.sent = 0; window.addEventListener('submit', e => {"
                     " if (!e.defaultPrevented) { window.sent += 1; } e.preventDefault(); })")
    handler.check("input[name=confirm]")
    handler.fill("input[name=passphrase]", "demo")
    button = handler.locator("form[action*='/complete'] button[type=submit]")
    button.click()
    expect(button).to_have_text("Đang ký số, vui lòng chờ…")
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(handler.locator("[data-busy-status]")).to_have_text("Đang ký số, vui lòng chờ…")
    handler.locator("form[action*='/complete']").evaluate("form => form.requestSubmit()")
    assert handler.evaluate("window.sent") == 1  # sent again, it stopped before sending

    handler.reload()  # now for real
    handler.check("input[name=confirm]")
    handler.fill("input[name=passphrase]", "demo")
    button.click()
    expect(handler.locator("body")).to_contain_text("Đã hoàn thành")


def test_every_other_page_fits_a_phone_too(platform, portal, browser):
    """Beyond the four pages above: the catalogue and its search, a procedure, its form and
    its form to print, the look-up, the verify page, the receipt, the account pages, the agency's search, the staff's dossier
    page, reception with its checklist and a signing step with its preview."""
    signing = off_the_loop(at_signing, platform)
    received = off_the_loop(submit, platform)
    procedure = "/thu-tuc/transport-business-licence"
    visits = {
        None: ["/auth/login", "/auth/dang-ky", "/auth/quen-mat-khau",
               "/thu-tuc/transport-business-licence/mau-don"],
        "doanhnghiep": ["/", "/?q=phu hieu", procedure, procedure + "/nop",
                        f"/ho-so/{received}/bien-nhan",
                        f"/tra-cuu?code={received}&id_number=2801234567", "/xac-minh"],
        "chuyenvien": ["/workspace/ho-so-co-quan", f"/ho-so/{signing}", "/workspace/tasks/"
                       f"{open_task(platform, signing, 'Task_SignHandler').id}"],
        "motcua": [f"/workspace/tasks/{open_task(platform, received, 'Task_Receive').id}"],
    }
    too_wide = []
    for username, paths in visits.items():
        page = (sign_in(browser, portal, username) if username
                else browser.new_context(locale="vi-VN").new_page())
        page.set_viewport_size({"width": 390, "height": 844})
        for path in paths:
            assert page.goto(portal + path).ok, path
            page.wait_for_load_state("load")
            width, viewport = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]")
            if width > viewport:
                too_wide.append(f"{path}: {width} px")
        page.context.close()
    assert too_wide == [], f"wider than a {viewport} px phone: {too_wide}"


def test_the_studio_says_on_a_phone_that_it_is_for_a_desktop(portal, browser):
    analyst = sign_in(browser, portal, "phantich")
    analyst.goto(portal + "/studio/")
    notice = analyst.locator(".desktop-only-notice")
    expect(notice).to_be_hidden()
    analyst.set_viewport_size({"width": 390, "height": 844})
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("dùng trên máy tính")
