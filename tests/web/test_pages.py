"""The HTML pages, driven like a browser: sign in, fill the forms, follow the redirects.

Every POST carries the CSRF token read from a rendered page, as a browser would send it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from io import BytesIO

import pytest

from engine import clock
from engine.config import Settings
from web import create_app

PROCEDURE = "transport-business-licence"
APPLY_URL = f"/thu-tuc/{PROCEDURE}/nop"
ATTACHMENTS = ("application_letter", "manager_qualification", "safety_unit_decision",
               "manager_appointment")
APPLICATION = {
    "company_name": "Công ty TNHH Vận tải Hồng Đức",
    "enterprise_code": "2801234567",
    "head_office_address": "Số 12 Lê Lợi, phường Điện Biên, TP Thanh Hóa",
    "legal_representative": "Nguyễn Văn Hồng",
    "phone": "0912345678",
    "email": "doanhnghiep@example.vn",
    "transport_kinds": ["fixed_route", "contract"],
    "vehicle_count": "12",
}


def pdf(label: str) -> bytes:
    """Enough of a PDF for the engine's content check (it reads the first bytes)."""
    return b"%PDF-1.4\n% " + label.encode() + b"\n%%EOF\n"


@pytest.fixture
def app(platform):
    """The app on the test's already initialised platform (demo accounts included)."""
    return create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    """Sign in and out, and POST forms with the page's CSRF token, like a browser."""

    def __init__(self, client):
        self.client = client

    def token(self, page: str = "/auth/login") -> str:
        html = self.client.get(page).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def login(self, username: str = "doanhnghiep", password: str = "demo"):
        return self.client.post("/auth/login", data={
            "username": username, "password": password, "csrf_token": self.token()})

    def logout(self):
        return self.client.post("/auth/logout", data={"csrf_token": self.token("/")})

    def post(self, url: str, data: dict | None = None, *, page: str = "/", **kwargs):
        """POST ``data`` with the token of ``page`` (any page with a form of this session)."""
        return self.client.post(url, data={**(data or {}), "csrf_token": self.token(page)},
                                **kwargs)


@pytest.fixture
def auth(client):
    return AuthActions(client)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def application_form(values: dict | None = None, *, files: bool = True) -> dict:
    data = dict(APPLICATION if values is None else values)
    if files:
        for name in ATTACHMENTS:
            data[name] = (BytesIO(pdf(name)), f"{name}.pdf", "application/pdf")
    return data


def submit_application(auth) -> str:
    """Submit the transport licence as the demo firm through the HTML form; its code."""
    response = auth.post(APPLY_URL, application_form(), page=APPLY_URL,
                         content_type="multipart/form-data")
    assert response.status_code == 302, text(response)
    match = re.fullmatch(r"/ho-so/(.+)", response.headers["Location"])
    assert match
    return match.group(1)


def task_id_for(auth, code: str) -> int:
    """The id of the task of dossier ``code`` in the signed-in officer's inbox."""
    html = text(auth.client.get("/workspace/"))
    match = re.search(re.escape(code) + r'</span></td>.*?href="/workspace/tasks/(\d+)"', html,
                      re.S)
    assert match, f"{code} not in the inbox"
    return int(match.group(1))


def complete(auth, task_id: int, data: dict):
    page = f"/workspace/tasks/{task_id}"
    return auth.post(f"{page}/complete", data, page=page, content_type="multipart/form-data")


# -- the factory --------------------------------------------------------------------------

def test_factory_builds_its_platform_and_keeps_a_secret_key_across_restarts(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", secret_key="")
    first = create_app({"MOTCUA_SETTINGS": settings})
    second = create_app({"MOTCUA_SETTINGS": settings})
    try:
        assert first.extensions["motcua"].settings is settings
        assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
        assert len(first.config["SECRET_KEY"]) >= 32
        assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0
        assert first.config["MAX_CONTENT_LENGTH"] == settings.max_upload_bytes * 5
    finally:
        first.extensions["motcua"].close()
        second.extensions["motcua"].close()


# -- catalogue and languages --------------------------------------------------------------

def test_catalogue_lists_the_transport_licence_in_vietnamese(client):
    response = client.get("/")
    assert response.status_code == 200
    html = text(response)
    assert '<html lang="vi">' in html
    assert "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô" in html
    assert "Mức độ 4 – toàn trình" in html
    assert "5 ngày làm việc" in html
    assert f'href="/thu-tuc/{PROCEDURE}"' in html
    assert 'action="/tra-cuu"' in html


def test_lang_parameter_switches_to_english_and_is_remembered(client):
    html = text(client.get("/?lang=en"))
    assert '<html lang="en">' in html
    assert "Issuing a road transport business licence" in html
    assert "Level 4 – fully online" in html and "5 working days" in html
    assert "Procedures" in html and "Thủ tục hành chính" not in html
    assert '<html lang="en">' in text(client.get("/"))
    assert '<html lang="vi">' in text(client.get("/?lang=vi"))


def test_browser_language_is_used_when_nothing_was_chosen(client):
    html = text(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}))
    assert '<html lang="en">' in html


def test_procedure_page_lists_documents_and_legal_basis(client):
    html = text(client.get(f"/thu-tuc/{PROCEDURE}"))
    assert "Thành phần hồ sơ" in html
    assert "Quyết định bổ nhiệm người trực tiếp điều hành hoạt động vận tải" in html
    assert "Nghị định 158/2024/NĐ-CP" in html
    assert f'href="{APPLY_URL}"' in html and "Nộp hồ sơ trực tuyến" in html


def test_procedure_page_gives_the_shorter_deadline_for_online_dossiers(client):
    html = text(client.get("/thu-tuc/budget-unit-code"))
    assert "3 ngày làm việc (2 ngày làm việc nếu nộp trực tuyến)" in html
    assert "(2 ngày làm việc nếu nộp trực tuyến)" not in text(client.get(f"/thu-tuc/{PROCEDURE}"))


def test_unknown_procedure_is_404_page(client):
    response = client.get("/thu-tuc/khong-co")
    assert response.status_code == 404
    assert "Không tìm thấy" in text(response)


# -- signing in ---------------------------------------------------------------------------

@pytest.mark.parametrize("username, password", [("doanhnghiep", "sai"), ("khongai", "demo")])
def test_login_failure_says_so_without_telling_which_part(auth, username, password):
    response = auth.login(username, password)
    assert response.status_code == 200
    html = text(response)
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in html
    assert f'value="{username}"' in html


@pytest.mark.parametrize("username, landing", [("doanhnghiep", "/ho-so"),
                                               ("motcua", "/workspace/")])
def test_login_lands_on_the_users_page_and_logout_ends_the_session(auth, client, username,
                                                                   landing):
    response = auth.login(username)
    assert response.status_code == 302 and response.headers["Location"] == landing
    assert "Đăng xuất" in text(client.get(landing))
    assert auth.logout().status_code == 302
    assert client.get(landing).status_code == 302


def test_login_returns_to_the_page_asked_for_but_never_off_site(auth, client):
    token = auth.token()
    response = client.post("/auth/login", data={"username": "doanhnghiep", "password": "demo",
                                                "csrf_token": token, "next": APPLY_URL})
    assert response.headers["Location"] == APPLY_URL
    auth.logout()
    response = client.post("/auth/login", data={"username": "doanhnghiep", "password": "demo",
                                                "csrf_token": auth.token(),
                                                "next": "//evil.example/"})
    assert response.headers["Location"] == "/ho-so"


@pytest.mark.parametrize("url", [APPLY_URL, "/ho-so", "/ho-so/000.00.14.H56-250101-0001",
                                 "/tai-lieu/1", "/workspace/", "/workspace/tasks/1"])
def test_protected_pages_send_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("url", ["/workspace/tasks/1/claim", "/workspace/tasks/1/complete"])
def test_protected_actions_send_anonymous_visitors_to_login(auth, url):
    response = auth.post(url, page="/auth/login")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_post_without_csrf_token_is_refused(client, auth):
    response = client.post("/auth/login", data={"username": "doanhnghiep", "password": "demo"})
    assert response.status_code == 400
    assert "tải lại trang" in text(response)
    auth.login()
    response = client.post("/auth/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/ho-so").status_code == 200  # still signed in


def test_api_is_exempt_from_csrf(client):
    response = client.post("/api/v1/auth/token", json={"username": "doanhnghiep",
                                                       "password": "demo"})
    assert response.status_code != 400


# -- applying -----------------------------------------------------------------------------

def test_apply_form_renders_the_procedures_fields(auth, client):
    auth.login()
    html = text(client.get(APPLY_URL))
    assert 'enctype="multipart/form-data"' in html
    assert 'name="company_name"' in html and 'name="vehicle_count"' in html
    assert html.count('type="checkbox" name="transport_kinds"') == 7
    for name in ATTACHMENTS:
        assert f'type="file" name="{name}"' in html


def test_firm_submits_the_transport_licence_with_its_attachments(auth, client):
    auth.login()
    code = submit_application(auth)
    assert re.fullmatch(r"000\.00\.14\.H56-\d{6}-\d{4}", code)
    html = text(client.get(f"/ho-so/{code}"))
    assert f"Mã hồ sơ {code} — ngày hẹn trả kết quả" in html
    assert code in html and "Mới nộp" in html
    assert "Kiểm tra, tiếp nhận hồ sơ" in html  # the current step
    assert "Công ty TNHH Vận tải Hồng Đức" in html  # the application, read back
    assert html.count('href="/tai-lieu/') >= len(ATTACHMENTS)
    assert code in text(client.get("/ho-so"))


def test_invalid_submission_lists_every_problem_in_form_order_and_keeps_what_was_typed(
        auth, client):
    auth.login()
    values = {**APPLICATION, "company_name": "", "enterprise_code": "12ab",
              "vehicle_count": "mười hai"}
    response = auth.post(APPLY_URL, application_form(values, files=False), page=APPLY_URL,
                         content_type="multipart/form-data")
    assert response.status_code == 200
    html = text(response)
    # Every problem at once — the unreadable number, the missing name, the bad tax code,
    # each missing file — in the order of the form, each saying what is expected.
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    linked = re.findall(r'href="#f-([a-z_]+)"', summary)
    assert linked == ["company_name", "enterprise_code", "vehicle_count", *ATTACHMENTS]
    assert "số nguyên" in summary and "0101234567" in summary
    assert 'value="mười hai"' in html and 'value="12ab"' in html
    assert 'value="Số 12 Lê Lợi, phường Điện Biên, TP Thanh Hóa"' in html
    assert re.search(r'name="transport_kinds" value="contract"[^>]*checked', html)

    # The files of a submission rejected for another reason are kept, shown as attached…
    values["vehicle_count"] = "12"
    response = auth.post(APPLY_URL, application_form(values), page=APPLY_URL,
                         content_type="multipart/form-data")
    html = text(response)
    assert 'id="f-company_name-error"' in html and 'id="f-vehicle_count-error"' not in html
    for name in ATTACHMENTS:
        assert f"Tệp đã đính kèm: <strong>{name}.pdf</strong>" in html
    kept = dict(re.findall(r'name="([a-z_]+__kept)" value="([^"]+)"', html))
    assert len(kept) == len(ATTACHMENTS)
    assert client.get("/ho-so").get_data(as_text=True).count("/ho-so/") == 0

    # …and go with the corrected submission without being chosen again.
    values.update(company_name=APPLICATION["company_name"], enterprise_code="2801234567")
    response = auth.post(APPLY_URL, {**application_form(values, files=False), **kept},
                         page=APPLY_URL, content_type="multipart/form-data")
    assert response.status_code == 302, text(response)
    page = text(client.get(response.headers["Location"]))
    for name in ATTACHMENTS:
        assert f"{name}.pdf" in page


def test_a_kept_file_token_of_another_user_is_ignored(auth, client):
    auth.login()
    values = {**APPLICATION, "company_name": ""}
    html = text(auth.post(APPLY_URL, application_form(values), page=APPLY_URL,
                          content_type="multipart/form-data"))
    kept = dict(re.findall(r'name="([a-z_]+__kept)" value="([^"]+)"', html))
    assert kept
    auth.logout()
    auth.login("congdan")
    html = text(auth.post(APPLY_URL, {**application_form(APPLICATION, files=False), **kept},
                          page=APPLY_URL, content_type="multipart/form-data"))
    assert 'id="f-application_letter-error"' in html


def test_control_and_invisible_characters_are_refused(auth, client):
    auth.login()
    values = {**APPLICATION, "company_name": "Công ty\u200b Hồng Đức",
              "head_office_address": "Số 12\x07 Lê Lợi"}
    html = text(auth.post(APPLY_URL, application_form(values), page=APPLY_URL,
                          content_type="multipart/form-data"))
    assert 'id="f-company_name-error"' in html and "ký tự ẩn ở vị trí 8" in html
    assert 'id="f-head_office_address-error"' in html


def test_the_blank_form_is_filled_from_the_account_where_it_asks(auth, client):
    auth.login()
    html = text(client.get(APPLY_URL))
    assert re.search(r'name="email" value="[^"]+@[^"]+"', html)


def test_documents_open_for_their_applicant_only(auth, client):
    auth.login()
    code = submit_application(auth)
    link = re.search(r'href="(/tai-lieu/\d+)"', text(client.get(f"/ho-so/{code}"))).group(1)
    response = client.get(link)
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.mimetype == "application/pdf"
    auth.logout()
    auth.login("congdan")
    assert client.get(link).status_code == 403
    assert client.get(f"/ho-so/{code}").status_code == 404


def test_public_lookup_needs_the_applicants_id_number(auth, client):
    auth.login()
    code = submit_application(auth)
    auth.logout()
    html = text(client.get("/tra-cuu", query_string={"code": code, "id_number": "2801234567"}))
    assert code in html and "Mới nộp" in html
    assert "/tai-lieu/" not in html  # no files for the public
    html = text(client.get("/tra-cuu", query_string={"code": code, "id_number": "000"}))
    assert "Không tìm thấy hồ sơ" in html


# -- officers -----------------------------------------------------------------------------

def test_reception_officer_accepts_the_dossier_from_the_inbox(auth, client):
    auth.login()
    code = submit_application(auth)
    auth.logout()
    auth.login("motcua")
    inbox = text(client.get("/workspace/"))
    assert "Việc của tôi" in inbox and "Chờ nhận" in inbox
    task_id = task_id_for(auth, code)

    page = text(client.get(f"/workspace/tasks/{task_id}"))
    assert "Công ty TNHH Vận tải Hồng Đức" in page  # the application, labelled
    assert "Tên doanh nghiệp, hợp tác xã" in page
    assert 'type="radio" name="reception_decision" value="accept"' in page

    response = auth.post(f"/workspace/tasks/{task_id}/claim", page="/workspace/")
    assert response.headers["Location"] == f"/workspace/tasks/{task_id}"
    response = complete(auth, task_id, {"reception_decision": "accept"})
    assert response.status_code == 302 and response.headers["Location"] == "/workspace/"
    assert f"hồ sơ {code}" in text(client.get("/workspace/"))
    assert "Đã tiếp nhận" in text(client.get(f"/ho-so/{code}"))

    # The same task again: someone (here: ourselves) already handled it.
    response = complete(auth, task_id, {"reception_decision": "accept"})
    assert response.status_code == 302 and response.headers["Location"] == "/workspace/"
    assert "đã được xử lý" in text(client.get("/workspace/"))


def test_inbox_highlights_overdue_tasks(auth, client):
    auth.login()
    code = submit_application(auth)
    auth.logout()
    auth.login("motcua")
    row = re.search(r"<tr[^>]*>\s*<td[^>]*><span class=\"code\">" + re.escape(code),
                    text(client.get("/workspace/"))).group(0)
    assert "row--overdue" not in row
    clock.travel(timedelta(days=30))
    html = text(client.get("/workspace/"))
    row = re.search(r"<tr[^>]*>\s*<td[^>]*><span class=\"code\">" + re.escape(code), html).group(0)
    assert "row--overdue" in row and "Quá hạn" in html


def test_task_form_errors_keep_the_values(auth, client):
    auth.login()
    code = submit_application(auth)
    auth.logout()
    auth.login("motcua")
    task_id = task_id_for(auth, code)
    response = complete(auth, task_id, {"reception_decision": "supplement",
                                        "supplement_items": "Bản sao giấy phép"})
    assert response.status_code == 200
    html = text(response)
    assert 'id="f-reason-error"' in html
    assert re.search(r'value="supplement"[^>]*checked', html)
    assert "Bản sao giấy phép</textarea>" in html


def test_applicant_supplements_through_the_task_page(auth, client):
    auth.login()
    code = submit_application(auth)
    auth.logout()
    auth.login("motcua")
    response = complete(auth, task_id_for(auth, code), {
        "reception_decision": "supplement", "reason": "Thiếu chữ ký",
        "supplement_items": "Giấy đề nghị có chữ ký người đại diện"})
    assert response.status_code == 302
    auth.logout()

    auth.login()
    html = text(client.get(f"/ho-so/{code}"))
    assert "Yêu cầu bổ sung" in html
    match = re.search(r'href="/workspace/tasks/(\d+)">Bổ sung hồ sơ<', html)
    assert match
    task_id = int(match.group(1))
    page = text(client.get(f"/workspace/tasks/{task_id}"))
    assert 'name="supplement_note"' in page and 'type="file" name="application_letter"' in page
    # The reason and what to supplement, where the applicant acts.
    assert "Thiếu chữ ký" in html and "<li>Giấy đề nghị có chữ ký người đại diện</li>" in html
    assert "Thiếu chữ ký" in page and "<li>Giấy đề nghị có chữ ký người đại diện</li>" in page
    response = complete(auth, task_id, {
        "supplement_note": "Đã ký lại giấy đề nghị",
        "application_letter": (BytesIO(pdf("signed")), "don-da-ky.pdf", "application/pdf")})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/ho-so/{code}"
    html = text(client.get(f"/ho-so/{code}"))
    assert "don-da-ky.pdf" in html
    assert "Đã bổ sung, đang xử lý" in html and "Mới nộp" not in html
    assert "Đã bổ sung, đang xử lý" in text(client.get("/ho-so"))
    # The applicant reads plain steps, never the audit log's actions or officers' names.
    assert "Tiến độ giải quyết" in html and "Đã bổ sung hồ sơ" in html
    assert "Quá trình xử lý" not in html and "— motcua" not in html


def to_the_handlers_signature(auth, licence_number: str) -> tuple[str, int]:
    """Submit a licence, have it received, appraised and approved, and sign in as the
    handling officer: the dossier's code and the id of the signing step."""
    auth.login()
    code = submit_application(auth)
    steps = [("motcua", {"reception_decision": "accept"}),
             ("chuyenvien", {"recommendation": "approve", "appraisal_notes": "Đủ điều kiện.",
                             "licence_number": licence_number}),
             ("lanhdao", {"head_decision": "approve"})]
    for username, data in steps:
        auth.logout()
        auth.login(username)
        response = complete(auth, task_id_for(auth, code), data)
        assert response.status_code == 302, text(response)
    auth.logout()
    auth.login("chuyenvien")
    return code, task_id_for(auth, code)


def test_signing_step_asks_for_the_key_passphrase(auth, client):
    code, task_id = to_the_handlers_signature(auth, "GP-56-0001")
    page = text(client.get(f"/workspace/tasks/{task_id}"))
    assert 'type="password" id="passphrase" name="passphrase"' in page
    assert "Mật khẩu khóa ký số" in page and "Xem văn bản sẽ ký" in page

    response = complete(auth, task_id, {"confirm": "true", "passphrase": "sai"})
    assert response.status_code == 200
    assert 'id="passphrase-error"' in text(response)
    assert "Mật khẩu khóa ký số không đúng" in text(response)
    assert "Wrong passphrase" not in text(response)  # no English on a Vietnamese page
    response = complete(auth, task_id, {"confirm": "true", "passphrase": "demo"})
    assert response.status_code == 302, text(response)
    assert "1 chữ ký" in text(client.get(f"/ho-so/{code}"))


def test_inbox_sections_page_on_their_own(auth, client, app):
    """Each section shows at most 50 tasks, soonest due first, with a link to its next page
    that keeps the other section's page; past the first page, a link back to it."""
    from tests.engine.factories import TaskRows

    auth.login()
    code = submit_application(auth)
    auth.logout()
    rows = TaskRows(app.extensions["motcua"])
    mine = [rows.add(code, role="reception", assignee="motcua", due=d / 10) for d in range(55)]
    waiting = [rows.add(code, role="reception", due=d / 10) for d in range(3)]
    auth.login("motcua")

    def task_ids(html, heading):
        section = html.split(f'id="{heading}"')[1].split("</section>")[0]
        found = re.findall(r'href="/workspace/tasks/(\d+)"', section)
        return [int(i) for i in dict.fromkeys(found)]  # a row links its task once or twice

    html = text(client.get("/workspace/"))
    assert task_ids(html, "mine-heading") == mine[:50]
    assert '<span class="count" title="Còn việc ở trang sau">50+</span>' in html
    assert "Trang đầu" not in html
    [next_mine] = re.findall(r'<a href="([^"]+)" rel="next">Trang sau »</a>', html)
    assert next_mine.startswith("/workspace/?mine=")
    second = text(client.get(next_mine))
    assert task_ids(second, "mine-heading") == mine[50:]
    # The other section keeps its (first) page: the 3 added and the real reception task.
    kept = task_ids(second, "waiting-heading")
    assert len(kept) == 4 and set(waiting) < set(kept)
    assert "rel=\"next\"" not in second and "« Trang đầu" in second
    english = text(client.get(next_mine + "&lang=en"))
    assert "« First page" in english
    # A mangled cursor shows that section's first page.
    assert task_ids(text(client.get("/workspace/?mine=zzz")), "mine-heading") == mine[:50]


def test_a_slip_not_made_yet_shows_as_being_prepared_and_a_failed_one_to_staff(platform, client,
                                                                              auth):
    from sqlalchemy import update

    from engine import accounts, tasks
    from engine.models import Job
    from tests.engine.factories import reception_task, submit

    platform.settings.run_jobs_after_commit = False  # the slip job waits for the worker
    code = submit(platform)
    tasks.complete(platform, accounts.find_user(platform, "motcua"),
                   reception_task(platform, code), {"reception_decision": "accept"})
    auth.login("doanhnghiep")
    page = text(client.get(f"/ho-so/{code}"))
    assert "Văn bản đang chuẩn bị" in page and "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in page
    assert "Đang chuẩn bị" in page
    assert "Being prepared" in text(client.get(f"/ho-so/{code}?lang=en"))
    with platform.db.transaction() as session:
        session.execute(update(Job).values(status="failed", last_error="RuntimeError: no seal"))
    page = text(client.get(f"/ho-so/{code}?lang=vi"))
    assert "Đang chuẩn bị" in page and "no seal" not in page  # the applicant just waits
    auth.logout()
    auth.login("motcua")
    page = text(client.get(f"/ho-so/{code}?lang=vi"))
    assert "Không tạo được" in page and "RuntimeError: no seal" in page


def test_a_rejected_supplement_keeps_its_file(auth, client):
    auth.login()
    code = submit_application(auth)
    auth.logout()
    auth.login("motcua")
    complete(auth, task_id_for(auth, code), {
        "reception_decision": "supplement", "reason": "Thiếu chữ ký",
        "supplement_items": "Giấy đề nghị có chữ ký"})
    auth.logout()
    auth.login()
    html = text(client.get(f"/ho-so/{code}"))
    task_id = int(re.search(r'href="/workspace/tasks/(\d+)">Bổ sung hồ sơ<', html).group(1))
    response = complete(auth, task_id, {
        "supplement_note": "",
        "application_letter": (BytesIO(pdf("signed")), "don-da-ky.pdf", "application/pdf")})
    html = text(response)
    assert 'id="f-supplement_note-error"' in html
    assert "Tệp đã đính kèm: <strong>don-da-ky.pdf</strong>" in html
    assert "các tệp đã được chấp nhận vẫn được giữ lại" in html and "chọn lại" not in html
    kept = dict(re.findall(r'name="([a-z_]+__kept)" value="([^"]+)"', html))
    response = complete(auth, task_id, {"supplement_note": "Đã ký lại", **kept})
    assert response.status_code == 302
    assert "don-da-ky.pdf" in text(client.get(f"/ho-so/{code}"))


def test_a_file_of_the_wrong_type_and_a_field_error_are_reported_together(auth, client):
    auth.login()
    values = application_form({**APPLICATION, "company_name": "", "phone": "12"})
    values["manager_qualification"] = (BytesIO(b"MZ\x90\x00 not a document"), "bang-cap.exe",
                                       "application/octet-stream")
    html = text(auth.post(APPLY_URL, values, page=APPLY_URL,
                          content_type="multipart/form-data"))
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert re.findall(r'href="#f-([a-z_]+)"', summary) == [
        "company_name", "phone", "manager_qualification"]
    assert "ví dụ 0912345678" in summary and ".pdf, .png" in summary  # what is expected
    # the acceptable files stay attached; the refused one is not kept
    assert "Tệp đã đính kèm: <strong>application_letter.pdf</strong>" in html
    assert "bang-cap.exe</strong>" not in html
