"""What the administration tests share: the agencies they edit, the audit events they read
and the fields a refusal names."""

import pytest
from sqlalchemy import select

from engine.models import AuditEvent, Procedure
from engine.procedures import receiving_agencies
from tests.engine.factories import PROCEDURE

TRANSPORT = "000.00.14.H56"
PROVINCE = "000.00.00.H56"
NEW = "000.00.90.H56"


def events(p, action: str) -> list[AuditEvent]:
    with p.db.transaction() as session:
        rows = session.execute(select(AuditEvent).where(AuditEvent.action == action)
                               .order_by(AuditEvent.id)).scalars().all()
        session.expunge_all()
        return rows


def fields(error: pytest.ExceptionInfo) -> dict[str, str]:
    return {d["field"]: d["message_vi"] for d in error.value.details}


def receivers(p, code: str = PROCEDURE) -> list[str]:
    with p.db.transaction() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == code)).scalar()
        return [a.code for a in receiving_agencies(session, procedure)]
