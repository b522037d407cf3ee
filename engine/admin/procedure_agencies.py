"""Which agencies receive which procedure, and its main agency."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import audit
from ..lookup import by_code
from ..models import Agency, Procedure, ProcedureAgency
from ..procedures import receiving_agencies
from .agencies import all_agencies
from .checks import invalid, problem


def _mapping_view(session: Session, procedure: Procedure) -> dict:
    mapped = session.execute(select(Agency.code).join(
        ProcedureAgency, ProcedureAgency.agency_id == Agency.id)
        .where(ProcedureAgency.procedure_id == procedure.id).order_by(Agency.code)).scalars()
    return {"code": procedure.code, "name_vi": procedure.name_vi, "name_en": procedure.name_en,
            "agency_code": procedure.agency.code if procedure.agency else "",
            "agency_name": procedure.agency.name_vi if procedure.agency else "",
            "mapped": list(mapped),
            "receiving": [a.code for a in receiving_agencies(session, procedure)]}


def list_procedure_agencies(p) -> list[dict]:
    """Every procedure with its main agency, its mapped agencies and who receives it."""
    with p.db.transaction() as session:
        rows = session.execute(select(Procedure).order_by(Procedure.code)).scalars().all()
        return [_mapping_view(session, r) for r in rows]


def get_procedure_agencies(p, code: str) -> dict:
    with p.db.transaction() as session:
        return _mapping_view(session, _procedure(session, code))


def _procedure(session: Session, code: str) -> Procedure:
    return by_code(session, Procedure, code)


def set_procedure_agencies(p, code: str, *, agency_codes: Iterable[str], main_code: str,
                           actor: str) -> dict:
    """Replace the agencies that receive procedure ``code`` and its main agency.

    Ticking no agency leaves the main agency as the only receiver. A closed agency may stay
    ticked (it receives nothing while closed) but cannot be newly added.
    """
    wanted = sorted({c.strip() for c in agency_codes if c and c.strip()})
    main_code = (main_code or "").strip()
    with p.db.transaction() as session:
        procedure = _procedure(session, code)
        before = _mapping_view(session, procedure)
        agencies = {a.code: a for a in all_agencies(session)}
        problems = []
        if not main_code:
            problems.append(problem("main", "choose the main agency.",
                                    "Chọn cơ quan chủ trì giải quyết."))
        elif main_code not in agencies:
            problems.append(problem("main", f"no agency with code {main_code!r}.",
                                    f"Không có cơ quan mã {main_code!r}."))
        elif not agencies[main_code].active and main_code != before["agency_code"]:
            problems.append(problem("main", f"agency {main_code} is closed.",
                                    f"Cơ quan {main_code} đã ngừng hoạt động."))
        for item in wanted:
            if item not in agencies:
                problems.append(problem("agencies", f"no agency with code {item!r}.",
                                        f"Không có cơ quan mã {item!r}."))
            elif not agencies[item].active and item not in before["mapped"]:
                problems.append(problem("agencies", f"agency {item} is closed.",
                                        f"Cơ quan {item} đã ngừng hoạt động."))
        if problems:
            raise invalid(problems)
        procedure.agency_id = agencies[main_code].id
        session.execute(delete(ProcedureAgency).where(ProcedureAgency.procedure_id == procedure.id))
        session.add_all(ProcedureAgency(procedure_id=procedure.id, agency_id=agencies[c].id)
                        for c in wanted)
        session.flush()
        session.expire(procedure)
        after = _mapping_view(session, procedure)
        audit.append(session, actor=actor, action="admin_procedure_agencies",
                     detail={"procedure": code, "before": before, "after": after})
        return after
