"""Importing agencies and users from CSV (engine/admin/imports.py): upserts in one transaction;
a bad file writes nothing and names the line and column."""

import pytest
from sqlalchemy import select

from engine import accounts
from engine.admin.agencies import get_agency, list_agencies
from engine.admin.imports import import_agencies, import_users
from engine.errors import InvalidData
from engine.models import User
from tests.engine.admin.kit import TRANSPORT, events

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
