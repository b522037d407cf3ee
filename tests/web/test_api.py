"""The JSON API over HTTP: auth, catalogue, the transport licence journey, conflicts, errors.

Nothing here knows the procedure's fields: file fields come from the application form's
schema (GET /procedures/…), the data each officer enters from the bundle's own
approve-and-sign scenario, checked against each task's form schema (GET /tasks/…).
"""

from __future__ import annotations

import functools
import io
import json
import re
import threading
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from pyhanko.pdf_utils.reader import PdfFileReader

REPO = Path(__file__).resolve().parents[2]
PROCEDURE = "transport-business-licence"


def tiny_pdf(label: str) -> bytes:
    """A small, well-formed one-page PDF."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.4\n% " + label.encode() + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1,
                                                                               xref)
    return bytes(out)


# -- the bundle's own happy path ------------------------------------------------------------

@functools.cache
def scenario() -> dict:
    """The bundle's approve-and-sign scenario: the application and each officer's form data."""
    path = REPO / "bpmn" / PROCEDURE / "scenarios" / "approve-and-sign.yaml"
    walk = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert all("task" in step and "as" in step for step in walk["steps"]), "only task steps"
    return walk


def file_fields(schema: dict) -> list[str]:
    return [name for name, prop in schema.get("properties", {}).items()
            if prop.get("format") == "document"]


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def app(platform):
    from web import create_app

    return create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})


class Api:
    """The test client, logging users in by name and remembering their tokens."""

    def __init__(self, client):
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            response = self.client.post("/api/v1/auth/token",
                                        json={"username": username, "password": "demo"})
            assert response.status_code == 200, response.json
            self.tokens[username] = response.json["token"]
        return self.tokens[username]

    def call(self, method: str, path: str, user: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path, user=None, **kwargs):
        return self.call("GET", path, user, **kwargs)

    def post(self, path, user=None, **kwargs):
        return self.call("POST", path, user, **kwargs)


@pytest.fixture
def api(app):
    return Api(app.test_client())


def submit_licence(api: Api, user: str = "doanhnghiep") -> str:
    """Submit the scenario's application as multipart with a small PDF per file field."""
    form = api.get(f"/procedures/{PROCEDURE}").json["form"]
    names = file_fields(form)
    assert names, "the application form has no file fields (format: document)"
    body = {"procedure": PROCEDURE,
            "data": json.dumps(scenario()["application"], ensure_ascii=False)}
    body.update({name: (io.BytesIO(tiny_pdf(name)), f"{name}.pdf", "application/pdf")
                 for name in names})
    response = api.post("/dossiers", user, data=body, content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    return response.json["code"]


def task_on(api: Api, user: str, code: str) -> dict:
    """The one task ``user`` can act on for dossier ``code``, with its form."""
    found = [t for t in api.get("/tasks", user).json if t["dossier_code"] == code]
    assert len(found) == 1, (user, found)
    return api.get(f"/tasks/{found[0]['id']}", user).json


def first_step(api: Api, code: str) -> tuple[dict, dict]:
    """The reception task of dossier ``code`` and the scenario's data for it."""
    step = scenario()["steps"][0]
    return task_on(api, step["as"], code), step["data"]


# -- tests ------------------------------------------------------------------------------------

def test_token_is_issued_for_right_password_only(api):
    assert api.post("/auth/token", json={"username": "congdan", "password": "demo"}).json["token"]
    response = api.post("/auth/token", json={"username": "congdan", "password": "wrong"})
    assert response.status_code == 401
    assert set(response.json) == {"error", "message", "message_vi", "details"}


def test_malformed_json_is_a_clear_400(api):
    response = api.post("/auth/token", data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json["message"]


def test_catalogue_lists_the_transport_licence_with_its_form(api):
    codes = {p["code"] for p in api.get("/procedures").json}
    assert PROCEDURE in codes
    procedure = api.get(f"/procedures/{PROCEDURE}").json
    assert procedure["level"] in (3, 4) and procedure["form"]["properties"]
    assert api.get("/procedures/no-such-procedure").status_code == 404


PROTECTED = [("GET", "/tasks"), ("GET", "/tasks/1"), ("POST", "/tasks/1/claim"),
             ("POST", "/tasks/1/complete"), ("POST", "/dossiers"), ("POST", "/procedures"),
             ("GET", "/documents/1"), ("POST", "/verify"), ("GET", "/stats")]


def test_calls_without_a_valid_token_get_401_with_a_bearer_challenge(api):
    for method, path in PROTECTED:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            response = api.call(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.json)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.json["error"] == "Unauthorized"


def test_the_transport_licence_journey_over_http(api):
    code = submit_licence(api)
    assert api.get(f"/dossiers/{code}", "doanhnghiep").json["status"] == "submitted"
    signers = []
    for step in scenario()["steps"]:
        user = step["as"]
        task = task_on(api, user, code)
        assert set(step["data"]) <= set(task["form"]["properties"]), (task["title"], step)
        if step.get("claim"):
            assert api.post(f"/tasks/{task['id']}/claim", user).status_code == 200
        if task.get("sign_document"):  # signing steps go as multipart, the others as JSON
            signers.append(user)
            response = api.post(f"/tasks/{task['id']}/complete", user,
                                content_type="multipart/form-data",
                                data={"data": json.dumps(step["data"]), "passphrase": "demo"})
        else:
            response = api.post(f"/tasks/{task['id']}/complete", user, json={"data": step["data"]})
        assert response.status_code == 200, (user, task["title"], response.json)
        if "status" in step.get("expect", {}):
            status = api.get(f"/dossiers/{code}", "doanhnghiep").json["status"]
            assert status == step["expect"]["status"], (task["title"], status)
    assert signers == ["chuyenvien", "lanhdao"]
    dossier = api.get(f"/dossiers/{code}", "doanhnghiep").json
    assert dossier["status"] == "processed"

    licence = next(d for d in dossier["documents"] if d["signatures"] == 2)
    response = api.get(f"/documents/{licence['id']}", "doanhnghiep")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    assert licence["filename"] in response.headers["Content-Disposition"]

    report = api.post("/verify", "doanhnghiep", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(response.data), "licence.pdf")}).json
    # the two officers, then the agency's seal, last
    assert report["ok"] is True, report
    assert [s["field"] for s in report["signatures"]] == ["sig1", "sig2", "seal"]
    assert report["signatures"][-1]["signer"] == "Sở Giao thông vận tải tỉnh Thanh Hóa"
    assert all(s["intact"] and s["valid"] and s["trusted"] and not s["modified_after"]
               for s in report["signatures"])
    assert all(datetime.fromisoformat(s["signed_at"]) for s in report["signatures"])
    # no timestamp authority configured here: PAdES baseline without timestamp
    assert [(s["level"], s["timestamp"]) for s in report["signatures"]] == [("B-B", None)] * 3

    first = PdfFileReader(io.BytesIO(response.data)).embedded_signatures[0]
    cut = response.data[:sum(list(first.byte_range)[2:])]  # the head's signature removed
    report = api.post("/verify", "doanhnghiep", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(cut), "licence.pdf")}).json
    assert report["ok"] is False
    assert [s["signed"] for s in report["signatures"]] == [True, False, False]


def test_anonymous_lookup_needs_the_applicants_id_number(api, platform):
    code = submit_licence(api)
    firm = api.get(f"/dossiers/{code}", "doanhnghiep").json
    assert firm["code"] == code
    assert api.get(f"/dossiers/{code}").status_code in (403, 404)
    assert api.get(f"/dossiers/{code}", query_string={"id_number": "000"}).status_code in (403,
                                                                                          404)
    from engine import accounts

    id_number = accounts.authenticate(platform, "doanhnghiep", "demo").id_number
    response = api.get(f"/dossiers/{code}", query_string={"id_number": id_number})
    assert response.status_code == 200 and response.json["code"] == code


def _second_reception_officer(platform) -> str:
    """Another officer with exactly the reception officer's roles."""
    from engine import accounts

    motcua = accounts.authenticate(platform, "motcua", "demo")
    with platform.db.transaction() as session:
        accounts.create_user(session, username="motcua2", password="demo",
                             full_name="Cán bộ một cửa 2", kind="staff",
                             agency_code=motcua.agency_code, roles=list(motcua.roles))
    return "motcua2"


def test_two_officers_completing_one_task_get_one_200_and_one_409(api, app, platform):
    other = _second_reception_officer(platform)
    code = submit_licence(api)
    task, data = first_step(api, code)
    tokens = {u: api.token(u) for u in ("motcua", other)}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def complete(username: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data},
                               headers={"Authorization": f"Bearer {tokens[username]}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=complete, args=(u,)) for u in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]


def test_a_task_claimed_by_one_officer_cannot_be_completed_by_another(api, platform):
    other = _second_reception_officer(platform)
    code = submit_licence(api)
    task, data = first_step(api, code)
    assert api.post(f"/tasks/{task['id']}/claim", "motcua").status_code == 200
    response = api.post(f"/tasks/{task['id']}/complete", other, json={"data": data})
    assert response.status_code == 409
    assert response.json["error"] == "Conflict"
    assert api.post(f"/tasks/{task['id']}/claim", other).status_code == 409


def test_invalid_data_gets_422_with_field_errors(api):
    code = submit_licence(api)
    task, _ = first_step(api, code)
    response = api.post(f"/tasks/{task['id']}/complete", "motcua", json={"data": {}})
    assert response.status_code == 422
    assert response.json["details"] and all("field" in d and "message" in d
                                            for d in response.json["details"])
    response = api.post("/dossiers", "doanhnghiep", json={"procedure": PROCEDURE, "data": {}})
    assert response.status_code == 422
    assert {d["field"] for d in response.json["details"]}


def test_a_citizen_may_not_read_statistics(api):
    assert api.get("/stats", "congdan").status_code == 403
    assert api.get("/stats", "lanhdao").status_code == 200
    period = {"start": "2025-01-01", "end": "2025-12-31", "procedure": PROCEDURE}
    assert api.get("/stats", "lanhdao", query_string=period).status_code == 200
    response = api.get("/stats", "lanhdao", query_string={"start": "01/01/2025"})
    assert response.status_code == 400
    assert api.get("/stats", "chuyenvien").status_code == 403  # a handler is no leader


def test_statistics_keys_scope_and_bad_input(api):
    body = api.get("/stats", "lanhdao").json
    assert body["agency"] == "000.00.14.H56"  # the head's own agency by default
    for key in ("received", "by_channel", "processed_on_time", "processed_late",
                "share_on_time", "electronic_results", "share_online", "scorecard"):
        assert key in body
    assert set(body["by_channel"]) == {"online", "counter", "post"}
    assert set(body["scorecard"]) == {"transparency", "progress", "online", "digitisation",
                                      "satisfaction"}
    assert api.get("/stats", "quantri").json["agency"] == "000.00.00.H56"
    backwards = api.get("/stats", "quantri", query_string={"start": "2026-12-31",
                                                           "end": "2026-12-01"})
    assert backwards.status_code == 422 and "trước ngày bắt đầu" in backwards.json["message_vi"]
    unknown = api.get("/stats", "quantri", query_string={"agency": "000.99.99.H56"})
    assert unknown.status_code == 404 and unknown.json["details"][0]["field"] == "agency"
    other = api.get("/stats", "lanhdao", query_string={"agency": "000.00.13.H56"})
    assert other.status_code == 403


def test_openapi_paths_are_exactly_the_blueprints_routes(app, api):
    spec = api.get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes.setdefault(path, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: {m.upper() for m in ops} for path, ops in spec["paths"].items()}
    assert documented == routes
    schemas = spec["components"]["schemas"]
    for schema in ("Procedure", "Dossier", "Task", "Error", "VerificationReport", "Token"):
        assert schema in schemas
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs <= set(schemas), refs - set(schemas)


def test_a_malformed_bundle_is_refused_with_its_problems(api):
    folder = REPO / "bpmn" / PROCEDURE
    files = {str(path.relative_to(folder)): path.read_text(encoding="utf-8")
             for path in folder.rglob("*") if path.is_file()}
    assert api.post("/procedures", "doanhnghiep", json={"files": files}).status_code == 403

    ok = api.post("/procedures", "phantich", query_string={"check": "1"}, json={"files": files})
    assert ok.status_code == 200 and ok.json["code"] == PROCEDURE

    broken = {**files, "process.bpmn": files["process.bpmn"].replace("</bpmn:process>", "", 1)}
    response = api.post("/procedures", "phantich", json={"files": broken})
    assert response.status_code == 422
    assert response.json["details"]
    assert all({"file", "element", "message"} <= set(d) for d in response.json["details"])
    assert any(d["file"] == "process.bpmn" for d in response.json["details"])


def test_redeploying_the_same_bundle_as_multipart_is_unchanged(api):
    folder = REPO / "bpmn" / PROCEDURE
    data = {f"file{i}": (io.BytesIO(path.read_bytes()), str(path.relative_to(folder)))
            for i, path in enumerate(p for p in folder.rglob("*") if p.is_file())}
    response = api.post("/procedures", "phantich", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    assert response.json["created"] is False


def test_an_oversized_upload_gets_413_json_naming_the_limit(app, api):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = api.post("/dossiers", "doanhnghiep", content_type="multipart/form-data",
                        data={"procedure": PROCEDURE,
                              "file": (io.BytesIO(b"%PDF-" + b"x" * 8192), "big.pdf")})
    assert response.status_code == 413
    assert response.json["error"] == "RequestEntityTooLarge"
    assert "4 KB" in response.json["message"] and "4 KB" in response.json["message_vi"]


def test_unknown_api_paths_and_methods_answer_json(api):
    response = api.get("/no-such-thing")
    assert response.status_code == 404 and response.json["error"] == "NotFound"
    response = api.call("DELETE", "/procedures")
    assert response.status_code == 405 and "GET" in response.json["details"]["allowed"]


def test_a_signing_task_without_the_passphrase_is_refused(api):
    """Walk to the first signing step, then try it without a passphrase."""
    code = submit_licence(api)
    for step in scenario()["steps"]:
        task = task_on(api, step["as"], code)
        if task.get("sign_document"):
            response = api.post(f"/tasks/{task['id']}/complete", step["as"],
                                json={"data": step["data"]})
            assert response.status_code == 422, response.json
            assert api.post(f"/tasks/{task['id']}/complete", step["as"],
                            json={"data": step["data"], "passphrase": "wrong"}).status_code == 422
            return
        if step.get("claim"):
            api.post(f"/tasks/{task['id']}/claim", step["as"])
        assert api.post(f"/tasks/{task['id']}/complete", step["as"],
                        json={"data": step["data"]}).status_code == 200
    pytest.fail("the scenario has no signing step")


def test_browsers_get_the_error_page_and_api_clients_json(app):
    client = app.test_client()
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    data = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert data.status_code == 404 and data.json["error"] == "NotFound"


def test_an_unexpected_error_is_logged_and_answered_generically(platform, caplog):
    from web import create_app

    app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})

    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/boom", "boom", boom)
    app.add_url_rule("/boom", "page_boom", boom)
    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json["error"] == "InternalServerError"
    incident = response.json["incident"]
    assert re.fullmatch(r"[0-9a-f]{12}", incident)
    assert incident in response.json["message"] and incident in response.json["message_vi"]
    assert "secret" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text
    [record] = [r for r in caplog.records if incident in r.getMessage()]
    assert record.exc_info and record.exc_info[0] is RuntimeError  # the traceback is logged

    page = app.test_client().get("/boom", headers={"Accept": "text/html"})
    assert page.status_code == 500 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    [other] = re.findall(r"\b[0-9a-f]{12}\b", text)
    assert other != incident and "secret" not in text
    assert any(other in r.getMessage() for r in caplog.records)


def test_the_task_list_pages_with_a_next_link(api, platform):
    """A small inbox is one page without a Link header (what clients always got); a large
    one comes 50 at a time, each page pointing at the next, every task exactly once."""
    from tests.engine.factories import TaskRows

    code = submit_licence(api)
    first = api.get("/tasks", "motcua")
    assert first.status_code == 200 and len(first.json) == 1
    assert "Link" not in first.headers and "X-Next-Cursor" not in first.headers
    rows = TaskRows(platform)
    added = {rows.add(code, role="reception", due=i % 4) for i in range(60)}
    seen, path, pages = [], "/tasks", 0
    while path:
        response = api.get(path, "motcua")
        assert response.status_code == 200
        seen += [t["id"] for t in response.json]
        pages += 1
        link = response.headers.get("Link")
        if link:
            url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
            assert response.headers["X-Next-Cursor"] in url
            path = url.removeprefix("/api/v1")
        else:
            path = None
    assert pages == 2 and len(seen) == len(set(seen)) == 61 and added < set(seen)
    small = api.get("/tasks", "motcua", query_string={"limit": "25"})
    assert len(small.json) == 25 and "limit=25" in small.headers["Link"]
    for bad in ({"limit": "0"}, {"limit": "51"}, {"limit": "x"}, {"after": "garbage!"}):
        response = api.get("/tasks", "motcua", query_string=bad)
        assert response.status_code == 400, bad
        assert response.json["details"][0]["field"] in bad
