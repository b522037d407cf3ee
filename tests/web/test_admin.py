"""The administrators' pages, driven like a browser signed in as the demo administrator
``quantri``: forms with CSRF tokens, errors beside their fields, CSV uploads, and 403 for
everyone else."""

# The tests take the portal fixtures imported from test_pages as parameters.
# ruff: noqa: F811

from __future__ import annotations

import re
from datetime import date, datetime
from io import BytesIO

import pytest
from sqlalchemy import select

from engine import accounts, clock
from engine.admin.agencies import get_agency, list_agencies
from engine.admin.procedure_agencies import get_procedure_agencies
from engine.models import AuditEvent
from tests.engine.factories import submit
from tests.web.test_pages import app, auth, client, text  # noqa: F401  (fixtures)

TRANSPORT = "000.00.14.H56"


@pytest.fixture
def quantri(auth):
    auth.login("quantri")
    return auth


def actions(p, prefix: str = "admin_") -> list[tuple[str, str]]:
    with p.db.transaction() as session:
        return [(e.actor, e.action) for e in session.execute(
            select(AuditEvent).where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.id)).scalars()]


def csv_upload(content: str) -> dict:
    return {"file": (BytesIO(content.encode("utf-8")), "data.csv", "text/csv")}


# -- access -----------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/admin/agencies")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["motcua", "phantich", "doanhnghiep"])
def test_everyone_but_administrators_gets_a_clear_403(auth, username):
    auth.login(username)
    for url in ("/admin/", "/admin/users", "/admin/calendar"):
        response = auth.client.get(url)
        assert response.status_code == 403
        assert "chỉ dành cho người có vai trò Quản trị hệ thống" in text(response)
    assert 'href="/admin/"' not in text(auth.client.get("/"))
    response = auth.post("/admin/roles/new", {"code": "hacker", "name_vi": "X"})
    assert response.status_code == 403


def test_the_administrator_sees_the_admin_pages_and_the_nav_link(quantri):
    assert 'href="/admin/"' in text(quantri.client.get("/"))
    for url in ("/admin/", "/admin/agencies", "/admin/agencies/new", f"/admin/agencies/{TRANSPORT}",
                "/admin/agencies/import", "/admin/users", "/admin/users/new",
                "/admin/users/motcua", "/admin/users/import", "/admin/roles",
                "/admin/roles/reception", "/admin/roles/new", "/admin/calendar?year=2026",
                "/admin/procedures", "/admin/procedures/transport-business-licence"):
        response = quantri.client.get(url)
        assert response.status_code == 200, url


def test_a_form_without_its_csrf_token_is_refused(quantri, platform):
    response = quantri.client.post("/admin/roles/new", data={"code": "cashier", "name_vi": "X"})
    assert response.status_code == 400
    assert "cashier" not in [r["code"] for r in accounts.list_roles(platform)]


# -- agencies -----------------------------------------------------------------------------

def test_users_are_found_by_part_of_their_name_in_any_case(quantri):
    page = text(quantri.client.get("/admin/users?q=lê văn"))
    assert "Lê Văn Tiếp" in page and "Trần Minh Thụ" not in page


def test_agencies_are_searched_and_shown_under_their_parents(quantri):
    page = text(quantri.client.get("/admin/agencies?q=Bỉm Sơn"))
    assert "Ủy ban nhân dân TX Bỉm Sơn" in page and "Phòng Tài chính – Kế hoạch TX Bỉm Sơn" in page
    assert "Sầm Sơn" not in page
    assert page.index("000.00.21.H56") < page.index("000.10.21.H56")


def test_a_bad_agency_form_keeps_what_was_typed_and_says_what_is_wrong(quantri, platform):
    response = quantri.post("/admin/agencies/new", {
        "code": "SXD-01", "name_vi": "Sở Xây dựng tỉnh Thanh Hóa", "email": "sxd@",
        "parent_code": "000.00.00.H56"}, page="/admin/agencies/new")
    assert response.status_code == 422
    page = text(response)
    assert 'value="Sở Xây dựng tỉnh Thanh Hóa"' in page and 'value="SXD-01"' in page
    assert re.search(r'id="code-error">[^<]*QCVN 102:2016', page)
    assert re.search(r'id="email-error">[^<]*không phải địa chỉ thư điện tử', page)
    assert list_agencies(platform, "Xây dựng") == []


def test_an_agency_is_created_edited_and_closed(quantri, platform):
    response = quantri.post("/admin/agencies/new", {
        "code": "000.00.90.H56", "name_vi": "Sở Xây dựng tỉnh Thanh Hóa", "kind": "department",
        "parent_code": "000.00.00.H56", "email": "sxd@thanhhoa.gov.vn"}, page="/admin/agencies/new")
    assert response.status_code == 302
    page = "/admin/agencies/000.00.90.H56"
    response = quantri.post(page, {"name_vi": "Sở Xây dựng", "name_en": "Department of "
                                   "Construction", "kind": "department",
                                   "parent_code": "000.00.00.H56", "active": "on"}, page=page)
    assert response.status_code == 302
    assert get_agency(platform, "000.00.90.H56")["name_en"] == "Department of Construction"
    # The transport department is referenced: "remove" closes it.
    response = quantri.post(f"/admin/agencies/{TRANSPORT}/remove", page=page)
    assert response.status_code == 302
    assert get_agency(platform, TRANSPORT)["active"] is False
    assert "ngừng hoạt động" in text(quantri.client.get(f"/admin/agencies/{TRANSPORT}"))
    assert actions(platform) == [("quantri", "admin_agency_create"),
                                 ("quantri", "admin_agency_update"),
                                 ("quantri", "admin_agency_close")]


AGENCIES = """code,name_vi,name_en,kind,parent_code,email,address
000.11.47.H56,Phòng Tài chính – Kế hoạch huyện Mới,,district_finance,000.00.47.H56,,
000.00.47.H56,Ủy ban nhân dân huyện Mới,,district,000.00.00.H56,,
"""


def test_importing_agencies_shows_a_summary(quantri, platform):
    response = quantri.post("/admin/agencies/import", csv_upload(AGENCIES),
                            page="/admin/agencies/import", content_type="multipart/form-data")
    assert response.status_code == 200
    page = text(response)
    assert "Đã nhập xong 2 dòng" in page and "Tạo mới: 2" in page and "Cập nhật: 0" in page
    assert get_agency(platform, "000.11.47.H56")["parent_code"] == "000.00.47.H56"


def test_a_bad_agency_file_writes_nothing_and_names_the_line(quantri, platform):
    bad = AGENCIES.replace("000.00.00.H56", "000.00.99.H56")
    response = quantri.post("/admin/agencies/import", csv_upload(bad),
                            page="/admin/agencies/import", content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "không có dòng nào được ghi" in page
    assert re.search(r"<td>3</td><td class=\"code\">parent_code</td><td>Dòng 3, cột parent_code: "
                     r"Không có cơ quan cấp trên mã '000.00.99.H56'", page)
    assert list_agencies(platform, "huyện Mới") == []
    english = quantri.client.post("/admin/agencies/import?lang=en", data={
        **csv_upload(bad), "csrf_token": quantri.token()}, content_type="multipart/form-data")
    assert "line 3, column parent_code: no agency with code" in text(english)


# -- users ------------------------------------------------------------------------------

def test_a_new_user_is_shown_their_one_time_password_once(quantri, platform):
    response = quantri.post("/admin/users/new", {
        "username": "tiepnhan2", "full_name": "Hoàng Thị Nhận", "kind": "staff",
        "agency_code": TRANSPORT, "new_role_1": "reception", "new_agency_1": TRANSPORT},
        page="/admin/users/new")
    assert response.status_code == 200
    password = re.search(r'<dt>Mật khẩu</dt><dd class="code">([^<]+)</dd>', text(response)).group(1)
    user = accounts.authenticate(platform, "tiepnhan2", password)
    assert user is not None and user.has_role("reception", TRANSPORT)
    assert password not in text(quantri.client.get("/admin/users/tiepnhan2"))


def test_a_bad_user_form_keeps_the_values_and_ticked_roles(quantri, platform):
    page = "/admin/users/motcua"
    response = quantri.post(page, {
        "full_name": "Lê Văn Tiếp", "kind": "staff", "email": "không có @",
        "agency_code": TRANSPORT, "active": "on", "roles": f"reception@{TRANSPORT}",
        "new_role_1": "head", "new_agency_1": ""}, page=page)
    assert response.status_code == 422
    html = text(response)
    assert 'value="không có @"' in html
    assert f'name="roles" value="reception@{TRANSPORT}" checked' in html
    assert 'name="roles" value="head@" checked' in html
    assert "ghi vai trò dạng vai_trò@mã_cơ_quan" in html
    assert accounts.find_user(platform, "motcua").email == "motcua@example.vn"


def test_roles_are_assigned_per_agency_and_an_account_deactivated(quantri, platform):
    page = "/admin/users/chuyenvien"
    response = quantri.post(page, {
        "full_name": "Trần Minh Thụ", "kind": "staff", "agency_code": TRANSPORT,
        "active": "on", "roles": f"handler@{TRANSPORT}", "new_role_1": "district_finance",
        "new_agency_1": "000.10.20.H56"}, page=page)
    assert response.status_code == 302
    assert accounts.find_user(platform, "chuyenvien").has_role("district_finance", "000.10.20.H56")
    response = quantri.post(f"{page}/active", {"active": "0"}, page=page)
    assert response.status_code == 302
    assert accounts.authenticate(platform, "chuyenvien", "demo") is None
    response = quantri.post(f"{page}/password", page=page)
    assert "Đã đặt lại mật khẩu" in text(response)
    assert [a for _, a in actions(platform)] == ["admin_user_update", "admin_user_deactivate",
                                                 "admin_user_password_reset"]


USERS = f"""username,full_name,kind,email,phone,id_number,title,agency_code,roles
thuly2,Ngô Văn Thụ,staff,thuly2@example.vn,,,Chuyên viên,{TRANSPORT},handler@{TRANSPORT}
thuly3,Đặng Thị Lý,staff,,,,Chuyên viên,{TRANSPORT},handler@{TRANSPORT};clerk@{TRANSPORT}
"""


def test_importing_users_shows_their_one_time_passwords(quantri, platform):
    response = quantri.post("/admin/users/import", csv_upload(USERS), page="/admin/users/import",
                            content_type="multipart/form-data")
    assert response.status_code == 200
    found = dict(re.findall(r'<tr><td class="code">(thuly\d)</td><td class="code">([^<]+)</td>',
                            text(response)))
    assert set(found) == {"thuly2", "thuly3"}
    assert accounts.authenticate(platform, "thuly3", found["thuly3"]).has_role("clerk", TRANSPORT)


def test_a_bad_user_file_writes_nothing(quantri, platform):
    bad = USERS.replace(f"clerk@{TRANSPORT}", "clerk@000.00.99.H56")
    response = quantri.post("/admin/users/import", csv_upload(bad), page="/admin/users/import",
                            content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Dòng 3, cột roles:" in text(response)
    assert accounts.find_user(platform, "thuly2") is None


# -- roles ------------------------------------------------------------------------------

def test_a_role_used_by_a_diagram_cannot_be_deleted_and_the_page_says_where(quantri, platform):
    page = "/admin/roles/reception"
    assert "transport-business-licence v1" in text(quantri.client.get(page))
    response = quantri.post(f"{page}/delete", page=page)
    assert response.status_code == 302
    shown = text(quantri.client.get(response.headers["Location"]))
    assert re.search(r"là làn trong sơ đồ đã triển khai \([^)]*transport-business-licence v1", shown)
    assert "reception" in [r["code"] for r in accounts.list_roles(platform)]


def test_a_role_is_created_renamed_and_deleted(quantri, platform):
    response = quantri.post("/admin/roles/new", {"code": "Thủ quỹ", "name_vi": "Thủ quỹ"},
                            page="/admin/roles/new")
    assert response.status_code == 422 and 'value="Thủ quỹ"' in text(response)
    quantri.post("/admin/roles/new", {"code": "cashier", "name_vi": "Thủ quỹ"},
                 page="/admin/roles/new")
    quantri.post("/admin/roles/cashier", {"name_vi": "Thủ quỹ cơ quan", "name_en": "Cashier"},
                 page="/admin/roles/cashier")
    assert "Thủ quỹ cơ quan" in text(quantri.client.get("/admin/roles"))
    quantri.post("/admin/roles/cashier/delete", page="/admin/roles/cashier")
    assert "cashier" not in [r["code"] for r in accounts.list_roles(platform)]
    assert [a for _, a in actions(platform)] == ["admin_role_create", "admin_role_update",
                                                 "admin_role_delete"]


# -- calendar ---------------------------------------------------------------------------

def test_the_calendar_lists_holidays_and_an_override_moves_the_next_appointment(quantri,
                                                                              platform):
    page = text(quantri.client.get("/admin/calendar?year=2026"))
    assert "02/09/2026" in page and "30/04/2026" in page
    clock.travel_to(datetime(2026, 3, 6, 10, tzinfo=clock.VIETNAM))
    response = quantri.post("/admin/calendar?year=2026", {
        "day": "2026-03-10", "kind": "off", "note": "Nghỉ tránh bão"}, page="/admin/calendar")
    assert response.status_code == 302
    assert "Nghỉ tránh bão" in text(quantri.client.get("/admin/calendar?year=2026"))
    code = submit(platform)
    due = admin_due(platform, code)
    assert due == date(2026, 3, 16)  # Friday 6/3 + 5 working days, skipping Tuesday 10/3
    quantri.post("/admin/calendar/2026-03-10/remove", page="/admin/calendar")
    assert admin_due(platform, submit(platform)) == date(2026, 3, 13)
    assert [a for _, a in actions(platform)] == ["admin_calendar_add", "admin_calendar_remove"]


def admin_due(p, code: str) -> date:
    from engine import dossiers

    view = dossiers.get_dossier(p, code, user=accounts.find_user(p, "doanhnghiep"))
    return datetime.fromisoformat(view["due_at"]).astimezone(clock.VIETNAM).date()


def test_a_bad_override_is_shown_beside_its_field(quantri):
    response = quantri.post("/admin/calendar", {"day": "2026-09-02", "kind": "off",
                                                "note": "Trùng lễ"}, page="/admin/calendar")
    assert response.status_code == 422
    page = text(response)
    assert "vốn đã là ngày nghỉ" in page and 'value="Trùng lễ"' in page


# -- procedures ---------------------------------------------------------------------------

def test_ticking_the_agencies_that_receive_a_procedure(quantri, platform):
    page = "/admin/procedures/transport-business-licence"
    response = quantri.client.post(page, data={
        "main": TRANSPORT, "agencies": [TRANSPORT, "000.10.20.H56"],
        "csrf_token": quantri.token(page)})
    assert response.status_code == 302
    view = get_procedure_agencies(platform, "transport-business-licence")
    assert view["receiving"] == [TRANSPORT, "000.10.20.H56"]
    response = quantri.post(page, {"main": ""}, page=page)
    assert response.status_code == 422 and "Chọn cơ quan chủ trì" in text(response)
    assert actions(platform) == [("quantri", "admin_procedure_agencies")]
