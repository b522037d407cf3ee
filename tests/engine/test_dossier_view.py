"""What a dossier shows (engine/dossier_view.py): its summary in a list, the full view for
its agency and applicant, and the public look-up without personal data."""

from __future__ import annotations

from sqlalchemy import select

from engine import accounts
from engine.dossier_view import dossier_view, public_view, summary
from engine.models import Dossier
from tests.engine.factories import APPLICATION, submit


def test_the_public_look_up_shows_dates_and_steps_but_no_people_notes_or_data(platform):
    code = submit(platform)
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        view = dossier_view(session, dossier)
    public = public_view(view)
    assert public["code"] == code and public["status"] == view["status"]
    assert set(public["procedure"]) == {"code", "name_vi", "name_en"}
    assert "data" not in public and "documents" not in public and "notifications" not in public
    assert all(set(step) == {"title", "role", "due_at"} for step in public["steps"])
    submitted = next(e for e in public["history"] if e["action"] == "submit")
    assert set(submitted) == {"at", "action", "detail"} and set(submitted["detail"]) <= {"due_at"}
    assert APPLICATION["company_name"] not in str(public)


def test_the_agency_sees_everything_and_the_applicant_not_the_audit_trail(platform):
    code = submit(platform)
    firm = accounts.find_user(platform, "doanhnghiep")
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        agency = dossier_view(session, dossier)
        applicant = dossier_view(session, dossier, viewer=firm)
        listed = summary(dossier)
    assert agency["data"]["company_name"] == APPLICATION["company_name"]
    assert agency["procedure"]["level"] == 4 and agency["timeline"]
    assert len(applicant["history"]) <= len(agency["history"])
    assert {d["name"] for d in applicant["documents"]} <= {d["name"] for d in agency["documents"]}
    assert listed["code"] == code and listed["status"] == agency["status"]
    assert listed["status_vi"] and listed["due_at"] == agency["due_at"]
