"""What an attacker or a bad input finds: each answered with a clear 4xx, never a 500,
and nothing leaks. (Throttling and sessions: test_auth.py.)"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from engine import accounts, clock
from tests.engine.factories import submit
from tests.web.test_api import Api, first_step, scenario
from tests.web.test_pages import app, auth, client, text  # noqa: F401  (fixtures)

PROCEDURE = "transport-business-licence"
ERROR_KEYS = {"error", "message", "message_vi", "details"}


@pytest.fixture
def api(client):  # noqa: F811
    return Api(client)


def test_login_goes_back_only_to_a_page_of_this_site(auth, client):  # noqa: F811
    for target in ("/\t/evil.example", "/\n/x", "/\\evil.example", "//evil.example",
                   "https://evil.example/"):
        client.get("/")  # a fresh page for a fresh token
        response = client.post("/auth/login", data={
            "username": "congdan", "password": "demo", "next": target,
            "csrf_token": auth.token()})
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/ho-so", target
        auth.logout()
    response = client.post("/auth/login", data={
        "username": "congdan", "password": "demo", "next": "/thu-tuc?q=a%20b",
        "csrf_token": auth.token()})
    assert response.headers["Location"] == "/thu-tuc?q=a%20b"


def test_malformed_bodies_get_400_with_the_usual_error_body(api):
    token = api.token("doanhnghiep")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def submission(data: str) -> str:
        return '{"procedure": "' + PROCEDURE + '", "data": ' + data + "}"

    bodies = {
        "deep": '{"username": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "long number": submission('{"vehicle_count": ' + "9" * 5000 + "}"),
        "huge float": submission('{"vehicle_count": 1e999}'),
        "NaN": submission('{"vehicle_count": NaN}'),
        "lone surrogate": submission('{"company_name": "\\ud800"}'),
        "NUL": '{"procedure": "x\\u0000", "data": {}}',
    }
    for name, body in bodies.items():
        for path in ("/api/v1/auth/token", "/api/v1/dossiers"):
            response = api.client.post(path, data=body, headers=headers)
            assert response.status_code == 400, (name, path, response.json)
            assert set(response.json) == ERROR_KEYS, name
            assert response.json["message_vi"], name


def test_nul_and_ids_beyond_the_id_columns_in_addresses_are_4xx(api):
    for big in (str(2**31), str(2**64)):  # ids are 32-bit INTEGER columns on PostgreSQL
        for path, user in ((f"/tasks/{big}", "motcua"), (f"/documents/{big}", "doanhnghiep"),
                           (f"/tasks/{big}/claim", "motcua")):
            method = "POST" if path.endswith("claim") else "GET"
            response = api.call(method, path, user)
            assert response.status_code == 404, path
            assert set(response.json) == ERROR_KEYS
    for path in ("/dossiers/abc%00def", f"/procedures/{PROCEDURE}%00"):
        response = api.get(path, "doanhnghiep")
        assert response.status_code == 400 and "NUL" in response.json["message"], path
    response = api.get("/dossiers/X", query_string={"id_number": "1\x002"})
    assert response.status_code == 400
    assert api.client.get("/tra-cuu?code=a%00&id_number=1").status_code == 400


def test_control_characters_are_refused_at_input_and_the_register_still_exports(
        api, auth, client, platform):  # noqa: F811
    form = api.get(f"/procedures/{PROCEDURE}").json["form"]
    data = {**scenario()["application"], "company_name": "Công ty\u0001 Vận tải"}
    files = {name: (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), f"{name}.pdf", "application/pdf")
             for name, prop in form["properties"].items() if prop.get("format") == "document"}
    response = api.post("/dossiers", "doanhnghiep", content_type="multipart/form-data",
                        data={"procedure": PROCEDURE, "data": json.dumps(data), **files})
    assert response.status_code == 422
    assert [d["field"] for d in response.json["details"]] == ["company_name"]
    # a dossier from before the check, with a NUL-free control character in its name
    code = submit(platform, data={"company_name": "Công ty Hồng Đức"})
    from sqlalchemy import update

    from engine.models import Dossier, User

    with platform.db.transaction() as session:
        session.execute(update(User).where(User.username == "doanhnghiep")
                        .values(full_name="Công ty\x01 Hồng Đức"))
        session.execute(update(Dossier).where(Dossier.code == code)
                        .values(data={**scenario()["application"],
                                      "company_name": "Công ty\x01 Hồng Đức"}))
    auth.login("motcua")
    today = clock.now().date()
    for fmt in ("xlsx", "csv"):
        response = client.get("/workspace/so-theo-doi-ho-so", query_string={
            "agency": "000.00.14.H56", "start": (today - timedelta(days=7)).isoformat(),
            "end": (today + timedelta(days=1)).isoformat(), "format": fmt})
        assert response.status_code == 200, fmt
        assert code.encode() in response.data or fmt == "xlsx"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # said once


def test_a_document_field_holding_text_is_refused(api):
    data = {**scenario()["application"]}
    form = api.get(f"/procedures/{PROCEDURE}").json["form"]
    documents = [n for n, p in form["properties"].items() if p.get("format") == "document"]
    data.update({name: "not-a-file" for name in documents})
    response = api.post("/dossiers", "doanhnghiep", json={"procedure": PROCEDURE, "data": data})
    assert response.status_code == 422
    assert {d["field"] for d in response.json["details"]} >= set(documents)


def test_the_anonymous_api_look_up_shows_what_the_look_up_page_shows(api, platform):
    code = submit(platform)
    task, data = first_step(api, code)
    api.post(f"/tasks/{task['id']}/claim", "motcua")
    assert api.post(f"/tasks/{task['id']}/complete", "motcua",
                    json={"data": data}).status_code == 200
    applicant = accounts.find_user(platform, "doanhnghiep")
    full = api.get(f"/dossiers/{code}", "motcua").json  # the agency's view: everything
    assert full["data"] and full["history"][0]["actor"]
    public = api.get(f"/dossiers/{code}", query_string={"id_number": applicant.id_number}).json
    assert public["code"] == code and public["status"] == full["status"]
    assert public["due_at"] == full["due_at"] and public["history"]
    said = json.dumps(public, ensure_ascii=False)
    for secret in ("0912345678", "doanhnghiep@example.vn", "motcua", applicant.full_name,
                   "Hồng Đức"):
        assert secret not in said, secret
    for key in ("data", "documents", "notifications", "applicant", "preparing"):
        assert key not in public
    assert all("actor" not in event for event in public["history"])
    assert all("assignee" not in step and "task_id" not in step for step in public["steps"])
    # the page shows the same dossier
    page = text(api.client.get("/tra-cuu", query_string={"code": code,
                                                         "id_number": applicant.id_number}))
    assert code in page


def test_statistics_of_an_agency_are_for_its_own_staff(api, platform):
    transport, other = "000.00.14.H56", "000.00.13.H56"
    assert api.get("/stats", "lanhdao", query_string={"agency": transport}).status_code == 200
    response = api.get("/stats", "motcua", query_string={"agency": other})
    assert response.status_code == 403 and set(response.json) == ERROR_KEYS
    assert api.get("/stats", "quantri", query_string={"agency": other}).status_code == 200


def test_the_openapi_description_lists_every_answer(api):
    spec = api.get("/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert {"400", "500"} <= set(operation["responses"]), (method, path)
            if method == "post":
                assert "422" in operation["responses"], path
    assert "incident" in spec["components"]["schemas"]["Error"]["properties"]


def test_deploy_check_before_init_says_what_to_do(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from web.cli import cli

    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MOTCUA_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    bundle = Path(__file__).resolve().parents[2] / "bpmn" / PROCEDURE
    result = CliRunner().invoke(cli, ["deploy", str(bundle), "--check"], prog_name="motcua")
    assert result.exit_code == 2
    assert "motcua init" in result.output and "Traceback" not in result.output
