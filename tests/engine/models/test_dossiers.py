"""Dossiers and their open steps (engine/models/dossiers.py): a dossier reaches its procedure,
version, agency and applicant; its human tasks reach the dossier."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import Dossier, HumanTask
from tests.engine.factories import APPLICATION, PROCEDURE, submit


def test_a_dossier_and_its_tasks_reach_what_they_belong_to(platform):
    code = submit(platform)
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        assert (dossier.procedure.code, dossier.version.number) == (PROCEDURE, 1)
        assert dossier.agency.code == "000.00.14.H56"
        assert dossier.applicant.username == "doanhnghiep"
        assert dossier.data["company_name"] == APPLICATION["company_name"]
        [task] = session.execute(select(HumanTask).where(HumanTask.dossier_id == dossier.id,
                                                         HumanTask.status == "open")).scalars()
        assert task.dossier.code == code and task.assignee is None
