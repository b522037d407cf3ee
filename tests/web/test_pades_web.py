"""Timestamped, sealed results end to end: officers sign through the portal with the TSA
stand-in the app serves at /sandbox/tsa (real HTTP, waitress), the agency seals last, and
the verify page, the API and ``motcua verify`` report each signature's level and time; an
unreachable TSA signs nothing and leaves the step open."""

# ruff: noqa: F811
from __future__ import annotations

import io
import re
import socket
from pathlib import Path

import pytest
import yaml

from engine import tasks
from engine.errors import InvalidData
from engine.models import Document
from signing.pki import trust_roots
from signing.verify import verify_pdf
from tests.engine.test_slips import slip
from tests.scenario import latest_document, open_task, run_scenario, user
from tests.serving import serve
from tests.web.test_citizen_pages import accepted_dossier
from tests.web.test_pages import (  # noqa: F401  (fixtures)
    app,
    auth,
    client,
    complete,
    submit_application,
    task_id_for,
    text,
)
from web import create_app

REPO = Path(__file__).resolve().parents[2]
SEAL = "Sở Giao thông vận tải tỉnh Thanh Hóa"


def scenario(steps: int | None = None) -> dict:
    data = yaml.safe_load((REPO / "bpmn/transport-business-licence/scenarios/"
                           "approve-and-sign.yaml").read_text(encoding="utf-8"))
    if steps is not None:
        data["steps"] = data["steps"][:steps]
    return data


def licence(p, code: str) -> Document:
    return latest_document(p, code, "licence")


def test_a_licence_signed_with_the_portals_tsa_is_sealed_and_long_term(platform, run,
                                                                      tmp_path):
    platform.settings.tsa_url = "http://portal/sandbox/tsa"  # mounts the stand-in
    app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})
    with serve(app) as base:
        platform.settings.tsa_url = f"{base}/sandbox/tsa"
        code = run_scenario(platform, scenario())
    pdf = platform.storage.get(licence(platform, code).storage_key)

    report = verify_pdf(pdf, trust_roots(platform.pki_dir))
    assert report.ok, report.error
    assert [(s.field, s.signer) for s in report.signatures] == [
        ("sig1", "Trần Minh Thụ"), ("sig2", "Phạm Quang Duyệt"), ("seal", SEAL)]
    assert [s.level for s in report.signatures] == ["B-LT"] * 3
    assert all(s.timestamp is not None for s in report.signatures)

    client = app.test_client()
    page = client.get("/xac-minh")
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(page)).group(1)
    html = text(client.post("/xac-minh", data={"csrf_token": token,
                                                "file": (io.BytesIO(pdf), "giay-phep.pdf")},
                            content_type="multipart/form-data"))
    assert "Văn bản hợp lệ" in html
    assert html.count("B-LT — có dấu thời gian và dữ liệu kiểm tra lâu dài") == 3
    assert html.count("do tổ chức cấp dấu thời gian xác nhận") == 3

    path = tmp_path / "giay-phep.pdf"
    path.write_bytes(pdf)
    result = run("verify", path)
    assert result.exit_code == 0, result.output
    assert result.output.count("Mức PAdES / PAdES level: B-LT") == 3
    stamped = re.findall(r"Dấu thời gian / Timestamp: (\S+)", result.output)
    assert len(stamped) == 3 and all(t.endswith("+07:00") for t in stamped)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_tsa_signs_nothing_and_leaves_the_step_open(platform):
    code = run_scenario(platform, scenario(steps=3))  # approved, waiting for signatures
    platform.settings.tsa_url = f"http://127.0.0.1:{_closed_port()}/tsa"
    platform.settings.tsa_timeout_seconds = 2
    task = open_task(platform, code, "Task_SignHandler")
    with pytest.raises(InvalidData) as refused:
        tasks.complete(platform, user(platform, "chuyenvien"), task.id, {"confirm": True},
                       passphrase="demo")
    assert "cannot be reached" in str(refused.value)
    assert "dấu thời gian" in refused.value.vi and "được giữ" in refused.value.vi
    assert [d["field"] for d in refused.value.details] == ["sign_document"]
    assert open_task(platform, code, "Task_SignHandler").id == task.id
    assert licence(platform, code).signatures == 0

    platform.settings.tsa_url = "standin"  # the TSA is back: the same step signs
    tasks.complete(platform, user(platform, "chuyenvien"), task.id, {"confirm": True},
                   passphrase="demo")
    signed = licence(platform, code)
    report = verify_pdf(platform.storage.get(signed.storage_key), trust_roots(platform.pki_dir))
    assert signed.signatures == 1
    assert [(s.field, s.signed, s.level) for s in report.signatures] == [
        ("sig1", True, "B-T"), ("sig2", False, ""), ("seal", False, "")]


def test_the_signing_page_says_the_tsa_failed_and_keeps_the_step(platform, auth, client):
    auth.login()
    code = submit_application(auth)
    for username, data in [("motcua", {"reception_decision": "accept"}),
                           ("chuyenvien", {"recommendation": "approve", "licence_number":
                                           "GP-56-0002", "appraisal_notes": "Đủ điều kiện."}),
                           ("lanhdao", {"head_decision": "approve"})]:
        auth.logout()
        auth.login(username)
        assert complete(auth, task_id_for(auth, code), data).status_code == 302
    auth.logout()
    auth.login("chuyenvien")
    task_id = task_id_for(auth, code)
    platform.settings.tsa_url = f"http://127.0.0.1:{_closed_port()}/tsa"
    platform.settings.tsa_timeout_seconds = 2
    response = complete(auth, task_id, {"confirm": "true", "passphrase": "demo"})
    html = text(response)
    assert response.status_code == 200
    assert "Không lấy được dấu thời gian" in html and "văn bản chưa được ký" in html
    assert 'id="passphrase-error"' not in html  # the passphrase was right
    assert task_id_for(auth, code) == task_id  # still waiting in the inbox
    assert licence(platform, code).signatures == 0  # nothing was signed or stored


def test_a_slip_is_timestamped_and_long_term_too(platform):
    platform.settings.tsa_url = "standin"
    _doc, pdf = slip(platform, accepted_dossier(platform), "01")
    report = verify_pdf(pdf, trust_roots(platform.pki_dir))
    assert report.ok, report.error
    assert [(s.signer, s.level) for s in report.signatures] == [(SEAL, "B-LT")]
    assert report.signatures[0].timestamp is not None
