"""In Chromium: the studio's bottleneck map draws the procedure's diagram with each step
coloured by its time and share late, its numbers in a note beside it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.engine.factories import PROCEDURE
from tests.web.test_studio_bottlenecks import appraisal_is_slow  # noqa: F401  (fixture)


def test_the_diagram_is_coloured_step_by_step(appraisal_is_slow, portal, browser):  # noqa: F811
    page = sign_in(browser, portal, "phantich")
    page.goto(f"{portal}/studio/procedures/{PROCEDURE}/bottlenecks?start=2026-12-01&end=2026-12-31")
    page.wait_for_selector("body[data-studio-ready]")
    for step, heat in (("Task_Appraise", 3), ("Task_Approve", 2), ("Task_Receive", 1)):
        expect(page.locator(f'.djs-element[data-element-id="{step}"]')).to_have_class(
            re.compile(rf"\bstudio-heat-{heat}\b"))
    notes = page.locator(".djs-overlay-studio-note")
    expect(notes).to_have_count(3)
    expect(notes.filter(has_text="P90 9.0 giờ")).to_contain_text("10 việc, quá hạn 20 %")
