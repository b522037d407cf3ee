"""Agencies, roles and users (engine/models/people.py): a user name is held once, a user's
roles go with the user, and a user's agency comes with it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.models import Agency, User, UserRole


def test_a_users_roles_go_with_the_user_and_its_agency_loads_with_it(platform):
    with platform.db.transaction() as session:
        agency = session.execute(select(Agency).where(Agency.code == "000.00.14.H56")).scalar_one()
        user = User(username="thu.nghiem", password_hash="x", full_name="Thử Nghiệm",
                    kind="staff", agency_id=agency.id)
        user.roles.append(UserRole(role_code="reception", agency_id=agency.id))
        session.add(user)
    with platform.db.transaction() as session:
        user = session.execute(select(User).where(User.username == "thu.nghiem")).scalar_one()
        assert user.agency.code == "000.00.14.H56" and user.language == "vi"
        assert [r.role_code for r in user.roles] == ["reception"]
        session.delete(user)
    with platform.db.read() as session:
        assert session.execute(select(UserRole).where(UserRole.user_id == user.id)).first() \
            is None


def test_a_user_name_is_held_once(platform):
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        session.add(User(username="doanhnghiep", password_hash="x", full_name="Trùng tên"))
        session.flush()
