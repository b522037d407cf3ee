"""Real-browser fixtures: the portal served by waitress on a free port, and Debian's
Chromium driven by Playwright (which never downloads a browser of its own here); and the
steps the journeys share: sign in, apply, open and complete tasks, sign the result, download
it and check its signatures."""

import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect, sync_playwright

from signing.pki import trust_roots
from signing.verify import verify_pdf
from tests.serving import serve
from web import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling out to a closed network.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def portal(platform):
    """The portal on a free port. Its public URL is the served one, so the links it builds
    for itself (e-mails, the payment gateway's return address) come back to it."""
    with serve(create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})) as base:
        platform.settings.public_url = base
        yield base


@pytest.fixture
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def off_the_loop(function, *args):
    """Run ``function`` in another thread: Playwright's event loop runs in this one, and the
    worker and pyHanko would trip over it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def sign_in(browser, base: str, username: str):
    """A page of a fresh browser context, signed in as the demo user ``username``."""
    page = browser.new_context(locale="vi-VN").new_page()
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo")
    page.click("form.form button[type=submit]")
    return page


def open_application_form(page, base: str, procedure: str) -> None:
    """From the portal's home page, the procedure titled ``procedure`` and its online form."""
    page.goto(base + "/")
    page.get_by_text(procedure).first.click()
    page.get_by_text("Nộp hồ sơ trực tuyến").first.click()


def fill_transport_application(page, *, enterprise_code: str = "2801234567") -> None:
    """Type the demo firm's transport licence application (files not attached)."""
    page.fill("[name=company_name]", "Công ty TNHH Vận tải Hồng Đức")
    page.fill("[name=enterprise_code]", enterprise_code)
    page.fill("[name=head_office_address]", "Số 12 Lê Lợi, TP Thanh Hóa")
    page.fill("[name=legal_representative]", "Nguyễn Văn Hồng")
    page.fill("[name=phone]", "0912345678")
    page.fill("[name=email]", "doanhnghiep@example.vn")
    page.check("input[name=transport_kinds][value=fixed_route]")
    page.fill("[name=vehicle_count]", "12")


def submit_application(page) -> str:
    """Submit the filled application form; the dossier's code, from the page it lands on."""
    page.click("form.form button[type=submit]")
    expect(page.locator("body")).to_contain_text("Mã hồ sơ")
    return page.url.rsplit("/", 1)[-1]


def open_first_task(page, base: str, *, claim: bool = False) -> None:
    """Open the first task of the workspace (claiming it first from the role's pool)."""
    page.goto(base + "/workspace/")
    if claim:  # claiming opens the task
        page.locator("form[action*='/claim'] button").first.click()
    else:
        page.locator("main a[href*='/workspace/tasks/']:not([hreflang])").first.click()
    expect(page.locator("form[action*='/complete']")).to_be_visible()


def complete(page) -> None:
    page.locator("form[action*='/complete'] button[type=submit]").click()
    expect(page.locator("body")).to_contain_text("Đã hoàn thành")


def accept_first_task(browser, base: str, username: str, code: str, decision: str):
    """``username`` signs in, opens the first task, sees dossier ``code`` in it and accepts
    it (the radio button ``decision`` set to ``accept``); their page is returned."""
    page = sign_in(browser, base, username)
    open_first_task(page, base)
    expect(page.locator("body")).to_contain_text(code)
    page.check(f"input[name={decision}][value=accept]")
    complete(page)
    return page


def head_approves(browser, base: str, username: str):
    """The head of the agency signs in and approves the first task; their page is returned
    for the signing step."""
    head = sign_in(browser, base, username)
    open_first_task(head, base)
    head.check("input[name=head_decision][value=approve]")
    complete(head)
    return head


def sign_the_result(base: str, *pages) -> None:
    """Each of ``pages`` (signed-in officers, in the diagram's order) signs the result with
    the demo passphrase."""
    for page in pages:
        open_first_task(page, base)
        page.check("input[name=confirm]")
        page.fill("input[name=passphrase]", "demo")
        complete(page)


def download_result(page, base: str, code: str, name_prefix: str) -> bytes:
    """The applicant's dossier page says the result is ready with two signatures; the
    result (the last link whose text starts ``name_prefix``), fetched with their session,
    which hands it over: the page then says it is returned."""
    page.goto(base + "/ho-so/" + code)
    body = page.locator("body")
    expect(body).to_contain_text("Đã giải quyết xong")
    expect(body).to_contain_text("2 chữ ký")
    href = page.locator("a", has_text=name_prefix).last.get_attribute("href")
    content = page.request.get(base + href).body()
    page.reload()
    expect(body).to_contain_text("Đã trả kết quả")
    return content


def signers(platform, pdf: bytes) -> list[str]:
    """The signers of ``pdf``, once the validator `motcua verify` uses accepts it."""
    report = off_the_loop(verify_pdf, pdf, trust_roots(platform.pki_dir))
    assert report.ok
    return [s.signer for s in report.signatures]
