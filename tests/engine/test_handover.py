"""Handing a result over (engine/handover.py): at the counter or by post by the reception
officer, or online when the applicant downloads it; once only."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from engine import accounts, documents, dossiers, handover
from engine.errors import Conflict, InvalidData, PermissionDenied
from engine.models import Document, Dossier
from tests.engine.factories import PROCEDURE
from tests.engine.test_counter import REPO
from tests.engine.test_stats import Rows, at
from tests.scenario import run_scenario


def test_a_result_is_returned_when_downloaded_online(platform):
    scenario = yaml.safe_load((REPO / "bpmn" / PROCEDURE / "scenarios" / "approve-and-sign.yaml")
                              .read_text())
    code = run_scenario(platform, scenario)
    firm = accounts.find_user(platform, "doanhnghiep")
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        assert dossier.status == "processed" and dossier.returned_at is None
        docs = {d.name: d.id for d in session.execute(
            select(Document).where(Document.dossier_id == dossier.id)).scalars()}
    documents.open_document(platform, firm, docs["slip-01"])  # a slip hands nothing over
    assert dossiers.get_dossier(platform, code, user=firm)["status"] == "processed"
    documents.open_document(platform, firm, docs["licence"])
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        assert (dossier.status, dossier.return_method) == ("returned", "online")
        assert dossier.returned_at > dossier.finished_at


def test_a_reception_officer_hands_a_result_over_at_the_counter(platform):
    rows = Rows(platform)
    dossier_id = rows.add(at(2026, 12, 1, 9), at(2026, 12, 8, 17), at(2026, 12, 4, 10),
                          channel="counter")
    with platform.db.read() as session:
        code = session.get(Dossier, dossier_id).code
    with pytest.raises(PermissionDenied):
        handover.hand_over(platform, accounts.find_user(platform, "chuyenvien"), code, "counter")
    motcua = accounts.find_user(platform, "motcua")
    with pytest.raises(InvalidData):
        handover.hand_over(platform, motcua, code, "pigeon")
    assert handover.hand_over(platform, motcua, code, "counter")["status"] == "returned"
    with pytest.raises(Conflict):
        handover.hand_over(platform, motcua, code, "post")


class _Officer:
    def __init__(self, *roles: tuple[str, str]):
        self.roles = set(roles)

    def has_role(self, code: str, agency_code: str | None = None) -> bool:
        return (code, agency_code) in self.roles


def test_only_reception_of_the_dossiers_agency_hands_over_a_processed_result():
    view = {"status": "processed", "agency": {"code": "000.00.14.H56"}}
    reception = _Officer(("reception", "000.00.14.H56"))
    assert handover.can_hand_over(reception, view)
    assert not handover.can_hand_over(_Officer(("reception", "000.00.13.H56")), view)
    assert not handover.can_hand_over(_Officer(("handler", "000.00.14.H56")), view)
    assert not handover.can_hand_over(reception, {**view, "status": "in_progress"})
    assert not handover.can_hand_over(None, view)


def test_a_diagram_returning_a_result_records_it_as_ready():
    assert handover.status_for("returned") == "processed"
    assert handover.status_for("in_progress") == "in_progress"
