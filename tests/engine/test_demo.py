"""The demo's accounts (engine/demo.py): one login per role of the demo agencies, all with
the demo password; creating them again resets them rather than adding more."""

from sqlalchemy import func, select

from engine import accounts, demo
from engine.models import User


def test_the_demo_accounts_sign_in_with_the_demo_password_and_hold_their_roles(platform):
    listed = demo.create_accounts(platform, with_pki=False)
    assert {a["username"] for a in listed} == {a["username"] for a in demo.ACCOUNTS}
    assert all(a["password"] == demo.PASSWORD and a["description"] for a in listed)
    for account in demo.ACCOUNTS:
        user = accounts.authenticate(platform, account["username"], demo.PASSWORD)
        assert user is not None, account["username"]
        for role, agency in account.get("roles", []):
            assert user.has_role(role, agency)


def test_creating_the_demo_accounts_again_adds_no_one(platform):
    with platform.db.read() as session:
        before = session.scalar(select(func.count()).select_from(User))
    demo.create_accounts(platform, with_pki=False)
    with platform.db.read() as session:
        assert session.scalar(select(func.count()).select_from(User)) == before
