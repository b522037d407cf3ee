"""Accounts, passwords and API tokens (:mod:`engine.accounts`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import accounts, clock
from engine.models import User


def test_sign_in_needs_the_right_password_and_an_active_account(platform):
    user = accounts.authenticate(platform, " doanhnghiep ", "demo")
    assert user is not None and user.username == "doanhnghiep" and not user.is_staff
    assert accounts.authenticate(platform, "doanhnghiep", "Demo") is None
    assert accounts.authenticate(platform, "nobody", "demo") is None
    with platform.db.transaction() as session:
        session.execute(select(User).where(User.username == "doanhnghiep")).scalar().active = False
    assert accounts.authenticate(platform, "doanhnghiep", "demo") is None
    assert accounts.find_user(platform, "doanhnghiep") is None


def test_a_new_password_ends_the_old_tokens(platform):
    firm = accounts.find_user(platform, "doanhnghiep")
    token = accounts.issue_token(platform, firm.id)
    assert accounts.user_for_token(platform, token) == firm
    with platform.db.transaction() as session:
        user = session.execute(select(User).where(User.username == "doanhnghiep")).scalar()
        accounts.set_password(user, "a-new-password")
    assert accounts.user_for_token(platform, token) is None
    assert accounts.authenticate(platform, "doanhnghiep", "a-new-password") == firm


def test_a_token_stops_when_it_expires(platform):
    officer = accounts.find_user(platform, "motcua")
    token = accounts.issue_token(platform, officer.id)
    assert accounts.user_for_token(platform, token).has_role("reception")
    clock.travel(accounts.TOKEN_LIFETIME + timedelta(minutes=1))
    assert accounts.user_for_token(platform, token) is None


def test_generated_passwords_differ_and_avoid_look_alike_characters():
    passwords = {accounts.generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) == 12 and not set(p) & set("0O1lI") for p in passwords)
