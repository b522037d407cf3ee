"""Messages other systems post (engine/inbound.py): only a system account posts, the message
must name something that waits for it, and system accounts are made by the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import accounts, inbound
from engine.errors import InvalidData, NotFound, PermissionDenied
from engine.models import Message


def system(platform) -> tuple[object, str]:
    password = inbound.create_system_account(platform, "thue", "Cổng thuế điện tử")
    return accounts.authenticate(platform, "thue", password), password


def test_a_system_account_gets_a_new_password_each_time_and_no_person_is_turned_into_one(
        platform):
    user, first = system(platform)
    assert user is not None and user.kind == inbound.SYSTEM_KIND
    second = inbound.create_system_account(platform, "thue", "Cổng thuế điện tử")
    assert second != first
    assert accounts.authenticate(platform, "thue", first) is None
    assert accounts.authenticate(platform, "thue", second) is not None
    with pytest.raises(InvalidData):
        inbound.create_system_account(platform, "doanhnghiep", "Không phải hệ thống")
    with pytest.raises(InvalidData):
        inbound.create_system_account(platform, " ", "Không tên")


def test_only_a_system_posts_and_only_what_something_waits_for(platform):
    user, _ = system(platform)
    with pytest.raises(PermissionDenied):
        inbound.post(platform, accounts.find_user(platform, "doanhnghiep"), "m", "c", {})
    with pytest.raises(NotFound):
        inbound.post(platform, user, "nobody_waits_for_this", "c-1", {})
    for name, correlation, payload in [("", "c", {}), ("m", "", {}), ("m", "x" * 256, {}),
                                       ("m", "c", []), ("m", "c", {"typename": "x"}),
                                       ("m", "c", {"application": "text"})]:
        with pytest.raises(InvalidData):
            inbound.post(platform, user, name, correlation, payload)
    with platform.db.read() as session:
        assert session.execute(select(Message)).first() is None
