"""Creating an account and resetting its password (engine/signup.py), as the engine sees
them: an inactive account until its e-mailed link is used once; a reset link works once and
only while it is fresh."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import accounts, clock, signup
from engine.errors import InvalidData
from engine.models import Outbox, User

NEW = {"kind": "citizen", "full_name": "Lê Thị Hoa", "id_number": "038190000123",
       "email": "Hoa.Le@example.vn", "phone": "0912000111", "username": "lethihoa",
       "password": "hoa-2026-mat-khau", "password_again": "hoa-2026-mat-khau"}


def token_mailed(platform, address: str, path: str) -> str:
    with platform.db.read() as session:
        bodies = session.execute(select(Outbox.body).where(Outbox.recipient == address)
                                 .order_by(Outbox.id)).scalars().all()
    match = re.search(re.escape(path) + r"\?token=([\w-]+)", bodies[-1])
    assert match, bodies[-1]
    return match.group(1)


def users(platform) -> int:
    with platform.db.read() as session:
        return session.scalar(select(func.count()).select_from(User))


def test_an_account_signs_in_only_after_its_link_is_used_once(platform):
    signup.register(platform, NEW)
    assert accounts.authenticate(platform, "lethihoa", NEW["password"]) is None  # inactive
    token = token_mailed(platform, "hoa.le@example.vn", "/auth/xac-nhan")
    assert signup.confirm(platform, token) == "lethihoa"
    assert accounts.authenticate(platform, "lethihoa", NEW["password"]) is not None
    with pytest.raises(InvalidData):
        signup.confirm(platform, token)


def test_a_taken_user_name_is_refused_and_a_known_address_gets_a_reminder(platform):
    signup.register(platform, NEW)
    before = users(platform)
    with pytest.raises(InvalidData) as refused:
        signup.register(platform, {**NEW, "email": "another@example.vn"})
    assert refused.value.details[0]["field"] == "username"
    signup.register(platform, {**NEW, "username": "hoa2"})  # same address: a reminder only
    assert users(platform) == before


def test_short_passwords_and_a_mistyped_second_one_are_refused():
    assert signup.password_problems("x" * 7)[0]["field"] == "password"
    assert signup.password_problems("x" * 257)[0]["field"] == "password"
    assert signup.password_problems("mat-khau-du-dai") == []


def test_a_reset_link_works_once_and_expires(platform):
    signup.register(platform, NEW)
    signup.confirm(platform, token_mailed(platform, "hoa.le@example.vn", "/auth/xac-nhan"))
    signup.request_reset(platform, "HOA.LE@example.vn")
    token = token_mailed(platform, "hoa.le@example.vn", "/auth/dat-lai-mat-khau")
    assert signup.check_reset(platform, token)
    with pytest.raises(InvalidData):
        signup.reset_password(platform, token, "mat-khau-moi-1", "mat-khau-moi-2")
    assert signup.reset_password(platform, token, "mat-khau-moi-1", "mat-khau-moi-1") \
        == "lethihoa"
    assert accounts.authenticate(platform, "lethihoa", "mat-khau-moi-1") is not None
    assert not signup.check_reset(platform, token)
    signup.request_reset(platform, "hoa.le@example.vn")
    late = token_mailed(platform, "hoa.le@example.vn", "/auth/dat-lai-mat-khau")
    clock.travel(signup.RESET_LIFETIME + timedelta(minutes=1))
    assert not signup.check_reset(platform, late)
