"""Who receives which procedure (engine/admin/procedure_agencies.py): procedure.yaml seeds the
mapping once, then it is the administrator's; a closed agency receives nothing."""

import pytest

from engine.admin.agencies import get_agency, remove_agency, save_agency
from engine.admin.procedure_agencies import get_procedure_agencies, set_procedure_agencies
from engine.errors import InvalidData
from engine.procedures import deploy_bundle, get_procedure
from tests.engine.admin.kit import PROVINCE, TRANSPORT, events, fields, receivers
from tests.engine.factories import PROCEDURE
from tests.engine.test_bundles import replace


def district_bundle(agencies: str = "{kind: district_finance}"):
    """The transport bundle as another procedure received by agencies of procedure.yaml."""
    return replace("procedure.yaml", "code: transport-business-licence",
                   f"code: district-test\nagencies: {agencies}")


def test_a_procedure_without_mapping_is_received_by_its_main_agency(platform):
    assert receivers(platform) == [TRANSPORT]
    assert get_procedure(platform, PROCEDURE)["agencies"][0]["code"] == TRANSPORT


def test_procedure_yaml_seeds_the_mapping_once_and_then_it_is_the_administrators(platform):
    deploy_bundle(platform, district_bundle())
    seeded = receivers(platform, "district-test")
    assert len(seeded) == 27 and all(code.startswith("000.10.") for code in seeded)

    set_procedure_agencies(platform, "district-test", agency_codes=seeded[:2],
                                 main_code=PROVINCE, actor="quantri")
    changed = district_bundle().copy()
    changed["procedure.yaml"] = changed["procedure.yaml"].replace("deadline: {value: 5",
                                                                  "deadline: {value: 6")
    assert deploy_bundle(platform, changed)["version"] == 2
    assert receivers(platform, "district-test") == seeded[:2]  # redeploy overwrote nothing
    view = get_procedure_agencies(platform, "district-test")
    assert view["agency_code"] == PROVINCE
    [event] = events(platform, "admin_procedure_agencies")
    assert len(event.detail["before"]["mapped"]) == 27 and event.detail["after"]["mapped"] == seeded[:2]


def test_procedure_yaml_naming_an_unknown_agency_is_refused(platform):
    from engine.errors import InvalidBundle

    with pytest.raises(InvalidBundle) as error:
        deploy_bundle(platform, district_bundle('["000.10.20.H56", "999.99.99.H56"]'),
                      check_only=True)
    assert error.value.details == [{"file": "procedure.yaml", "element": "agencies",
                                    "message": "no agency with code '999.99.99.H56'",
                                    "message_vi": "không có cơ quan mã '999.99.99.H56'"}]
    with pytest.raises(InvalidBundle) as error:
        deploy_bundle(platform, district_bundle("42"), check_only=True)
    assert error.value.details[0]["element"] == "agencies"


def test_a_closed_agency_receives_nothing(platform):
    set_procedure_agencies(platform, PROCEDURE, agency_codes=[TRANSPORT, "000.10.45.H56"],
                                 main_code=TRANSPORT, actor="quantri")
    result = remove_agency(platform, "000.10.45.H56", actor="quantri")
    assert result["closed"] and not result["deleted"]
    assert set(result["references"]) == {"receives"}
    assert receivers(platform) == [TRANSPORT]
    # A closed agency already ticked may stay ticked; it receives nothing while closed.
    set_procedure_agencies(platform, PROCEDURE, agency_codes=["000.10.46.H56",
                                                                    "000.10.45.H56"],
                                 main_code=TRANSPORT, actor="quantri")
    assert receivers(platform) == ["000.10.46.H56"]
    set_procedure_agencies(platform, PROCEDURE, agency_codes=[], main_code=TRANSPORT,
                                 actor="quantri")
    closed = get_agency(platform, "000.10.46.H56")
    save_agency(platform, {**closed, "active": ""}, code="000.10.46.H56", actor="quantri")
    with pytest.raises(InvalidData) as error:
        set_procedure_agencies(platform, PROCEDURE, agency_codes=["000.10.46.H56"],
                                     main_code=TRANSPORT, actor="quantri")
    assert "000.10.46.H56 đã ngừng hoạt động" in fields(error)["agencies"]
