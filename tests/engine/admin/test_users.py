"""Users (engine/admin/users.py): a one-time password for a new user, roles per agency, deactivation
and password resets; an administrator cannot lock themselves out."""

import pytest

from engine import accounts
from engine.admin.users import get_user, reset_password, save_user, set_user_active
from engine.errors import Conflict, InvalidData
from tests.engine.admin.kit import PROVINCE, TRANSPORT, events, fields


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
