"""Officers' pages in a real browser: the head sees what the handler recommended, the inbox
searches and filters, and every page a citizen or officer works on fits a phone's width."""

import pytest
from playwright.sync_api import expect

from engine import tasks
from tests.browser.conftest import sign_in
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
