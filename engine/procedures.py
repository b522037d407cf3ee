"""The procedure catalogue and deployment of bundles as immutable versions."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from sqlalchemy import func, select

from . import audit, bundles
from .calendar import WorkingCalendar
from .errors import InvalidBundle, NotFound
from .models import Agency, Procedure, ProcedureVersion, Role
from .operators import REGISTRY
from .runtime import specs_to_dict
from .scripting import check_expression, make_evaluator


def deploy_bundle(p, source: Path | dict, *, actor: str = "system",
                  check_only: bool = False) -> dict:
    """Validate a bundle and, unless ``check_only``, store it as the procedure's new active
    version. The same content deployed again is a no-op (``created: False``).

    Raises :class:`InvalidBundle` listing every problem found.
    """
    files = bundles.read_folder(Path(source)) if isinstance(source, str | Path) else dict(source)
    with p.db.transaction() as session:
        roles = set(session.execute(select(Role.code)).scalars())
        checker = check_expression(make_evaluator(WorkingCalendar()))
        bundle = bundles.parse(files, known_roles=roles, operators=REGISTRY,
                               expression_checker=checker)
        meta = bundle.meta
        agency = None
        if meta.get("agency"):
            agency = session.execute(select(Agency).where(Agency.code == meta["agency"])).scalar()
            if agency is None:
                raise bundles.invalid([bundles.Problem(
                    "procedure.yaml", "agency", f"no agency with code {meta['agency']!r}")])
        if check_only:
            return {"code": meta.get("code"), "version": None, "created": False, "valid": True}
        if not meta.get("code"):
            raise InvalidBundle("A bundle needs a procedure.yaml to be deployed.",
                                vi="Cần có procedure.yaml để triển khai thủ tục.",
                                details=[{"file": "procedure.yaml", "element": "",
                                          "message": "missing"}])
        procedure = session.execute(select(Procedure).where(Procedure.code == meta["code"])).scalar()
        if procedure is None:
            procedure = Procedure(code=meta["code"], name_vi=meta["name"]["vi"])
            session.add(procedure)
            session.flush()
        same = session.execute(select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == procedure.id,
            ProcedureVersion.content_hash == bundle.content_hash)).scalar()
        if same is not None:
            return {"code": procedure.code, "version": same.number, "created": False, "valid": True}
        number = (session.execute(select(func.max(ProcedureVersion.number)).where(
            ProcedureVersion.procedure_id == procedure.id)).scalar() or 0) + 1
        version = ProcedureVersion(procedure_id=procedure.id, number=number,
                                   content_hash=bundle.content_hash, meta=meta, files=bundle.files,
                                   process_id=bundle.process_id,
                                   spec=specs_to_dict(bundle.spec, bundle.subprocess_specs),
                                   deployed_by=actor)
        session.add(version)
        session.flush()
        procedure.name_vi = meta["name"]["vi"]
        procedure.name_en = meta["name"].get("en", "")
        procedure.agency_id = agency.id if agency else None
        procedure.active_version_id = version.id
        audit.append(session, actor=actor, action="deploy",
                     detail={"procedure": procedure.code, "version": number,
                             "hash": bundle.content_hash})
        return {"code": procedure.code, "version": number, "created": True, "valid": True}


def application_form(version: ProcedureVersion) -> dict:
    return form_schema(version, version.meta["application_form"])


def form_schema(version: ProcedureVersion, path: str | None) -> dict | None:
    """A form of the version, parsed once per version content (versions never change)."""
    if not path:
        return None
    key = (version.content_hash, path)
    if key not in _FORMS:
        _FORMS[key] = json.loads(version.files[path])
    return copy.deepcopy(_FORMS[key])


_FORMS: dict[tuple[str, str], dict] = {}


def _view(procedure: Procedure, *, with_form: bool) -> dict:
    version = procedure.active_version
    meta = version.meta
    view = {
        "code": procedure.code,
        "national_code": meta.get("national_code", ""),
        "name_vi": procedure.name_vi,
        "name_en": procedure.name_en,
        "field": meta.get("field", {}),
        "level": meta.get("level", 4),
        "online_label": meta.get("online_label", ""),
        "deadline": meta.get("deadline", {}),
        "fee": meta.get("fee", {}),
        "agency": {"code": procedure.agency.code, "name_vi": procedure.agency.name_vi,
                   "name_en": procedure.agency.name_en} if procedure.agency else None,
        "required_documents": meta.get("required_documents", []),
        "legal_basis": meta.get("legal_basis", []),
        "version": version.number,
        "deployed_at": version.deployed_at.isoformat(),
    }
    if with_form:
        view["form"] = application_form(version)
    return view


def list_procedures(p) -> list[dict]:
    """The catalogue: every procedure with an active version, by Vietnamese name."""
    with p.db.transaction() as session:
        rows = session.execute(select(Procedure).where(Procedure.active_version_id.is_not(None))
                               .order_by(Procedure.name_vi)).scalars().all()
        return [_view(r, with_form=False) for r in rows]


def get_procedure(p, code: str) -> dict:
    with p.db.transaction() as session:
        procedure = session.execute(select(Procedure).where(Procedure.code == code)).scalar()
        if procedure is None or procedure.active_version is None:
            raise NotFound(f"No procedure {code!r}.", vi=f"Không có thủ tục {code!r}.")
        return _view(procedure, with_form=True)
