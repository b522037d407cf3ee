"""POST /api/v1/messages: another system's message starts a dossier over HTTP; everyone but
a system account gets 403, an unknown name 404, a bad payload 422, and nothing is queued."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import accounts, inbound, worker
from engine.errors import InvalidData
from engine.models import Dossier, Message
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import bundle, check, open_tasks
from tests.web.test_api import Api


def test_a_system_account_starts_a_dossier_and_others_are_refused(platform):
    from web import create_app

    app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})
    procedure = deploy_bundle(platform, bundle("system_start"))["code"]
    password = inbound.create_system_account(platform, "ket-noi", "Cổng DVC quốc gia")
    with pytest.raises(InvalidData):  # a person's username is not made a system account
        inbound.create_system_account(platform, "congdan", "Cổng DVC quốc gia")
    api = Api(app.test_client())
    api.tokens["ket-noi"] = api.client.post("/api/v1/auth/token", json={
        "username": "ket-noi", "password": password}).json["token"]
    body = {"name": "sys.filed", "correlation": "DVCQG-9",
            "payload": {"applicant_id_number": "038190001234"}}
    assert api.post("/messages", "congdan", json=body).status_code == 403
    assert api.post("/messages", json=body).status_code == 401
    unknown = api.post("/messages", "ket-noi", json={**body, "name": "sys.nobody"})
    assert unknown.status_code == 404 and "sys.nobody" in unknown.json["message"]
    bad = api.post("/messages", "ket-noi", json={**body, "payload": [1]})
    assert bad.status_code == 422 and bad.json["message_vi"].startswith("payload phải là")
    with platform.db.transaction() as session:
        assert session.execute(select(Message.id)).first() is None  # nothing queued

    posted = api.post("/messages", "ket-noi", json=body)
    assert posted.status_code == 202, posted.json
    assert (posted.json["status"], posted.json["starts"]) == ("pending", procedure)
    assert worker.tick(platform)["messages"] == 1
    with platform.db.transaction() as session:
        [(code, applicant)] = session.execute(
            select(Dossier.code, Dossier.applicant_id).where(
                Dossier.procedure.has(code=procedure))).all()
    assert applicant == accounts.find_user(platform, "congdan").id
    check(platform, code)
    assert open_tasks(platform, code) == ["handle"]
    assert api.get(f"/dossiers/{code}", "congdan").status_code == 200  # hers to follow
