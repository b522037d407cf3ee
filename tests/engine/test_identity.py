"""The accounts' side of the national identity sign-in (engine/identity.py): claims as
account fields, linking rules, the settings that name the provider, and forms' prefill."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from engine import accounts, identity
from engine.config import DEMO_MARKER, Settings
from engine.errors import Conflict, PermissionDenied
from engine.models import User
from web.keptfiles import prefill

ISSUER = "https://id.example.vn"
CLAIMS = {"sub": "abc", "name": "Trần Thị\x07 Minh Anh", "birthdate": "1990-04-12",
          "id_number": "038190001234", "address": {"formatted": "Số 5 Phan Chu Trinh"},
          "phone_number": "0912000111", "email": "a@example.vn", "email_verified": True}


def test_claims_become_account_fields():
    assert identity.account_values(CLAIMS) == {
        "full_name": "Trần Thị Minh Anh", "birth_date": "1990-04-12",
        "id_number": "038190001234", "address": "Số 5 Phan Chu Trinh",
        "phone": "0912000111", "email": "a@example.vn"}
    unverified = identity.account_values({**CLAIMS, "email_verified": False,
                                          "birthdate": "12/04/1990"})
    assert "email" not in unverified and "birth_date" not in unverified
    assert identity.account_values({"cccd": "038190001234"}, "cccd") == {
        "id_number": "038190001234"}
    assert identity.account_values({"family_name": "Lê", "given_name": "Văn Bình"}) == {
        "full_name": "Lê Văn Bình"}


def test_a_new_identity_gets_an_account_without_a_stolen_email(platform):
    taken = identity.account_values({**CLAIMS, "email": "congdan@example.vn"})
    with platform.db.transaction() as session:
        session.execute(update(User).where(User.username == "congdan")
                        .values(email="congdan@example.vn"))
    user, outcome = identity.sign_in(platform, ISSUER, "abc", taken)
    assert outcome == "created" and user.kind == "citizen" and user.email == ""
    assert user.full_name == "Trần Thị Minh Anh" and user.address == "Số 5 Phan Chu Trinh"
    again, outcome = identity.sign_in(platform, ISSUER, "abc", taken)
    assert (again.id, outcome) == (user.id, "login")
    assert identity.prefill_values(platform, user.id)["birth_date"] == "1990-04-12"
    assert accounts.authenticate(platform, user.username, "") is None


def test_linking_rules(platform):
    congdan = accounts.find_user(platform, "congdan")
    staff = accounts.find_user(platform, "motcua")
    with pytest.raises(PermissionDenied):
        identity.sign_in(platform, ISSUER, "abc", {}, current_user_id=staff.id)
    _, outcome = identity.sign_in(platform, ISSUER, "abc", {}, current_user_id=congdan.id)
    assert outcome == "linked"
    with pytest.raises(Conflict):  # one identity per account and provider
        identity.sign_in(platform, ISSUER, "other", {}, current_user_id=congdan.id)
    firm = accounts.find_user(platform, "doanhnghiep")
    with pytest.raises(Conflict):  # the identity is the citizen's
        identity.sign_in(platform, ISSUER, "abc", {}, current_user_id=firm.id)
    with platform.db.transaction() as session:
        session.execute(update(User).where(User.id == congdan.id).values(active=False))
    with pytest.raises(PermissionDenied):
        identity.sign_in(platform, ISSUER, "abc", {})
    with platform.db.read() as session:
        assert identity.is_verified(session, congdan.id)
        assert not identity.is_verified(session, firm.id)
        assert session.execute(select(User.id).where(User.username.like("dinhdanh-%"))
                               ).first() is None


def test_identity_claims_come_first_in_forms_and_bring_the_date_of_birth(platform):
    schema = {"type": "object", "properties": {
        "name": {"type": "string", "x-prefill": "full_name"},
        "born": {"type": "string", "format": "date", "x-prefill": "birth_date"},
        "mail": {"type": "string", "x-prefill": "email"}}}
    congdan = accounts.find_user(platform, "congdan")
    assert "born" not in prefill(schema, congdan)
    identity.sign_in(platform, ISSUER, "abc", identity.account_values(CLAIMS),
                     current_user_id=congdan.id)
    filled = prefill(schema, congdan, identity.prefill_values(platform, congdan.id))
    assert filled == {"name": "Trần Thị Minh Anh", "born": "1990-04-12",
                      "mail": "a@example.vn"}


def test_the_provider_comes_from_the_settings(tmp_path, monkeypatch):
    for name in ("MOTCUA_OIDC_ISSUER", "MOTCUA_OIDC_CLIENT_ID", "MOTCUA_OIDC_STAND_IN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path))
    assert identity.provider(Settings.from_env()) is None  # no button
    (tmp_path / DEMO_MARKER).parent.mkdir(parents=True)
    (tmp_path / DEMO_MARKER).write_text("demo")
    demo = Settings.from_env(public_url="http://127.0.0.1:5000")
    assert identity.provider(demo) == identity.Provider(
        "http://127.0.0.1:5000/sandbox/oidc", identity.STAND_IN_CLIENT_ID,
        identity.STAND_IN_CLIENT_SECRET, stand_in=True)
    monkeypatch.setenv("MOTCUA_OIDC_STAND_IN", "0")
    assert identity.provider(Settings.from_env()) is None
    monkeypatch.setenv("MOTCUA_OIDC_ISSUER", "https://sso.dichvucong.gov.vn/")
    monkeypatch.setenv("MOTCUA_OIDC_CLIENT_ID", "h56")
    monkeypatch.setenv("MOTCUA_OIDC_CLIENT_SECRET", "s3cret")
    real = identity.provider(Settings.from_env())
    assert real.metadata_url == ("https://sso.dichvucong.gov.vn/.well-known/"
                                 "openid-configuration")
    assert (real.client_id, real.client_secret, real.stand_in) == ("h56", "s3cret", False)


def test_the_same_new_identity_signing_in_twice_at_once_gets_one_account(platform):
    start = threading.Barrier(2)
    results, errors = [], []

    def sign_in() -> None:
        start.wait()
        try:
            results.append(identity.sign_in(platform, ISSUER, "twice", {"full_name": "A"}))
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=sign_in) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len({user.id for user, _ in results}) == 1
    assert sorted(outcome for _, outcome in results) == ["created", "login"]
