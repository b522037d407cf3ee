"""Counter and post receptions (engine.counter) and the hand-over that makes a processed
dossier returned (engine.handover)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from engine import accounts, clock, counter, dossiers, stats, tasks
from engine.errors import InvalidData, PermissionDenied
from engine.models import Document, Dossier, User
from tests.engine.factories import APPLICATION, PROCEDURE
from tests.engine.test_stats import at
from tests.scenario import open_task, sample_files

REPO = Path(__file__).resolve().parents[2]
NEW_APPLICANT = {"id_number": "038090012345", "full_name": "Trịnh Văn Quầy",
                 "email": "quay@example.vn", "phone": "0987654321", "kind": "citizen"}


def _count(p, model) -> int:
    with p.db.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar()


def test_an_officer_receives_at_the_counter_for_a_new_applicant(platform):
    clock.travel_to(at(2026, 12, 7, 9, 0))
    motcua = accounts.find_user(platform, "motcua")
    assert counter.find_applicant(platform, NEW_APPLICANT["id_number"]) is None
    result = counter.receive(platform, motcua, PROCEDURE, NEW_APPLICANT, APPLICATION,
                             sample_files(platform, PROCEDURE), channel="counter")
    assert result["channel"] == "counter" and result["status"] == "submitted"
    assert datetime.fromisoformat(result["due_at"]) == at(2026, 12, 14, 17, 0)  # 5 working days
    found = counter.find_applicant(platform, " 038090012345 ")
    assert found["full_name"] == "Trịnh Văn Quầy" and found["email"] == "quay@example.vn"
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == result["code"])).scalar_one()
        assert dossier.received_by_id == motcua.id and dossier.channel == "counter"
        scans = session.execute(select(Document.name).where(Document.dossier_id == dossier.id,
                                                            Document.kind == "upload")).scalars().all()
        assert scans  # the scanned documents are the dossier's own
    # The applicant follows it with the code and their ID number, like any dossier.
    view = dossiers.get_dossier(platform, result["code"], id_number="038090012345")
    assert view["code"] == result["code"]
    # A second dossier for the same person finds them: no second account.
    counter.receive(platform, motcua, PROCEDURE, {"id_number": "038090012345"}, APPLICATION,
                    sample_files(platform, PROCEDURE), channel="post")
    with platform.db.read() as session:
        assert session.execute(select(func.count()).select_from(User).where(
            User.id_number == "038090012345")).scalar() == 1
    report = stats.indicators(platform, start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert report["by_channel"] == {"online": 0, "counter": 1, "post": 1}


def test_bad_counter_receptions_keep_nothing(platform):
    motcua = accounts.find_user(platform, "motcua")
    other_agency = accounts.find_user(platform, "stc_motcua")
    files = sample_files(platform, PROCEDURE)
    before = (_count(platform, Dossier), _count(platform, User))
    with pytest.raises(InvalidData) as unknown_person:
        counter.receive(platform, motcua, PROCEDURE, {"id_number": "038090099999"}, APPLICATION, files)
    assert unknown_person.value.details[0]["field"] == "full_name"
    with pytest.raises(InvalidData):
        counter.receive(platform, motcua, PROCEDURE, {**NEW_APPLICANT, "id_number": "12ab"},
                        APPLICATION, files)
    with pytest.raises(InvalidData):
        counter.receive(platform, motcua, PROCEDURE, NEW_APPLICANT, APPLICATION, files, channel="fax")
    with pytest.raises(InvalidData):  # the form is checked as online
        counter.receive(platform, motcua, PROCEDURE, NEW_APPLICANT, {}, files)
    with pytest.raises((PermissionDenied, InvalidData)):
        counter.receive(platform, other_agency, PROCEDURE, NEW_APPLICANT, APPLICATION, files)
    assert (_count(platform, Dossier), _count(platform, User)) == before




def test_a_counter_dossier_with_an_electronic_result_is_not_an_online_one(platform):
    """The reception officer enters it at the counter; it runs to its signed licence like
    an online dossier, and the online share still counts it at the counter."""
    clock.travel_to(at(2026, 12, 7, 9, 0))
    motcua = accounts.find_user(platform, "motcua")
    code = counter.receive(platform, motcua, PROCEDURE, NEW_APPLICANT, APPLICATION,
                           sample_files(platform, PROCEDURE), channel="counter")["code"]
    scenario = yaml.safe_load((REPO / "bpmn" / PROCEDURE / "scenarios" / "approve-and-sign.yaml")
                              .read_text("utf-8"))
    for step in scenario["steps"]:
        actor = accounts.find_user(platform, step["as"])
        task = open_task(platform, code, step["task"])
        if step.get("claim"):
            tasks.claim(platform, actor, task.id)
        tasks.complete(platform, actor, task.id, step["data"], passphrase=step.get("passphrase"))
    assert dossiers.get_dossier(platform, code, user=motcua)["status"] == "processed"
    report = stats.indicators(platform, start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert report["by_channel"] == {"online": 0, "counter": 1, "post": 0}
    assert (report["electronic_results"], report["online_with_electronic_result"]) == (1, 0)
    assert report["share_online"] == 0.0
    filed_online = next(i for g in report["scorecard_detail"] for i in g["indicators"]
                        if i["indicator"] == "filed_online")
    assert (filed_online["value"], filed_online["points"]) == (0.0, 0.0)
