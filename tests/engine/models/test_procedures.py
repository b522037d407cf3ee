"""Procedures and their versions (engine/models/procedures.py): a procedure knows its agency
and active version; a version number is used once per procedure."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.models import Procedure, ProcedureVersion
from tests.engine.factories import PROCEDURE


def test_a_procedure_loads_its_agency_and_active_version(platform):
    with platform.db.read() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == PROCEDURE)) \
            .scalar_one()
        assert procedure.agency.code == "000.00.14.H56"
        assert procedure.active_version.number == 1
        assert procedure.active_version.procedure_id == procedure.id


def test_a_version_number_is_used_once_per_procedure(platform):
    with platform.db.read() as session:
        version = session.execute(select(ProcedureVersion).join(
            Procedure, Procedure.id == ProcedureVersion.procedure_id).where(
            Procedure.code == PROCEDURE)).scalar_one()
        procedure_id, meta = version.procedure_id, version.meta
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        session.add(ProcedureVersion(procedure_id=procedure_id, number=1, content_hash="other",
                                     meta=meta, files={}, spec={}, process_id="p"))
        session.flush()
