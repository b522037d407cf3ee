"""Administration: agencies, users, roles, calendar overrides and who receives which
procedure are data an administrator edits, checked before anything is written and audited."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine import accounts, clock
from engine.admin.agencies import get_agency, list_agencies, remove_agency, save_agency
from engine.admin.calendar import add_override, calendar_year, remove_override
from engine.admin.imports import import_agencies, import_users
from engine.admin.procedure_agencies import get_procedure_agencies, set_procedure_agencies
from engine.admin.roles import delete_role, get_role, list_roles, save_role
from engine.admin.users import get_user, reset_password, save_user, set_user_active
from engine.errors import Conflict, InvalidData
from engine.models import AuditEvent, Procedure, User
from engine.procedures import deploy_bundle, get_procedure, receiving_agencies
from tests.engine.factories import PROCEDURE, submit
from tests.engine.test_bundles import replace

TRANSPORT = "000.00.14.H56"
PROVINCE = "000.00.00.H56"
NEW = "000.00.90.H56"


def events(p, action: str) -> list[AuditEvent]:
    with p.db.transaction() as session:
        rows = session.execute(select(AuditEvent).where(AuditEvent.action == action)
                               .order_by(AuditEvent.id)).scalars().all()
        session.expunge_all()
        return rows


def fields(error: pytest.ExceptionInfo) -> dict[str, str]:
    return {d["field"]: d["message_vi"] for d in error.value.details}


def receivers(p, code: str = PROCEDURE) -> list[str]:
    with p.db.transaction() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == code)).scalar()
        return [a.code for a in receiving_agencies(session, procedure)]


def district_bundle(agencies: str = "{kind: district_finance}"):
    """The transport bundle as another procedure received by agencies of procedure.yaml."""
    return replace("procedure.yaml", "code: transport-business-licence",
                   f"code: district-test\nagencies: {agencies}")


# -- which agencies receive a procedure -------------------------------------------------

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


# -- agencies -----------------------------------------------------------------------------

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


AGENCIES_CSV = """code,name_vi,name_en,kind,parent_code,email,address
000.11.47.H56,Phòng Tài chính – Kế hoạch huyện Mới,"Finance Office, New district",district_finance,000.00.47.H56,,
000.00.47.H56,Ủy ban nhân dân huyện Mới,People's Committee of New district,district,000.00.00.H56,ubnd@moi.vn,Thị trấn Mới
000.00.14.H56,Sở Giao thông vận tải tỉnh Thanh Hóa,Thanh Hoa Department of Transport,department,000.00.00.H56,sgtvt@thanhhoa.gov.vn,Số 2 Lê Lợi
"""


def test_importing_agencies_upserts_by_code_in_any_order(platform):
    result = import_agencies(platform, ("\ufeff" + AGENCIES_CSV).encode(), actor="quantri")
    assert result == {"rows": 3, "created": 2, "updated": 1, "unchanged": 0}
    office = get_agency(platform, "000.11.47.H56")
    assert office["parent_code"] == "000.00.47.H56" and office["kind"] == "district_finance"
    assert office["name_en"] == "Finance Office, New district"
    assert get_agency(platform, TRANSPORT)["address"] == "Số 2 Lê Lợi"
    assert len(events(platform, "admin_agency_create")) == 2
    again = import_agencies(platform, AGENCIES_CSV, actor="quantri")
    assert again == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3}


def test_a_bad_agency_file_writes_nothing_and_names_line_and_column(platform):
    bad = AGENCIES_CSV.replace("ubnd@moi.vn", "ubnd-at-moi").replace(
        "000.00.14.H56,Sở", "000.00.14,Sở")
    with pytest.raises(InvalidData) as error:
        import_agencies(platform, bad, actor="quantri")
    where = [(d["line"], d["column"]) for d in error.value.details]
    assert where == [(3, "email"), (4, "code")]
    assert error.value.details[0]["message_vi"].startswith("Dòng 3, cột email:")
    assert error.value.details[0]["message"].startswith("line 3, column email:")
    assert "nothing was written" in error.value.message
    assert list_agencies(platform, "huyện Mới") == []
    assert events(platform, "admin_agency_create") == []


def test_an_agency_file_with_a_bad_header_or_encoding_is_refused(platform):
    with pytest.raises(InvalidData) as error:
        import_agencies(platform, "code,ten\n000.00.47.H56,X\n", actor="quantri")
    assert {(d["line"], d["column"]) for d in error.value.details} == {(1, "ten"), (1, "name_vi")}
    with pytest.raises(InvalidData) as error:
        import_agencies(platform, "code,name_vi\n000.00.47.H56,Hóa".encode("cp1258"),
                              actor="quantri")
    assert "UTF-8" in error.value.details[0]["message"]


# -- users ------------------------------------------------------------------------------

def test_a_new_user_gets_a_one_time_password_and_roles_per_agency(platform):
    result = save_user(platform, {
        "username": "tiepnhan2", "full_name": "Hoàng Thị Nhận", "kind": "staff",
        "email": "tn2@example.vn", "agency_code": TRANSPORT,
        "roles": [f"reception@{TRANSPORT}", f"clerk@{TRANSPORT}"]}, actor="quantri")
    password = result["password"]
    assert password and len(password) >= 12
    user = accounts.authenticate(platform, "tiepnhan2", password)
    assert user.has_role("reception", TRANSPORT) and user.has_role("clerk", TRANSPORT)
    [event] = events(platform, "admin_user_create")
    assert password not in str(event.detail)
    assert event.detail["after"]["roles"] == [f"clerk@{TRANSPORT}", f"reception@{TRANSPORT}"]


def test_editing_a_user_checks_roles_and_agencies(platform):
    values = get_user(platform, "motcua")
    with pytest.raises(InvalidData) as error:
        save_user(platform, {**values, "active": "on", "agency_code": "000.99.99.H56",
                                   "roles": ["reception@000.99.99.H56", "boss@" + TRANSPORT,
                                             "reception"]},
                        username="motcua", actor="quantri")
    details = error.value.details
    assert {d["field"] for d in details} == {"agency_code", "roles"}
    assert len([d for d in details if d["field"] == "roles"]) == 3
    saved = save_user(platform, {**values, "active": "on", "title": "Tổ trưởng",
                                       "roles": [f"head@{TRANSPORT}"]},
                            username="motcua", actor="quantri")
    assert saved["user"]["roles"] == [f"head@{TRANSPORT}"] and saved["password"] is None
    assert accounts.find_user(platform, "motcua").has_role("head", TRANSPORT)


def test_deactivating_and_resetting_a_password(platform):
    set_user_active(platform, "chuyenvien", False, actor="quantri")
    assert accounts.authenticate(platform, "chuyenvien", "demo") is None
    set_user_active(platform, "chuyenvien", True, actor="quantri")
    new = reset_password(platform, "chuyenvien", actor="quantri")
    assert accounts.authenticate(platform, "chuyenvien", "demo") is None
    assert accounts.authenticate(platform, "chuyenvien", new) is not None
    assert [e.detail["user"] for e in events(platform, "admin_user_deactivate")] == ["chuyenvien"]
    assert len(events(platform, "admin_user_password_reset")) == 1


def test_an_administrator_cannot_lock_themselves_out(platform):
    with pytest.raises(Conflict):
        set_user_active(platform, "quantri", False, actor="quantri")
    values = get_user(platform, "quantri")
    with pytest.raises(InvalidData) as error:
        save_user(platform, {**values, "active": "on", "roles": [f"leader@{PROVINCE}"]},
                        username="quantri", actor="quantri")
    assert set(fields(error)) == {"roles"}


USERS_CSV = f"""username,full_name,kind,email,phone,id_number,title,agency_code,roles
thuly2,Ngô Văn Thụ,staff,thuly2@example.vn,0912000111,,Chuyên viên,{TRANSPORT},handler@{TRANSPORT}
motcua,Lê Văn Tiếp,staff,motcua@example.vn,,,Cán bộ tiếp nhận,{TRANSPORT},reception@{TRANSPORT};head@{TRANSPORT}
"""


def test_importing_users_generates_passwords_for_new_ones_only(platform):
    result = import_users(platform, USERS_CSV, actor="quantri")
    assert (result["created"], result["updated"]) == (1, 1)
    [generated] = result["passwords"]
    assert generated["username"] == "thuly2"
    assert accounts.authenticate(platform, "thuly2", generated["password"]).has_role(
        "handler", TRANSPORT)
    motcua = accounts.authenticate(platform, "motcua", "demo")  # kept its password
    assert motcua.has_role("head", TRANSPORT)


def test_a_bad_user_file_writes_nothing(platform):
    bad = USERS_CSV + f"nguoimoi,Người Mới,staff,,,,,{TRANSPORT},reception@{TRANSPORT};sep@{TRANSPORT}\n"
    bad = bad.replace("thuly2,Ngô", "Thu Ly,Ngô")
    with pytest.raises(InvalidData) as error:
        import_users(platform, bad, actor="quantri")
    assert [(d["line"], d["column"]) for d in error.value.details] == [(2, "username"),
                                                                        (4, "roles")]
    assert "không có vai trò 'sep'" in error.value.details[1]["message_vi"]
    with platform.db.transaction() as session:
        assert session.execute(select(User).where(User.username == "nguoimoi")).first() is None
    assert accounts.find_user(platform, "motcua").roles == (("reception", TRANSPORT),)


def test_a_user_file_with_passwords_uses_them(platform):
    text = f"username,full_name,agency_code,roles,password\nvanthu,Đinh Thị Thư,{TRANSPORT},clerk@{TRANSPORT},mật-khẩu-dài\n"
    result = import_users(platform, text, actor="quantri")
    assert result["passwords"] == [] and result["created"] == 1
    assert accounts.authenticate(platform, "vanthu", "mật-khẩu-dài").kind == "staff"


# -- roles ------------------------------------------------------------------------------

def test_roles_list_names_the_procedures_using_them(platform):
    roles = {r["code"]: r for r in list_roles(platform)}
    assert f"{PROCEDURE} v1" in roles["reception"]["procedures"]
    assert roles["admin"]["holders"] == 1
    with pytest.raises(Conflict) as error:
        delete_role(platform, "reception", actor="quantri")
    assert PROCEDURE in error.value.vi


def test_a_role_is_created_renamed_and_deleted(platform):
    with pytest.raises(InvalidData) as error:
        save_role(platform, {"code": "Thủ quỹ", "name_vi": ""}, actor="quantri")
    assert set(fields(error)) == {"code", "name_vi"}
    save_role(platform, {"code": "cashier", "name_vi": "Thủ quỹ"}, actor="quantri")
    save_role(platform, {"name_vi": "Thủ quỹ cơ quan", "name_en": "Cashier"},
                    code="cashier", actor="quantri")
    assert get_role(platform, "cashier")["name_en"] == "Cashier"
    assert "cashier" in [r["code"] for r in accounts.list_roles(platform)]
    delete_role(platform, "cashier", actor="quantri")
    assert "cashier" not in [r["code"] for r in accounts.list_roles(platform)]
    assert [e.action for e in events(platform, "admin_role_delete")] == ["admin_role_delete"]


# -- calendar ---------------------------------------------------------------------------

def test_the_year_shows_the_package_holidays(platform):
    year = calendar_year(platform, 2026)
    days = {h["day"]: h["name"] for h in year["holidays"]}
    assert days[date(2026, 9, 2)] == "Quốc khánh" and date(2026, 4, 30) in days
    assert [w["day"] for w in year["workdays"]] == [date(2026, 8, 22)]  # the make-up Saturday
    assert calendar_year(platform, 2026, lang="en")["holidays"][0]["name"] == "New Year's Day"
    assert year["overrides"] == []


def test_an_override_moves_an_appointment_computed_afterwards(platform):
    # Friday 6 March 2026, 10:00: 5 working days → Friday 13 March 17:00.
    clock.travel_to(datetime(2026, 3, 6, 10, tzinfo=clock.VIETNAM))
    first = datetime.fromisoformat(admin_due(platform))
    assert first.astimezone(clock.VIETNAM).date() == date(2026, 3, 13)
    add_override(platform, {"day": "2026-03-10", "kind": "off", "note": "Bão số 3"},
                       actor="quantri")
    second = datetime.fromisoformat(admin_due(platform))
    assert second.astimezone(clock.VIETNAM).date() == date(2026, 3, 16)
    remove_override(platform, date(2026, 3, 10), actor="quantri")
    third = datetime.fromisoformat(admin_due(platform))
    assert third.astimezone(clock.VIETNAM).date() == date(2026, 3, 13)
    assert [e.detail["after"]["note"] for e in events(platform, "admin_calendar_add")] == ["Bão số 3"]


def admin_due(p) -> str:
    from engine import dossiers

    return dossiers.get_dossier(p, submit(p), user=accounts.find_user(p, "doanhnghiep"))["due_at"]


def test_an_override_that_changes_nothing_is_refused(platform):
    with pytest.raises(InvalidData) as error:
        add_override(platform, {"day": "2026-09-02", "kind": "off"}, actor="quantri")
    assert "vốn đã là ngày nghỉ" in fields(error)["day"]
    with pytest.raises(InvalidData) as error:
        add_override(platform, {"day": "2026-03-11", "kind": "work"}, actor="quantri")
    assert "vốn đã là ngày làm việc" in fields(error)["day"]
    with pytest.raises(InvalidData) as error:
        add_override(platform, {"day": "11/03/2026", "kind": "holiday"}, actor="quantri")
    assert set(fields(error)) == {"day", "kind"}
    add_override(platform, {"day": "2026-03-14", "kind": "work"}, actor="quantri")
    with pytest.raises(InvalidData) as error:
        add_override(platform, {"day": "2026-03-14", "kind": "work"}, actor="quantri")
    assert "đã được điều chỉnh" in fields(error)["day"]
