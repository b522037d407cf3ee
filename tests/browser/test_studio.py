"""The analysts' studio in a real browser (Debian's Chromium driven by Playwright, bpmn-js
served from node_modules): edit the transport licence diagram through the properties
panel, see validation errors on their elements, deploy version 2, and check that a dossier
submitted before keeps version 1 while a new one runs on version 2."""


import json

from lxml import etree
from playwright.sync_api import expect

from engine import accounts, versions
from tests.engine.factories import PROCEDURE, submit
from tests.scenario import open_task

NEW_DUE = "working_days(2, dossier['received_at'])"
NEW_NAME = "Kiểm tra, tiếp nhận hồ sơ (2 ngày)"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def sign_in(browser, base: str, username: str, viewport: tuple[int, int] = (1440, 900)):
    page = browser.new_context(locale="vi-VN", viewport={"width": viewport[0],
                                                          "height": viewport[1]}).new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "leave with unsaved changes?"
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.errors = errors  # scripts that failed on the page
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form.form button[type=submit]")
    return page


def shape(page, element_id: str):
    return page.locator(f'.djs-element[data-element-id="{element_id}"]')


def click(page, element_id: str, *, header: bool = False, double: bool = False) -> None:
    """Click an element where a person would: its middle (a lane: its header, above the
    resize handle a selected lane has mid-edge). The mouse goes to coordinates, since a
    thin flow has no area Playwright calls visible."""
    box = shape(page, element_id).bounding_box()
    x = box["x"] + (6 if header else box["width"] / 2)
    y = box["y"] + box["height"] / (3 if header else 2)
    (page.mouse.dblclick if double else page.mouse.click)(x, y)


def click_blank(page) -> None:
    """Click the empty canvas left of the pool, under the palette (ends direct editing,
    clears the selection)."""
    box = page.locator("#studio-canvas").bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + box["height"] - 12)


def select(page, element_id: str, **kwargs) -> None:
    click(page, element_id, **kwargs)
    expect(page.locator("#p-id")).to_have_value(element_id)


def validate(page, expected: str) -> None:
    page.click("#btn-validate")
    expect(page.locator("#studio-status")).to_contain_text(expected)


def overlay(page, element_id: str):
    return page.locator(f'.djs-overlays[data-container-id="{element_id}"] .studio-problem')


def test_analyst_edits_validates_and_deploys_the_licence_diagram(platform, portal, browser):
    before = submit(platform)  # runs on version 1

    analyst = sign_in(browser, portal, "phantich")
    analyst.click("text=Thiết kế quy trình")
    analyst.click("text=Mở sơ đồ >> nth=0")
    expect(analyst.locator("body[data-studio-ready]")).to_have_count(1, timeout=20000)
    expect(analyst.locator("h1")).to_contain_text("phiên bản 1")

    # A broken condition: the error is drawn on its gateway.
    select(analyst, "Flow_Reception_Accept")
    expect(analyst.locator("#p-condition")).to_have_value("reception_decision == 'accept'")
    analyst.fill("#p-condition", "reception_decision = 'accept'")
    analyst.press("#p-condition", "Tab")
    validate(analyst, "Có 1 lỗi cần sửa")
    expect(overlay(analyst, "Gateway_Reception")).to_contain_text("Lỗi cú pháp: sai cú pháp")
    expect(shape(analyst, "Gateway_Reception")).to_have_class(
        "djs-element djs-shape studio-invalid")
    expect(analyst.locator("#problems-list")).to_contain_text("Gateway_Reception")
    analyst.fill("#p-condition", "reception_decision == 'accept'")
    analyst.press("#p-condition", "Tab")

    # A lane renamed on the canvas to a role nobody holds: the error is on the lane.
    click(analyst, "Lane_Reception", header=True, double=True)
    analyst.keyboard.press("Control+A")
    analyst.keyboard.type("tiep_nhan")
    click_blank(analyst)
    expect(analyst.locator("#props-form")).to_be_hidden()
    validate(analyst, "lỗi cần sửa")
    expect(overlay(analyst, "Lane_Reception")).to_contain_text(
        "làn 'tiep_nhan' không phải vai trò đã biết")
    expect(overlay(analyst, "Gateway_Reception")).to_have_count(0)
    # The panel offers only known roles, and says the current name is not one.
    select(analyst, "Lane_Reception", header=True)
    expect(analyst.locator("#p-role option:checked")).to_contain_text("không phải vai trò")
    analyst.select_option("#p-role", "reception")

    # The change that matters: Task_Receive gets two working days and says so.
    select(analyst, "Task_Receive")
    expect(analyst.locator("#p-form")).to_have_value("forms/receive.json")
    analyst.fill("#p-dueIn", NEW_DUE)
    analyst.press("#p-dueIn", "Tab")
    analyst.fill("#p-name", NEW_NAME)
    analyst.press("#p-name", "Tab")
    validate(analyst, "Hợp lệ: không có lỗi.")
    expect(analyst.locator(".studio-problem")).to_have_count(0)
    analyst.click("#btn-deploy")
    analyst.click("#btn-deploy-confirm")
    expect(analyst.locator("#studio-status")).to_contain_text("Đã triển khai phiên bản 2")
    expect(analyst.locator("h1")).to_contain_text("phiên bản 2")
    assert analyst.errors == []

    deployed = versions.get_version(platform, PROCEDURE)
    assert deployed["number"] == 2 and deployed["deployed_by"] == "phantich"
    root = etree.fromstring(deployed["files"]["process.bpmn"].encode())
    [due] = root.xpath("//bpmn:userTask[@id='Task_Receive']//spiffworkflow:property"
                       "[@name='dueIn']/@value", namespaces=NS)
    assert due == NEW_DUE
    # The other extensions survived bpmn-js's load and save.
    assert root.xpath("//bpmn:serviceTask[@id='Task_RenderLicence']//spiffworkflow:parameter"
                      "[@id='signers' and @type='int']/@value", namespaces=NS) == ["2"]

    after = submit(platform)  # runs on version 2
    old_task, new_task = open_task(platform, before, "Task_Receive"), \
        open_task(platform, after, "Task_Receive")
    assert old_task.title == "Kiểm tra, tiếp nhận hồ sơ" and new_task.title == NEW_NAME
    assert new_task.due_at < old_task.due_at  # two working days from submission, not three
    assert [(v["number"], v["dossiers"]) for v in versions.list_versions(platform, PROCEDURE)] \
        == [(2, 1), (1, 1)]

    # The reception officer follows the new dossier on its diagram.
    officer = sign_in(browser, portal, "motcua")
    officer.goto(f"{portal}/ho-so/{after}")
    officer.click("text=Xem hồ sơ đang ở đâu trên sơ đồ quy trình")
    expect(officer.locator("body[data-studio-ready]")).to_have_count(1, timeout=20000)
    holder = officer.locator('.djs-overlays[data-container-id="Task_Receive"] .studio-holder')
    expect(holder).to_contain_text("chưa có người nhận")
    expect(holder).to_contain_text("Hạn:")
    expect(shape(officer, "Task_Receive")).to_have_class("djs-element djs-shape studio-active")
    # the diagram opens readable where the dossier waits
    expect(officer.locator("#studio-zoom [data-zoom-level]")).to_have_text("75 %")
    waiting = shape(officer, "Task_Receive").bounding_box()
    assert overlaps(officer.locator("#studio-canvas").bounding_box(), waiting["x"], waiting["y"],
                    waiting["width"], waiting["height"])
    expect(shape(officer, "Task_NotifyReceived")).to_have_class(
        "djs-element djs-shape studio-done")

    # The analyst moves the older dossier to version 2: its step takes the new deadline.
    analyst.goto(f"{portal}/studio/procedures/{PROCEDURE}/migrate")
    expect(analyst.locator("main")).to_contain_text(before)
    analyst.click("text=Chuyển các hồ sơ đã chọn sang phiên bản 2")
    expect(analyst.locator("main")).to_contain_text("Đã chuyển 1/1 hồ sơ sang phiên bản 2")
    assert open_task(platform, before, "Task_Receive").due_at < old_task.due_at


def test_form_editor_previews_as_the_analyst_types(platform, portal, browser):
    analyst = sign_in(browser, portal, "phantich")
    analyst.goto(f"{portal}/studio/procedures/{PROCEDURE}/versions/1/forms/forms/receive.json")
    preview = analyst.locator("#preview")
    expect(preview.locator("input[name=reception_decision]")).to_have_count(3)

    analyst.click("#tab-json")  # the form opens in the builder; the JSON view is a tab away
    source = analyst.locator("#schema")
    text = source.input_value()
    source.fill(text.replace('"Lý do"', '"Lý do từ chối hoặc bổ sung"'))
    expect(preview).to_contain_text("Lý do từ chối hoặc bổ sung")

    source.fill(text.replace('"type": "object"', '"type": "objet"', 1))
    expect(analyst.locator("#schema-errors")).to_contain_text("'objet' không khớp lược đồ")
    expect(analyst.locator("#preview-stale")).to_be_visible()
    expect(preview).to_contain_text("Lý do từ chối hoặc bổ sung")  # the last good preview

    source.fill(text.replace("{", "{,", 1))
    expect(analyst.locator("#schema-errors")).to_contain_text("Dòng 1, cột 2")
    assert analyst.errors == []


# Each label of the diagram (<text>) inside the canvas: its text, and its height on the
# screen in CSS pixels: its font size times the zoom (the matrix's scale, lanes' rotated).
_LABELS = """(els, view) => els.map(t => {
  const r = t.getBoundingClientRect(), m = t.getScreenCTM();
  const inside = r.width > 0 && r.x < view.x + view.width && r.x + r.width > view.x
    && r.y < view.y + view.height && r.y + r.height > view.y;
  const text = [...t.querySelectorAll('tspan')].map(l => l.textContent).join(' ').trim();
  return inside && text
    ? [text, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b)] : null;
}).filter(Boolean)"""


def labels_in_view(page) -> dict[str, float]:
    view = page.locator("#studio-canvas").bounding_box()
    return dict(page.eval_on_selector_all("#studio-canvas .djs-element text", _LABELS, view))


def shapes(page) -> list[list]:
    return page.eval_on_selector_all(
        ".djs-shape:not(.djs-frame)",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.dataset.elementId, r.x, r.y, r.width, r.height]; })")


def overlaps(box: dict, x: float, y: float, width: float, height: float) -> bool:
    return x < box["x"] + box["width"] and box["x"] < x + width \
        and y < box["y"] + box["height"] and box["y"] < y + height


def test_the_editor_opens_readable_at_1366x768_fits_on_demand_and_a_builder_edit_shows_in_the_preview(
        platform, portal, browser):
    analyst = sign_in(browser, portal, "phantich", viewport=(1366, 768))
    analyst.goto(f"{portal}/studio/procedures/{PROCEDURE}/versions/1/edit")
    analyst.wait_for_selector("body[data-studio-ready]")
    canvas = analyst.locator("#studio-canvas").bounding_box()
    palette = analyst.locator("#studio-canvas .djs-palette").bounding_box()
    # The canvas fills the window below a compact head: none of it below the fold.
    assert canvas["y"] + canvas["height"] <= 768 and canvas["height"] >= 500
    # The licence fits 1366x768 only with its labels ~3.5 px high: it opens at the
    # readable zoom instead, at its start, the palette clear of everything drawn.
    level = analyst.locator("#studio-zoom [data-zoom-level]")
    expect(level).to_have_text("75 %")
    opening = labels_in_view(analyst)
    assert len(opening) > 15 and min(opening.values()) >= 9, opening
    assert "Nộp hồ sơ" in opening and "Kiểm tra, tiếp nhận hồ sơ" in opening
    start = shape(analyst, "Start_Submitted").bounding_box()
    assert overlaps(canvas, start["x"], start["y"], start["width"], start["height"])
    assert start["x"] >= palette["x"] + palette["width"]
    for element, x, y, width, height in shapes(analyst):
        if overlaps(canvas, x, y, width, height):
            assert not overlaps(palette, x, y, width, height), f"the palette covers {element}"
    expect(analyst.locator("#studio-zoom .studio-zoom-note")).to_be_hidden()

    # "Xem toàn bộ": the whole flow, clear of the palette, its labels too small to read.
    analyst.click("#studio-zoom-fit")
    boxes = shapes(analyst)
    assert len(boxes) > 20
    for element, x, y, width, height in boxes:
        assert canvas["x"] <= x and x + width <= canvas["x"] + canvas["width"] + 1, element
        assert canvas["y"] <= y and y + height <= canvas["y"] + canvas["height"] + 1, element
        assert x >= palette["x"] + palette["width"], f"the palette covers {element}"
    fitted = labels_in_view(analyst)
    assert set(opening) < set(fitted) and max(fitted.values()) < 9, fitted
    expect(analyst.locator("#studio-zoom .studio-zoom-note")).to_be_visible()
    fit_level = level.inner_text()

    # The keyboard zooms the focused diagram; F shows it whole again.
    analyst.click("text=Cỡ chữ dễ đọc")
    expect(level).to_have_text("75 %")
    click_blank(analyst)
    analyst.keyboard.press("Control+Minus")
    expect(level).to_have_text("60 %")
    analyst.keyboard.press("Control+Equal")
    expect(level).to_have_text("75 %")
    analyst.keyboard.press("f")
    expect(level).to_have_text(fit_level)

    # The side panel folds away: the canvas takes the width.
    analyst.click("text=Ẩn bảng thuộc tính")
    expect(analyst.locator("#studio-side")).to_be_hidden()
    assert analyst.locator("#studio-canvas").bounding_box()["width"] >= 1300
    analyst.click("text=Hiện bảng thuộc tính")
    expect(analyst.locator("#props-heading")).to_be_visible()

    roles = {r["code"]: r["name_vi"] for r in accounts.list_roles(platform)}
    lane = analyst.locator('.djs-overlays[data-container-id="Lane_Reception"] .studio-role')
    expect(lane).to_have_text(roles["reception"])

    analyst.goto(f"{portal}/studio/procedures/{PROCEDURE}/versions/1/forms/forms/receive.json")
    analyst.wait_for_selector("body[data-builder-ready]")
    expect(analyst.locator("#form-builder")).to_be_visible()
    expect(analyst.locator("#schema")).to_be_hidden()
    label = analyst.locator('section[data-field="reason"] input[data-key="title"]')
    label.fill("Lý do từ chối hoặc yêu cầu bổ sung")
    preview = analyst.locator("#preview")
    expect(preview).to_contain_text("Lý do từ chối hoặc yêu cầu bổ sung")
    reason = analyst.locator('section[data-field="reason"]')
    expect(reason.locator('select[data-key="show_to"]')).to_have_value("some")
    reason.locator('input[data-key="example"]').fill("Thiếu bản sao giấy đăng ký kinh doanh")
    expect(preview).to_contain_text("Thiếu bản sao giấy đăng ký kinh doanh")
    analyst.click("#tab-json")
    schema = json.loads(analyst.locator("#schema").input_value())
    assert schema["properties"]["reason"]["title"] == "Lý do từ chối hoặc yêu cầu bổ sung"
    assert schema["properties"]["reason"]["examples"] == ["Thiếu bản sao giấy đăng ký kinh doanh"]
    # who sees the reason later (the applicant too) is kept as the bundle has it
    assert schema["properties"]["reason"]["x-show-to"] == [
        "applicant", "reception", "handler", "head"]
    assert analyst.errors == []


# The text of an element as Chromium draws it; a text field's value is drawn in a twin
# with the field's face (the DevTools protocol does not see inside a field).
_SHOWN = """(el) => {
  if (el.value === undefined) {
    return (el.innerText === undefined ? el.textContent : el.innerText).replace(/\\s+/g, ' ').trim();
  }
  const twin = document.createElement('div');
  twin.style.fontFamily = getComputedStyle(el).fontFamily;
  twin.className = 'font-twin';
  twin.textContent = el.value.split('\\n').map(l => l.trim())
    .filter(l => /[^\\x00-\\x7f]/.test(l)).join(' ');
  document.querySelectorAll('.font-twin').forEach(t => t.remove());
  document.body.appendChild(twin);
  return twin.textContent;
}"""


def drawn_whole(page, selector: str) -> list[str]:
    """Assert that Chromium draws the Vietnamese text of ``selector`` (its first element)
    with no more glyphs than letters: each letter whole, from a face that has it. A face
    that lacks "ồ" but has "o" and the marks (DejaVu Sans Mono, Debian's monospace) builds
    it from pieces, more glyphs than letters, the marks beside the letter. The faces used."""
    element = page.locator(selector).first
    text = element.evaluate(_SHOWN)
    assert any(ord(c) > 0x7F for c in text), f"{selector}: no Vietnamese in {text!r}"
    target = ".font-twin" if element.evaluate("el => el.value !== undefined") else selector
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": target})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    glyphs = sum(f["glyphCount"] for f in fonts)
    faces = [f["familyName"] for f in fonts]
    assert 0 < glyphs <= len(text), f"{selector}: {text!r} drawn with {glyphs} glyphs by {faces}"
    return faces


def test_vietnamese_is_drawn_whole_in_every_studio_view(platform, portal, browser):
    from engine.procedures import deploy_bundle
    from tests.engine.test_bundles import replace

    deploy_bundle(platform, replace("process.bpmn", 'name="Kết quả kiểm tra?"',
                                    'name="Kết quả kiểm tra hồ sơ?"'))
    analyst = sign_in(browser, portal, "phantich", viewport=(1366, 768))
    base = f"{portal}/studio/procedures/{PROCEDURE}"
    analyst.goto(f"{base}/versions/1/edit")
    analyst.wait_for_selector("body[data-studio-ready]")
    drawn_whole(analyst, '.djs-element[data-element-id="Task_Receive"] text')
    drawn_whole(analyst, '.djs-overlays[data-container-id="Lane_Reception"] .studio-role')
    drawn_whole(analyst, "main h1")

    analyst.goto(f"{base}/diff?a=1&b=2")
    drawn_whole(analyst, ".studio-diff td.code.studio-after")
    drawn_whole(analyst, ".studio-diff td.code.studio-before")

    analyst.goto(f"{base}/versions/1/forms/forms/receive.json")
    analyst.wait_for_selector("body[data-builder-ready]")
    drawn_whole(analyst, 'section[data-field="reason"] input[data-key="title"]')
    drawn_whole(analyst, "#preview label")
    analyst.click("#tab-json")
    drawn_whole(analyst, "#schema")

    analyst.goto(f"{base}/versions/1/test-run")
    drawn_whole(analyst, "#application")
    analyst.goto(f"{base}/versions/1/whatif")
    drawn_whole(analyst, "main h1")
    assert analyst.errors == []


def test_an_analyst_adds_moves_conditions_and_removes_fields_in_the_builder(
        platform, portal, browser):
    from engine import forms
    from engine.errors import InvalidData

    analyst = sign_in(browser, portal, "phantich", viewport=(1366, 768))
    analyst.goto(f"{portal}/studio/procedures/{PROCEDURE}/versions/1/forms/forms/receive.json")
    analyst.wait_for_selector("body[data-builder-ready]")
    builder = analyst.locator("#form-builder")
    preview = analyst.locator("#preview")

    builder.get_by_role("button", name="Thêm trường").click()
    added = builder.locator('section[data-field="truong_4"]')
    added.locator('input[data-key="name"]').fill("ghi_chu")
    added.locator('input[data-key="title"]').fill("Ghi chú của cán bộ tiếp nhận")
    expect(preview).to_contain_text("Ghi chú của cán bộ tiếp nhận")
    added.locator("select").filter(has_text="Không có điều kiện").select_option("reception_decision")
    added = builder.locator('section[data-field="ghi_chu"]')  # drawn again under its name
    added.get_by_label("Từ chối tiếp nhận hồ sơ").check()
    added.get_by_role("button", name="Lên").click()  # before "supplement_items"
    added.get_by_role("button", name="Lên").click()  # before "reason"
    builder.locator('section[data-field="supplement_items"]').get_by_role(
        "button", name="Bỏ trường").click()
    expect(preview).not_to_contain_text("Nội dung cần bổ sung, hoàn thiện")

    analyst.click("#tab-json")
    schema = json.loads(analyst.locator("#schema").input_value())
    assert list(schema["properties"]) == ["reception_decision", "ghi_chu", "reason"]

    def refused(data: dict) -> list[str]:
        try:
            forms.validate(schema, data)
            return []
        except InvalidData as err:
            return sorted(e["field"] for e in err.details)

    # required when the reception refuses, as a hand-written allOf/if/then would be
    refusal = {"reception_decision": "refuse", "reason": "Thiếu giấy tờ"}
    assert refused(refusal) == ["ghi_chu"]
    assert refused({**refusal, "ghi_chu": "Đã gọi điện báo"}) == []
    assert refused({"reception_decision": "accept"}) == []
    assert analyst.errors == []


def test_a_form_the_builder_cannot_express_opens_as_json_and_says_why(platform, portal, browser):
    from tests.scenario import user
    from web.studio import drafts

    nested = {"type": "object", "title": "Địa chỉ", "required": [], "properties": {
        "address": {"type": "object", "title": "Địa chỉ", "properties": {}}}}
    drafts.save_file(platform.settings.data_dir, user(platform, "phantich").id, PROCEDURE, 1,
                     "forms/address.json", json.dumps(nested, ensure_ascii=False))
    analyst = sign_in(browser, portal, "phantich", viewport=(1366, 768))
    analyst.goto(f"{portal}/studio/procedures/{PROCEDURE}/versions/1/forms/forms/address.json")
    analyst.wait_for_selector("body[data-builder-ready]")
    reason = analyst.locator("#builder-reason")
    expect(reason).to_be_visible()
    expect(reason).to_contain_text("trình dựng không diễn đạt được")
    expect(reason).to_contain_text("address")
    expect(analyst.locator("#schema")).to_be_visible()
    expect(analyst.locator("#form-builder")).to_be_hidden()
    assert json.loads(analyst.locator("#schema").input_value()) == nested
    assert analyst.errors == []


def test_a_test_run_is_walked_by_hand_and_its_path_drawn(platform, portal, browser):
    from tests.engine.test_whatif import _counts

    before = _counts(platform)
    analyst = sign_in(browser, portal, "phantich", viewport=(1366, 768))
    analyst.goto(f"{portal}/studio/procedures/{PROCEDURE}/versions/1/test-run")
    analyst.click("text=Bắt đầu chạy thử")
    step = analyst.locator('form[data-step="Task_Receive"]')
    step.locator('input[name="reception_decision"][value="refuse"]').check()
    step.locator('textarea[name="reason"]').fill("Chưa đủ điều kiện kinh doanh vận tải.")
    step.locator("text=Hoàn thành bước này").click()
    expect(analyst.locator("main")).to_contain_text("Hồ sơ chạy thử đã kết thúc.")
    done = shape(analyst, "Task_Receive")
    expect(done).to_have_class("djs-element djs-shape studio-done")
    expect(analyst.locator(".djs-element.studio-taken").first).to_be_attached()
    assert _counts(platform) == before  # the run lives in the session only
    assert analyst.errors == []


def test_code_text_draws_vietnamese_whole_across_the_portal(platform, portal, browser):
    """``.code`` (codes, file and column names, expressions) is monospace portal-wide; the
    Vietnamese letters a monospace face lacks come whole from a face that has them."""
    page = sign_in(browser, portal, "phantich", viewport=(1366, 768))
    page.goto(f"{portal}/")
    # what an import's error table shows for a column named in Vietnamese
    page.evaluate("""() => { const td = document.createElement('span');
      td.className = 'code'; td.id = 'column'; td.textContent = 'Số hồ sơ, Tên tổ chức, Địa chỉ';
      document.querySelector('main').appendChild(td); }""")
    drawn_whole(page, "#column")
    assert page.errors == []
