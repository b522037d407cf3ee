"""The studio's decision-table editor in a real browser (dmn-js served from node_modules):
an analyst changes a fee in a bundle's DMN table, saves and deploys it, and the next
dossier is charged by the edited table; a cell deploy would refuse is reported at save."""

from playwright.sync_api import expect

from engine import versions
from engine.procedures import deploy_bundle
from tests.browser.test_studio import sign_in
from tests.engine.elements.kit import DIAGRAMS, bundle, data, submit

CODE = "el-fee-table"


def deploy_fee_table(platform) -> None:
    files = bundle("fee_table")
    files["fee_table.dmn"] = (DIAGRAMS / "fee_table.dmn").read_text(encoding="utf-8")
    deploy_bundle(platform, files)


def open_table(browser, portal):
    analyst = sign_in(browser, portal, "phantich")
    analyst.goto(f"{portal}/studio/procedures/{CODE}/versions/1/edit")
    analyst.click("text=fee_table.dmn")
    expect(analyst.locator("body[data-studio-ready]")).to_have_count(1, timeout=20000)
    expect(analyst.locator("h1")).to_contain_text("fee_table.dmn")
    return analyst


def edit_cell(page, old: str, new: str) -> None:
    """Type ``new`` over the table cell showing ``old``, as a person does."""
    cell = page.locator("td.output-cell", has_text=old).locator("[contenteditable]")
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(new)
    page.locator("h1").click()  # leave the cell
    expect(page.locator("td.output-cell", has_text=new)).to_have_count(1)


def test_an_edited_fee_decides_the_next_dossier(platform, portal, browser):
    deploy_fee_table(platform)
    before = submit(platform, CODE, {"vehicles": ["51B-00001", "51B-00002"]})
    assert data(platform, before)["fee"] == 200000

    analyst = open_table(browser, portal)
    expect(analyst.locator("td.output-cell", has_text="500000")).to_have_count(1)
    edit_cell(analyst, "200000", "250000")
    analyst.click("#btn-deploy-table")
    expect(analyst.locator("#studio-status")).to_contain_text("Đã triển khai phiên bản 2",
                                                              timeout=20000)
    assert analyst.errors == []

    deployed = versions.get_version(platform, CODE)
    assert deployed["number"] == 2 and deployed["deployed_by"] == "phantich"
    assert "250000" in deployed["files"]["fee_table.dmn"]
    after = submit(platform, CODE, {"vehicles": ["51B-00003", "51B-00004"]})
    assert (data(platform, after)["fee"], data(platform, after)["fee_band"]) == \
        (250000, "1–5 xe")
    assert data(platform, before)["fee"] == 200000  # the earlier dossier keeps its fee


def test_a_cell_deploy_would_refuse_is_reported_when_saved(platform, portal, browser):
    deploy_fee_table(platform)
    analyst = open_table(browser, portal)
    edit_cell(analyst, "500000", "__import__('os')")
    analyst.click("#btn-save-table")
    status = analyst.locator("#studio-status")
    expect(status).to_contain_text("Đã lưu vào bản nháp, nhưng gói còn lỗi")
    expect(status).to_contain_text("fee_by_vehicles row 2")
    # Deploy refuses it too, and nothing new is deployed.
    analyst.click("#btn-deploy-table")
    expect(status).to_contain_text("gói còn lỗi")
    assert versions.get_version(platform, CODE)["number"] == 1
    assert analyst.errors == []
