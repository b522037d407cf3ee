"""Choosing the receiving agency when several receive a procedure (the district finance
offices): the portal's select, the API's ``agency`` field, and the errors when the choice
is missing or not one of them."""

from __future__ import annotations

import io
import json
import re

import pytest
import yaml
from sqlalchemy import select

from engine import accounts, dossiers
from engine.errors import InvalidData
from engine.models import Agency, Procedure, ProcedureAgency
from engine.procedures import deploy_bundle
from tests.web.test_api import Api
from tests.web.test_pages import AuthActions
from web import create_app

OFFICES = ["000.10.20.H56", "000.10.21.H56", "000.10.22.H56"]  # TP Thanh Hóa, Bỉm Sơn, Sầm Sơn
DEPARTMENT = "000.00.13.H56"
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="toy_offices" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="reception"><bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:manualTask id="check" name="Kiểm tra"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:manualTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FORM = {"type": "object", "required": ["unit"],
        "properties": {"unit": {"type": "string", "title": "Tên đơn vị"}}}


def deploy(p, code: str, offices: list[str]) -> str:
    """A toy procedure of the Department, received by ``offices`` (none: the Department)."""
    meta = {"code": code, "name": {"vi": f"Thủ tục thử {code}", "en": f"Test {code}"},
            "agency": DEPARTMENT, "level": 4, "deadline": {"value": 3, "unit": "working_days"},
            "application_form": "forms/application.json", "process_id": "toy_offices"}
    deploy_bundle(p, {"procedure.yaml": yaml.safe_dump(meta, allow_unicode=True),
                      "forms/application.json": json.dumps(FORM), "process.bpmn": DIAGRAM})
    with p.db.transaction() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == code)).scalar_one()
        session.query(ProcedureAgency).filter_by(procedure_id=procedure.id).delete()
        for office in offices:
            agency = session.execute(select(Agency).where(Agency.code == office)).scalar_one()
            session.add(ProcedureAgency(procedure_id=procedure.id, agency_id=agency.id))
    return code


@pytest.fixture
def app(platform):
    deploy(platform, "toy-offices", OFFICES)
    deploy(platform, "toy-department", [])
    return create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})


@pytest.fixture
def auth(app):
    return AuthActions(app.test_client())


@pytest.fixture
def api(app):
    return Api(app.test_client())


def text(response) -> str:
    return response.get_data(as_text=True)


# -- the engine --------------------------------------------------------------------------

def test_submit_needs_a_choice_among_several_and_takes_the_only_one(app, platform):
    user = accounts.find_user(platform, "congdan")
    with pytest.raises(InvalidData) as caught:
        dossiers.submit(platform, user, "toy-offices", {"unit": "Trường A"})
    assert caught.value.status == 422 and caught.value.details[0]["field"] == "agency"
    assert caught.value.vi == "Hãy chọn cơ quan tiếp nhận hồ sơ."

    with pytest.raises(InvalidData) as caught:  # a real agency, but not one of them
        dossiers.submit(platform, user, "toy-offices", {"unit": "Trường A"},
                        agency_code=DEPARTMENT)
    assert caught.value.details[0]["field"] == "agency"

    result = dossiers.submit(platform, user, "toy-offices", {"unit": "Trường A"},
                             agency_code=OFFICES[1])
    assert result["code"].startswith(f"{OFFICES[1]}-") and result["agency"] == OFFICES[1]
    assert dossiers.get_dossier(platform, result["code"], user=user)["agency"]["code"] == OFFICES[1]

    only = dossiers.submit(platform, user, "toy-department", {"unit": "Trường B"})
    assert only["code"].startswith(f"{DEPARTMENT}-")


def test_a_closed_office_receives_nothing(app, platform):
    with platform.db.transaction() as session:
        session.execute(select(Agency).where(Agency.code == OFFICES[0])).scalar_one().active = False
    user = accounts.find_user(platform, "congdan")
    with pytest.raises(InvalidData):
        dossiers.submit(platform, user, "toy-offices", {"unit": "Trường A"},
                        agency_code=OFFICES[0])


def test_a_procedure_whose_offices_are_all_closed_is_not_sent_to_its_department(app, platform):
    deploy(platform, "toy-closed", [OFFICES[0]])
    with platform.db.transaction() as session:
        session.execute(select(Agency).where(Agency.code == OFFICES[0])).scalar_one().active = False
    user = accounts.find_user(platform, "congdan")
    with pytest.raises(InvalidData, match="no receiving agency"):
        dossiers.submit(platform, user, "toy-closed", {"unit": "Trường A"})
    with pytest.raises(InvalidData, match="no receiving agency"):
        dossiers.submit(platform, user, "toy-closed", {"unit": "Trường A"},
                        agency_code=DEPARTMENT)


# -- the portal --------------------------------------------------------------------------

APPLY = "/thu-tuc/toy-offices/nop"


def test_the_apply_page_offers_the_receiving_agencies(auth):
    auth.login("congdan")
    html = text(auth.client.get(APPLY))
    options = re.findall(r'<option value="(000\.[^"]+)"', html)
    assert options == OFFICES
    assert "Cơ quan tiếp nhận hồ sơ" in html and "Phòng Tài chính – Kế hoạch TX Bỉm Sơn" in html
    # one receiving agency: nothing to choose
    assert 'name="receiving_agency"' not in text(auth.client.get("/thu-tuc/toy-department/nop"))


def test_a_missing_choice_shows_the_form_again_with_the_values_kept(auth):
    auth.login("congdan")
    refused = auth.post(APPLY, {"unit": "Trường Tiểu học Đông Sơn"}, page=APPLY)
    assert refused.status_code == 200
    html = text(refused)
    assert "Hãy chọn cơ quan tiếp nhận hồ sơ." in html
    assert 'id="receiving-agency-error"' in html and "Trường Tiểu học Đông Sơn" in html

    done = auth.post(APPLY, {"unit": "Trường Tiểu học Đông Sơn", "receiving_agency": OFFICES[2]},
                     page=APPLY, follow_redirects=True)
    assert done.status_code == 200 and done.request.path.startswith(f"/ho-so/{OFFICES[2]}-")


def test_the_choice_is_kept_when_another_field_is_wrong(auth):
    auth.login("congdan")
    html = text(auth.post(APPLY, {"receiving_agency": OFFICES[1]}, page=APPLY))
    assert re.search(rf'<option value="{re.escape(OFFICES[1])}" selected>', html)


# -- the API -----------------------------------------------------------------------------

def test_the_api_takes_the_agency_as_json_or_multipart(api):
    missing = api.post("/dossiers", "congdan", json={"procedure": "toy-offices",
                                                     "data": {"unit": "Trường C"}})
    assert missing.status_code == 422
    assert missing.json["details"][0]["field"] == "agency"

    wrong = api.post("/dossiers", "congdan", json={"procedure": "toy-offices", "agency": "x",
                                                   "data": {"unit": "Trường C"}})
    assert wrong.status_code == 422

    made = api.post("/dossiers", "congdan", json={"procedure": "toy-offices",
                                                  "agency": OFFICES[0], "data": {"unit": "C"}})
    assert made.status_code == 201 and made.json["agency"] == OFFICES[0]
    assert made.json["code"].startswith(f"{OFFICES[0]}-")

    multipart = api.post("/dossiers", "congdan", content_type="multipart/form-data", data={
        "procedure": "toy-offices", "agency": OFFICES[2], "data": json.dumps({"unit": "D"}),
        "unused": (io.BytesIO(b""), "")})
    assert multipart.status_code == 201, multipart.json
    assert multipart.json["code"].startswith(f"{OFFICES[2]}-")

    not_text = api.post("/dossiers", "congdan", json={"procedure": "toy-offices", "agency": 7,
                                                      "data": {"unit": "E"}})
    assert not_text.status_code == 400


def test_the_openapi_spec_documents_the_agency_field(api):
    spec = api.get("/openapi.json").json
    assert "agency" in spec["components"]["schemas"]["Submission"]["properties"]
    multipart = spec["paths"]["/dossiers"]["post"]["requestBody"]["content"][
        "multipart/form-data"]["schema"]
    assert "agency" in multipart["properties"]
