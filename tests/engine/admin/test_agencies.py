"""Agencies (engine/admin/agencies.py): created, edited and audited, checked field by field, in a
hierarchy without loops; an agency still referenced is closed, not deleted."""

import pytest

from engine.admin.agencies import get_agency, list_agencies, remove_agency, save_agency
from engine.errors import InvalidData
from tests.engine.admin.kit import NEW, PROVINCE, TRANSPORT, events, fields, receivers


def test_creating_an_agency_checks_every_field_at_once(platform):
    with pytest.raises(InvalidData) as error:
        save_agency(platform, {"code": "SGTVT-01", "name_vi": "", "email": "không-phải",
                                     "parent_code": "000.99.99.H56"}, actor="quantri")
    problems = fields(error)
    assert set(problems) == {"code", "name_vi", "email", "parent_code"}
    assert "QCVN 102:2016" in problems["code"]
    with pytest.raises(InvalidData) as error:
        save_agency(platform, {"code": TRANSPORT, "name_vi": "Trùng"}, actor="quantri")
    assert "Đã có cơ quan" in fields(error)["code"]


def test_an_agency_is_created_edited_and_audited(platform):
    saved = save_agency(platform, {
        "code": NEW, "name_vi": "Sở Xây dựng tỉnh Thanh Hóa", "name_en": "Department of "
        "Construction", "kind": "department", "parent_code": PROVINCE,
        "email": "sxd@thanhhoa.gov.vn", "address": "Số 36 Đại lộ Lê Lợi"}, actor="quantri")
    assert saved["parent_code"] == PROVINCE and saved["active"] is True
    edited = save_agency(platform, {**saved, "name_vi": "Sở Xây dựng", "active": "on"},
                               code=NEW, actor="quantri")
    assert edited["name_vi"] == "Sở Xây dựng"
    [created] = events(platform, "admin_agency_create")
    [update] = events(platform, "admin_agency_update")
    assert created.actor == "quantri" and created.detail["before"] is None
    assert update.detail["before"]["name_vi"] == "Sở Xây dựng tỉnh Thanh Hóa"
    assert update.detail["after"]["name_vi"] == "Sở Xây dựng"
    rows = list_agencies(platform, "xây dựng")
    assert [(r["code"], r["depth"], r["parent_name"]) for r in rows] == [
        (NEW, 1, "Ủy ban nhân dân tỉnh Thanh Hóa")]
    # An agency without references is deleted outright.
    assert remove_agency(platform, NEW, actor="quantri")["deleted"] is True
    assert list_agencies(platform, NEW) == []


def test_an_agency_cannot_be_put_under_its_own_sub_agency(platform):
    values = get_agency(platform, "000.00.20.H56")
    with pytest.raises(InvalidData) as error:
        save_agency(platform, {**values, "parent_code": "000.10.20.H56", "active": "on"},
                          code="000.00.20.H56", actor="quantri")
    assert "trực thuộc chính nó" in fields(error)["parent_code"]


def test_the_hierarchy_lists_sub_agencies_under_their_parents(platform):
    rows = list_agencies(platform)
    codes = [r["code"] for r in rows]
    assert codes[0] == PROVINCE and rows[0]["depth"] == 0
    district = codes.index("000.00.20.H56")
    assert codes[district + 1] == "000.10.20.H56" and rows[district + 1]["depth"] == 2


def test_a_referenced_agency_is_closed_not_deleted(platform):
    result = remove_agency(platform, TRANSPORT, actor="quantri")
    assert result["closed"] and not result["deleted"]
    assert {"users", "roles", "procedures"} <= set(result["references"])
    assert get_agency(platform, TRANSPORT)["active"] is False
    assert receivers(platform) == []
    [event] = events(platform, "admin_agency_close")
    assert event.detail["before"]["active"] is True and event.detail["after"]["active"] is False
