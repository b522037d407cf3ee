"""``motcua init``: the schema, the reference data and every procedure in bpmn/."""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .errors import InvalidBundle
from .migrate import upgrade
from .models import Agency, Role
from .procedures import deploy_bundle

log = logging.getLogger(__name__)
SEED = Path(__file__).resolve().parent / "seed"


def load_reference_data(session: Session) -> dict:
    """The built-in roles that are missing (names an administrator changed are kept: the
    built-in diagrams need the codes, not the names); agencies only into an empty table
    (after that they are the administrators' to edit)."""
    roles = yaml.safe_load((SEED / "roles.yaml").read_text(encoding="utf-8"))
    known_roles = set(session.execute(select(Role.code)).scalars())
    for r in roles:
        if r["code"] not in known_roles:
            session.add(Role(code=r["code"], name_vi=r["vi"], name_en=r["en"]))
    created = 0
    if session.execute(select(Agency.id).limit(1)).first() is None:
        by_code: dict[str, Agency] = {}
        for a in yaml.safe_load((SEED / "agencies.yaml").read_text(encoding="utf-8")):
            parent = by_code.get(a.get("parent", ""))
            agency = Agency(code=a["code"], name_vi=a["vi"], name_en=a.get("en", ""),
                            kind=a.get("kind", "department"), email=a.get("email", ""),
                            address=a.get("address", ""),
                            parent_id=parent.id if parent else None)
            session.add(agency)
            session.flush()
            by_code[a["code"]] = agency
            created += 1
    audit.ensure_head(session)  # exists before any concurrent append can race to create it
    return {"roles": len(roles), "agencies_created": created}


def procedure_folders(bpmn_dir: Path) -> list[Path]:
    return sorted(d for d in Path(bpmn_dir).iterdir() if (d / "procedure.yaml").is_file())


def init(p, *, migrate: bool = True) -> dict:
    """Create or upgrade the schema, load reference data and deploy every bundle."""
    if migrate:
        upgrade(p.db)
    else:
        p.db.create_all()
    with p.db.transaction() as session:
        report = load_reference_data(session)
    report["procedures"], report["errors"] = [], []
    for folder in procedure_folders(p.settings.bpmn_dir):
        try:
            report["procedures"].append(deploy_bundle(p, folder))
        except InvalidBundle as exc:
            log.error("%s: %s", folder.name, exc.message)
            report["errors"].append({"folder": folder.name, "message": exc.message,
                                     "details": exc.details})
    return report
