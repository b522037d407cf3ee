"""Roles (engine/admin/roles.py): created, renamed and deleted; the list names the procedures that
use each."""

import pytest

from engine import accounts
from engine.admin.roles import delete_role, get_role, list_roles, save_role
from engine.errors import Conflict, InvalidData
from tests.engine.admin.kit import events, fields
from tests.engine.factories import PROCEDURE


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
