"""The analysts' studio through the Flask test client: who may open it, validating and
deploying a diagram, the form editor's preview, versions and their diff, a dossier on its
diagram, moving dossiers between versions.

The diagram is edited here as text (the browser test edits it in bpmn-js)."""

from __future__ import annotations

import json
import os
import re
import time
from html import unescape

import pytest

from engine import tasks, versions
from tests.engine.factories import PROCEDURE, submit
from tests.engine.test_whatif import _counts, history  # noqa: F401  (history: a fixture)
from tests.scenario import open_task, user
from tests.web.test_pages import AuthActions
from web import create_app

BASE = f"/studio/procedures/{PROCEDURE}"
EDITOR = f"{BASE}/versions/1"


@pytest.fixture
def app(platform):
    return create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def diagram(platform, number: int = 1) -> str:
    return versions.get_version(platform, PROCEDURE, number)["files"]["process.bpmn"]


def post_json(auth, url: str, body: dict):
    """POST JSON with the session's CSRF token in the header, as the studio's scripts do."""
    return auth.client.post(url, json=body, headers={"X-CSRF-Token": auth.token("/studio/"),
                                                     "Accept": "application/json"})


def with_due(xml: str, expression: str) -> str:
    """The diagram with Task_Receive's ``dueIn`` replaced."""
    before = "working_days(3, dossier['received_at'])"
    assert before in xml
    return xml.replace(before, expression)


# -- who may open what ---------------------------------------------------------------------

PAGES = ["/studio/", BASE, f"{EDITOR}/edit", f"{EDITOR}/diagram.bpmn", f"{BASE}/diff?a=1&b=1",
         f"{EDITOR}/forms/forms/receive.json", f"{BASE}/migrate"]
ACTIONS = [f"{EDITOR}/validate", f"{EDITOR}/deploy", f"{EDITOR}/draft", f"{BASE}/draft/discard",
           f"{EDITOR}/forms", f"{EDITOR}/forms/forms/receive.json", "/studio/form-preview",
           f"{BASE}/migrate"]


@pytest.mark.parametrize("url", PAGES)
def test_studio_pages_are_for_analysts(auth, url):
    response = auth.client.get(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    for username in ("doanhnghiep", "motcua"):  # a firm, an officer who is no analyst
        auth.login(username)
        assert auth.client.get(url).status_code == 403, username
        auth.logout()
    auth.login("phantich")
    assert auth.client.get(url).status_code == 200


@pytest.mark.parametrize("url", ACTIONS)
def test_studio_actions_are_for_analysts(auth, url):
    response = auth.post(url, page="/auth/login")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    auth.login("motcua")
    assert auth.post(url, page="/workspace/").status_code == 403


def test_only_analysts_see_the_studio_in_the_menu(auth):
    auth.login("motcua")
    assert "Thiết kế quy trình" not in text(auth.client.get("/workspace/"))
    auth.logout()
    auth.login("phantich")
    page = text(auth.client.get("/studio/"))
    assert "Thiết kế quy trình" in page
    assert "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô" in page and "system" in page


def test_bpmn_js_is_served_from_node_modules(client):
    with client.get("/studio/vendor/bpmn-modeler.production.min.js") as response:
        assert response.status_code == 200 and "javascript" in response.mimetype
    with client.get("/studio/vendor/assets/bpmn-js.css") as response:
        assert response.status_code == 200 and response.mimetype == "text/css"
    assert client.get("/studio/vendor/../../package.json").status_code == 404


def test_without_npm_ci_the_pages_say_how_to_install_bpmn_js(platform, tmp_path):
    app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True,
                      "STUDIO_ASSETS_DIR": str(tmp_path / "nothing")})
    auth = AuthActions(app.test_client())
    assert auth.client.get("/studio/vendor/bpmn-modeler.production.min.js").status_code == 404
    auth.login("phantich")
    page = text(auth.client.get(f"{EDITOR}/edit"))
    assert "make setup" in page and "bpmn-modeler" not in page


def test_the_editor_offers_roles_operators_and_forms(auth):
    auth.login("phantich")
    page = text(auth.client.get(f"{EDITOR}/edit"))
    for expected in ('value="reception"', 'value="handler"', 'value="forms/receive.json"',
                     'data-operator="notify"', 'data-param="new_due_at"', 'value="licence"',
                     "bpmn-modeler.production.min.js"):
        assert expected in page, expected
    # bpmn-js runs under the site's policy: this site's files only, nothing inline.
    policy = auth.client.get(f"{EDITOR}/edit").headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe" not in policy


# -- validate and deploy -------------------------------------------------------------------

def test_validate_puts_an_unknown_lane_on_its_element(platform, auth):
    auth.login("phantich")
    xml = diagram(platform).replace('name="reception"', 'name="tiep_nhan"')
    answer = post_json(auth, f"{EDITOR}/validate", {"xml": xml}).get_json()
    assert answer["valid"] is False
    [problem] = [e for e in answer["errors"] if "tiep_nhan" in e["message"]]
    assert problem["element_id"] == "Task_Receive"
    assert problem["related"] == ["Lane_Reception"]


def test_validate_puts_a_broken_condition_on_its_gateway_and_flow(platform, auth):
    auth.login("phantich")
    xml = diagram(platform).replace("reception_decision == 'accept'",
                                    "reception_decision = 'accept'")
    answer = post_json(auth, f"{EDITOR}/validate", {"xml": xml}).get_json()
    [problem] = answer["errors"]
    assert problem["element_id"] == "Gateway_Reception"
    assert "Flow_Reception_Accept" in problem["related"]


def test_validate_locates_a_schema_error_by_its_line(platform, auth):
    auth.login("phantich")
    xml = diagram(platform).replace('<bpmn:userTask id="Task_Receive"',
                                    '<bpmn:userTask id="Task_Receive" bogus="1"')
    answer = post_json(auth, f"{EDITOR}/validate", {"xml": xml}).get_json()
    assert answer["valid"] is False
    assert answer["errors"][0]["element"].startswith("line ")
    assert answer["errors"][0]["element_id"] == "Task_Receive"


def test_validate_accepts_the_diagram_as_it_is(platform, auth):
    auth.login("phantich")
    answer = post_json(auth, f"{EDITOR}/validate", {"xml": diagram(platform)}).get_json()
    assert answer == {"valid": True, "message": "Hợp lệ: không có lỗi.", "errors": [],
                      "warnings": []}


def test_validate_needs_a_diagram(auth):
    auth.login("phantich")
    response = post_json(auth, f"{EDITOR}/validate", {"diagram": "?"})
    assert response.status_code == 400
    assert "xml" in response.get_json()["message"]


def test_deploy_creates_version_2_and_the_same_again_is_unchanged(platform, auth):
    auth.login("phantich")
    xml = with_due(diagram(platform), "working_days(2, dossier['received_at'])")
    response = post_json(auth, f"{EDITOR}/deploy", {"xml": xml})
    assert response.status_code == 201
    body = response.get_json()
    assert body["created"] is True and body["version"] == 2
    assert "phiên bản 2" in body["message"]
    assert body["urls"]["deploy_url"].endswith("/versions/2/deploy")
    rows = versions.list_versions(platform, PROCEDURE)
    assert [(r["number"], r["deployed_by"], r["active"]) for r in rows] == [
        (2, "phantich", True), (1, "system", False)]

    again = post_json(auth, f"{EDITOR}/deploy", {"xml": xml})
    assert again.status_code == 200
    assert again.get_json()["created"] is False and again.get_json()["version"] == 2
    assert "không tạo phiên bản mới" in again.get_json()["message"]
    assert len(versions.list_versions(platform, PROCEDURE)) == 2


def test_deploy_recognises_the_same_diagram_written_differently(platform, auth):
    """bpmn-js re-indents and reorders the drawing when it saves: no new version for that."""
    auth.login("phantich")
    xml = diagram(platform)
    shapes = re.findall(r"\s*<bpmndi:BPMNShape .*?</bpmndi:BPMNShape>", xml, re.S)
    rewritten = xml.replace(shapes[0], "").replace(shapes[1], shapes[1] + shapes[0])
    rewritten = re.sub(r"\n( +)<", lambda m: "\n" + m.group(1)[: len(m.group(1)) // 2] + "<",
                       rewritten)
    assert rewritten != xml
    answer = post_json(auth, f"{EDITOR}/deploy", {"xml": rewritten})
    assert answer.status_code == 200 and answer.get_json()["created"] is False


def test_deploy_refuses_an_invalid_diagram_with_located_errors(platform, auth):
    auth.login("phantich")
    xml = diagram(platform).replace('name="reception"', 'name="tiep_nhan"')
    response = post_json(auth, f"{EDITOR}/deploy", {"xml": xml})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["element_id"] == "Task_Receive"
    assert len(versions.list_versions(platform, PROCEDURE)) == 1


def test_a_saved_draft_reopens_in_the_editor_until_discarded(platform, auth):
    auth.login("phantich")
    xml = with_due(diagram(platform), "working_days(4)")
    assert post_json(auth, f"{EDITOR}/draft", {"xml": xml}).status_code == 200
    assert "working_days(4)" in text(auth.client.get(f"{EDITOR}/diagram.bpmn?draft=1"))
    assert "working_days(4)" not in text(auth.client.get(f"{EDITOR}/diagram.bpmn"))
    assert "bản nháp" in text(auth.client.get(BASE))
    auth.post(f"{BASE}/draft/discard", {"number": "1"}, page=f"{EDITOR}/edit")
    assert "working_days(4)" not in text(auth.client.get(f"{EDITOR}/diagram.bpmn?draft=1"))


# -- the form editor -----------------------------------------------------------------------

def test_form_preview_renders_the_fields(platform, auth):
    auth.login("phantich")
    schema = versions.get_version(platform, PROCEDURE)["files"]["forms/receive.json"]
    answer = post_json(auth, "/studio/form-preview", {"schema": schema, "lang": "en"}).get_json()
    assert answer["valid"] is True and answer["errors"] == []
    assert 'name="reception_decision"' in answer["html"] and "Accept" in answer["html"]


def test_form_preview_reports_an_invalid_schema_with_its_message(auth):
    auth.login("phantich")
    bad = {"type": "object", "properties": {"age": {"type": "integr"}}}
    answer = post_json(auth, "/studio/form-preview", {"schema": json.dumps(bad)}).get_json()
    assert answer["valid"] is False and answer["html"] is None
    [first, *_rest] = answer["errors"]
    assert "'integr' không khớp lược đồ nào được phép" in first["message"]
    assert first["path"] == "properties/age/type"
    english = post_json(auth, "/studio/form-preview?lang=en",
                        {"schema": json.dumps(bad)}).get_json()
    assert "'integr' is not valid under any of the given schemas" in english["errors"][0][
        "message"]


def test_form_preview_reports_a_json_syntax_error_with_its_line(auth):
    auth.login("phantich")
    answer = post_json(auth, "/studio/form-preview",
                       {"schema": '{\n  "type": "object",\n  "properties": {,}\n}'}).get_json()
    [error] = answer["errors"]
    assert error["line"] == 3 and "dòng 3" in error["message"]


def test_a_saved_form_is_deployed_with_the_diagram(platform, auth):
    auth.login("phantich")
    page = f"{EDITOR}/forms/forms/receive.json"
    schema = json.loads(versions.get_version(platform, PROCEDURE)["files"]["forms/receive.json"])
    schema["title"] = "Kiểm tra hồ sơ (mẫu mới)"
    edited = json.dumps(schema, ensure_ascii=False, indent=2)
    response = auth.post(page, {"schema": edited, "action": "save"}, page=page)
    assert response.status_code == 302
    assert "bản nháp" in text(auth.client.get(page))
    assert "forms/receive.json" in text(auth.client.get(f"{EDITOR}/edit"))

    deployed = post_json(auth, f"{EDITOR}/deploy", {"xml": diagram(platform)}).get_json()
    assert deployed["created"] is True
    files = versions.get_version(platform, PROCEDURE, deployed["version"])["files"]
    assert json.loads(files["forms/receive.json"])["title"] == "Kiểm tra hồ sơ (mẫu mới)"
    assert "bản nháp" not in text(auth.client.get(BASE))  # the draft went out with it


def test_an_invalid_form_is_not_saved(platform, auth):
    auth.login("phantich")
    page = f"{EDITOR}/forms/forms/receive.json"
    response = auth.post(page, {"schema": '{"type": "object", "required": "x"}',
                                "action": "save"}, page=page)
    assert response.status_code == 422
    assert "không thuộc kiểu 'array'" in text(response)
    assert "bản nháp" not in text(auth.client.get(BASE))


def test_a_new_form_starts_from_a_skeleton(auth):
    auth.login("phantich")
    response = auth.post(f"{EDITOR}/forms", {"name": "tham-dinh-lai"}, page=f"{EDITOR}/edit")
    assert response.headers["Location"].endswith("/forms/forms/tham-dinh-lai.json")
    assert '"type": "object"' in text(auth.client.get(response.headers["Location"]))
    bad = auth.post(f"{EDITOR}/forms", {"name": "../x"}, page=f"{EDITOR}/edit")
    assert bad.headers["Location"].endswith("/edit")
    assert auth.client.get(f"{EDITOR}/forms/procedure.yaml").status_code == 404


# -- versions ------------------------------------------------------------------------------

def test_the_versions_diff_shows_the_change(platform, auth):
    auth.login("phantich")
    xml = with_due(diagram(platform), "working_days(2, dossier['received_at'])")
    post_json(auth, f"{EDITOR}/deploy", {"xml": xml})
    page = text(auth.client.get(f"{BASE}/diff?a=1&b=2"))
    assert "Thay đổi từ phiên bản 1 đến phiên bản 2" in page
    assert "Task_Receive" in page and "property dueIn" in page
    assert "working_days(3, dossier['received_at'])" in page
    assert "working_days(2, dossier['received_at'])" in page
    assert "process.bpmn" in page
    assert '"Task_Receive": "studio-diff-changed"' in page  # marked on the drawing
    versions_page = text(auth.client.get(BASE))
    assert "So với bản 1" in versions_page and "phantich" in versions_page


# -- a dossier on its diagram --------------------------------------------------------------

def test_the_trace_page_for_the_agency_staff_and_not_for_citizens(platform, auth):
    code = submit(platform)
    url = f"/studio/dossiers/{code}"
    auth.login("motcua")
    page = text(auth.client.get(url))
    assert code in page and "Kiểm tra, tiếp nhận hồ sơ" in page
    data = json.loads(re.search(r'id="diagram-data">(.*?)</script>', page, re.S).group(1))
    assert data["bpmn"].startswith("<?xml")
    assert "Start_Submitted" in data["completed"]
    assert [a["element"] for a in data["active"]] == ["Task_Receive"]
    assert data["active"][0]["role_label"] == "Cán bộ tiếp nhận (một cửa)"
    assert url in text(auth.client.get(f"/ho-so/{code}"))  # linked from the dossier page
    auth.logout()

    auth.login("doanhnghiep")  # the applicant: a firm, not staff
    assert auth.client.get(url).status_code == 403
    assert url not in text(auth.client.get(f"/ho-so/{code}"))
    auth.logout()
    auth.login("congdan")
    assert auth.client.get(url).status_code == 403
    auth.logout()
    auth.login("phantich")
    assert auth.client.get(url).status_code == 200
    assert auth.client.get("/studio/dossiers/000.00.14.H56-000000-9999").status_code == 404


def test_the_trace_shows_who_holds_a_claimed_task(platform, auth):
    code = submit(platform)
    tasks.claim(platform, user(platform, "motcua"), open_task(platform, code, "Task_Receive").id)
    auth.login("phantich")
    page = text(auth.client.get(f"/studio/dossiers/{code}"))
    assert "Lê Văn Tiếp" in page


# -- moving dossiers -----------------------------------------------------------------------

def test_dossiers_move_to_a_new_version(platform, auth):
    code = submit(platform)
    auth.login("phantich")
    xml = with_due(diagram(platform), "working_days(2, dossier['received_at'])")
    assert post_json(auth, f"{EDITOR}/deploy", {"xml": xml}).status_code == 201
    before = open_task(platform, code, "Task_Receive").due_at

    page = text(auth.client.get(f"{BASE}/migrate?to=2"))
    assert code in page and "Có thể chuyển" in page

    nothing = auth.post(f"{BASE}/migrate", {"to": "2"}, page=f"{BASE}/migrate")
    assert "Chưa chọn hồ sơ nào" in text(nothing)

    done = text(auth.post(f"{BASE}/migrate", {"to": "2", "dossier": code},
                          page=f"{BASE}/migrate"))
    assert "Đã chuyển 1/1 hồ sơ sang phiên bản 2" in done
    assert [(r["number"], r["dossiers"]) for r in versions.list_versions(platform, PROCEDURE)] \
        == [(2, 1), (1, 0)]
    assert open_task(platform, code, "Task_Receive").due_at < before  # the new dueIn


def test_a_version_without_running_dossiers_says_so(auth):
    auth.login("phantich")
    page = text(auth.client.get(f"{BASE}/migrate"))
    assert "Không có hồ sơ nào có thể chuyển" in page
    assert auth.client.get(f"{BASE}/migrate?to=9").status_code == 404


def test_validation_speaks_the_page_language_and_warns_of_suspicious_choices(platform, auth):
    auth.login("phantich")
    xml = diagram(platform).replace(
        '<bpmn:lane id="Lane_Head" name="head">', '<bpmn:lane id="Lane_Head" name="giam_doc">')
    answer = post_json(auth, f"{EDITOR}/validate?lang=vi", {"xml": xml}).get_json()
    lane = next(e for e in answer["errors"] if e["element"] == "Task_Approve")
    assert lane["message"].startswith("làn 'giam_doc' không phải vai trò đã biết")
    assert "Lane_Head" in lane["related"]
    answer = post_json(auth, f"{EDITOR}/validate?lang=en", {"xml": xml}).get_json()
    lane = next(e for e in answer["errors"] if e["element"] == "Task_Approve")
    assert lane["message"].startswith("lane 'giam_doc' is not a known role")
    no_form = diagram(platform).replace(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="forms/approve.json" />', '')
    answer = post_json(auth, f"{EDITOR}/validate?lang=vi", {"xml": no_form}).get_json()
    assert answer["valid"] is True
    assert [(w["element_id"], w["message"][:35]) for w in answer["warnings"]] == [
        ("Task_Approve", "tác vụ người dùng không có biểu mẫu")]


def test_the_role_picker_lists_roles_by_name(platform, auth):
    auth.login("phantich")
    page = text(auth.client.get(f"{EDITOR}/edit?lang=vi"))
    options = re.findall(r'<option value="([a-z_]+)">([^<]+) \(\1\)</option>', page)
    names = [name for _code, name in options]
    assert names[0] == "Người nộp hồ sơ" and len(names) > 3
    assert names[1:] == sorted(names[1:], key=str.casefold)


def test_the_form_builder_reads_writes_and_says_why_it_cannot(platform, auth):
    auth.login("phantich")
    receive = versions.get_version(platform, PROCEDURE, 1)["files"]["forms/receive.json"]
    built = post_json(auth, "/studio/form-builder/read", {"schema": receive}).get_json()
    assert [f["name"] for f in built["form"]["fields"]] == [
        "reception_decision", "reason", "supplement_items"]
    built["form"]["fields"][1]["title"] = "Lý do từ chối"
    answer = post_json(auth, "/studio/form-builder/write",
                       {"form": built["form"], "lang": "vi"}).get_json()
    assert answer["errors"] == []
    assert json.loads(answer["schema"])["properties"]["reason"]["title"] == "Lý do từ chối"
    assert "Lý do từ chối" in answer["html"]
    nested = json.dumps({"type": "object", "properties": {
        "address": {"type": "object", "properties": {}}}})
    refused = post_json(auth, "/studio/form-builder/read?lang=vi", {"schema": nested}).get_json()
    assert refused["form"] is None and "address" in refused["reason"]


@pytest.mark.usefixtures("history")
def test_what_if_runs_as_a_job_and_reports_beside_the_drafts_diff(platform, auth):
    auth.login("phantich")
    xml = diagram(platform).replace('name="Kết quả kiểm tra?"', 'name="Kết quả kiểm tra hồ sơ?"')
    assert post_json(auth, f"{EDITOR}/draft", {"xml": xml}).status_code == 200
    before = _counts(platform)
    started = auth.client.post(f"{EDITOR}/whatif", data={
        "csrf_token": auth.token(f"{EDITOR}/whatif"), "choice": "months", "months": "3"})
    assert started.status_code == 302
    job = started.headers["Location"]
    for _ in range(300):
        page = text(auth.client.get(job))
        if 'http-equiv="refresh"' not in page:
            break
        time.sleep(0.1)
    assert 'id="whatif-completed">3<' in page
    assert _counts(platform) == before  # the job wrote to no table
    assert "Không hồ sơ nào dừng lại." in page
    assert "Kết quả kiểm tra hồ sơ?" in page  # the draft's change, beside the report
    assert auth.client.get(job.replace(job.rsplit("/", 1)[1], "0" * 16)).status_code == 404


def test_a_test_run_takes_decisions_by_hand_and_stores_nothing(platform, auth):
    auth.login("phantich")
    url = f"{EDITOR}/test-run"
    before = _counts(platform)
    start = text(auth.client.get(url))
    assert "Dữ liệu mẫu của đơn (JSON)" in start
    token = auth.token(url)
    sample = re.search(r'<textarea id="application"[^>]*>(.*?)</textarea>', start, re.S).group(1)
    auth.client.post(url, data={"csrf_token": token, "action": "start", "application": sample})
    page = text(auth.client.get(url))
    assert 'data-step="Task_Receive"' in page and 'name="reception_decision"' in page
    refused = auth.client.post(url, data={
        "csrf_token": token, "action": "decide", "element": "Task_Receive",
        "form": "forms/receive.json", "reception_decision": "refuse"}, follow_redirects=True)
    assert "flash--error" in text(refused) and 'data-step="Task_Receive"' in text(refused)
    auth.client.post(url, data={
        "csrf_token": token, "action": "decide", "element": "Task_Receive",
        "form": "forms/receive.json", "reception_decision": "refuse",
        "reason": "Chưa đủ điều kiện."})
    page = text(auth.client.get(url))
    assert "Hồ sơ chạy thử đã kết thúc." in page
    drawing = json.loads(re.search(r'id="diagram-data">(.*?)</script>', page, re.S).group(1))
    assert "Task_Receive" in drawing["completed"] and drawing["taken_flows"]
    assert _counts(platform) == before


def test_a_what_if_job_that_died_is_told_as_such(platform, auth):
    auth.login("phantich")
    user_id = user(platform, "phantich").id
    path = platform.settings.data_dir / "studio-whatif" / str(user_id) / ("a" * 16 + ".json")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"state": "running", "code": PROCEDURE, "number": 1,
                                "done": 3, "total": 9}), encoding="utf-8")
    page = text(auth.client.get(f"{EDITOR}/whatif/{'a' * 16}"))
    assert 'http-equiv="refresh"' in page and "3 / 9" in page
    os.utime(path, (time.time() - 3600, time.time() - 3600))
    page = text(auth.client.get(f"{EDITOR}/whatif/{'a' * 16}"))
    assert 'http-equiv="refresh"' not in page and "dừng giữa chừng" in page
