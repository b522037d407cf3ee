"""The identity_link table (engine/identity_models.py): one link per identity and provider,
one identity per account and provider, claims kept as JSON with Vietnamese text intact."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.identity_models import IdentityLink
from engine.models import User

ISSUER = "https://vneid.example/oidc"


def _user_id(platform, username: str) -> int:
    with platform.db.read() as session:
        return session.execute(select(User.id).where(User.username == username)).scalar_one()


def test_a_link_keeps_its_claims_and_stamps(platform):
    user_id = _user_id(platform, "doanhnghiep")
    with platform.db.transaction() as session:
        session.add(IdentityLink(user_id=user_id, issuer=ISSUER, subject="sub-1",
                                 id_number="001090000001",
                                 claims={"name": "Nguyễn Văn An", "birth_date": "1990-01-01"}))
    with platform.db.read() as session:
        link = session.execute(select(IdentityLink).where(
            IdentityLink.subject == "sub-1")).scalar_one()
    assert link.claims["name"] == "Nguyễn Văn An" and link.id_number == "001090000001"
    assert link.linked_at is not None and link.last_login_at is not None


def test_an_identity_belongs_to_one_account(platform):
    first, second = _user_id(platform, "doanhnghiep"), _user_id(platform, "chuyenvien")
    with platform.db.transaction() as session:
        session.add(IdentityLink(user_id=first, issuer=ISSUER, subject="sub-2"))
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        session.add(IdentityLink(user_id=second, issuer=ISSUER, subject="sub-2"))
        session.flush()


def test_an_account_holds_one_identity_per_provider(platform):
    user_id = _user_id(platform, "doanhnghiep")
    with platform.db.transaction() as session:
        session.add(IdentityLink(user_id=user_id, issuer=ISSUER, subject="sub-3"))
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        session.add(IdentityLink(user_id=user_id, issuer=ISSUER, subject="sub-4"))
        session.flush()
    with platform.db.transaction() as session:  # another provider is another identity
        session.add(IdentityLink(user_id=user_id, issuer="https://other.example", subject="sub-4"))
