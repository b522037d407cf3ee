"""engine.dossiers: a dossier's code and receiving agency, and a refused submission that
leaves nothing behind (not even a used number)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine import accounts, clock, dossiers
from engine.errors import InvalidData, NotFound, PermissionDenied
from engine.models import Dossier, Procedure
from tests.engine.factories import APPLICATION, PROCEDURE, submit

TRANSPORT = "000.00.14.H56"


def count(p) -> int:
    with p.db.read() as session:
        return session.execute(select(func.count()).select_from(Dossier)).scalar()


def test_codes_follow_the_agency_and_the_day_in_vietnam(platform):
    clock.travel_to(datetime(2026, 12, 7, 16, 0, tzinfo=UTC))  # 23:00 on 7/12 in Vietnam
    first, second = submit(platform), submit(platform)
    assert (first, second) == (f"{TRANSPORT}-261207-0001", f"{TRANSPORT}-261207-0002")
    clock.travel_to(datetime(2026, 12, 7, 17, 30, tzinfo=UTC))  # 00:30 on 8/12 in Vietnam
    assert submit(platform) == f"{TRANSPORT}-261208-0001"


def test_a_refused_submission_keeps_nothing_and_uses_no_number(platform):
    clock.travel_to(datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
    before = count(platform)
    with pytest.raises(InvalidData) as err:
        submit(platform, data={"vehicle_count": "ba"})
    assert any(d.get("field") == "vehicle_count" for d in err.value.details)
    assert count(platform) == before
    assert submit(platform) == f"{TRANSPORT}-261208-0001"


def test_an_unknown_procedure_and_an_anonymous_applicant_are_refused(platform):
    firm = accounts.find_user(platform, "doanhnghiep")
    with pytest.raises(NotFound):
        dossiers.submit(platform, firm, "no-such-procedure", APPLICATION, {})
    with pytest.raises(PermissionDenied):
        dossiers.submit(platform, None, PROCEDURE, APPLICATION, {})


def test_a_procedure_received_by_several_agencies_needs_a_choice_among_them(platform):
    with platform.db.read() as session:
        procedure = session.execute(select(Procedure).where(
            Procedure.code == "budget-unit-code")).scalar_one()
        agencies = dossiers.receiving_agencies(session, procedure)
        assert len(agencies) == 27  # the district finance offices
        with pytest.raises(InvalidData) as err:
            dossiers.receiving_agency(session, procedure, None)
        assert err.value.details[0]["field"] == "agency"
        with pytest.raises(InvalidData, match=TRANSPORT):
            dossiers.receiving_agency(session, procedure, TRANSPORT)
        chosen = agencies[3]
        assert dossiers.receiving_agency(session, procedure, f" {chosen.code} ") is chosen
