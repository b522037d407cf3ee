"""The procedure catalogue and deployment of bundles as immutable versions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, or_, select

from . import audit, bundles
from .calendar import WorkingCalendar
from .cooperation import start_messages
from .documents import unaccented
from .errors import InvalidBundle
from .forms import form_schema, shared_form
from .lookup import by_code
from .models import Agency, Procedure, ProcedureAgency, ProcedureVersion, Role
from .operators import REGISTRY
from .scripting import check_expression, make_evaluator
from .spiff import SPECS, specs_to_dict


def deploy_bundle(p, source: Path | dict, *, actor: str = "system",
                  check_only: bool = False, process: str | None = None) -> dict:
    """Validate a bundle and, unless ``check_only``, store it as the procedure's new active
    version. The same content deployed again is a no-op (``created: False``). ``process``
    names the process to start when procedure.yaml does not; ``warnings`` in the result
    lists what deploy accepted with a default (a lane-less task's role, the process chosen).

    Raises :class:`InvalidBundle` listing every problem found.
    """
    files = bundles.read_folder(Path(source)) if isinstance(source, str | Path) else dict(source)
    with p.db.transaction() as session:
        roles = set(session.execute(select(Role.code)).scalars())
        checker = check_expression(make_evaluator(WorkingCalendar()))
        bundle = bundles.parse(files, known_roles=roles, operators=REGISTRY,
                               expression_checker=checker, process=process)
        meta = bundle.meta
        warnings = [w.as_dict() for w in bundle.warnings]
        agency = None
        if meta.get("agency"):
            agency = session.execute(select(Agency).where(Agency.code == meta["agency"])).scalar()
            if agency is None:
                raise bundles.invalid([bundles.Problem(
                    "procedure.yaml", "agency", f"no agency with code {meta['agency']!r}")])
        named = _named_agencies(session, meta.get("agencies"))
        bundles.check_cooperating(session, bundle)  # agencies, start messages taken
        if check_only:
            return {"code": meta.get("code"), "version": None, "created": False, "valid": True,
                    "warnings": warnings}
        if not meta.get("code"):
            raise InvalidBundle("A bundle needs a procedure.yaml to be deployed.",
                                vi="Cần có procedure.yaml để triển khai thủ tục.",
                                details=[bundles.Problem("procedure.yaml", "",
                                                         "missing").as_dict()])
        procedure = session.execute(select(Procedure).where(Procedure.code == meta["code"])).scalar()
        if procedure is None:
            procedure = Procedure(code=meta["code"], name_vi=meta["name"]["vi"])
            session.add(procedure)
            session.flush()
        same = session.execute(select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == procedure.id,
            ProcedureVersion.content_hash == bundle.content_hash)).scalar()
        if same is not None:
            return {"code": procedure.code, "version": same.number, "created": False, "valid": True,
                    "warnings": warnings}
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
        if procedure.agency_id is None:  # afterwards the main agency is the administrator's
            procedure.agency_id = agency.id if agency else None
        _seed_mapping(session, procedure, named)
        procedure.active_version_id = version.id
        audit.append(session, actor=actor, action="deploy",
                     detail={"procedure": procedure.code, "version": number,
                             "hash": bundle.content_hash})
        return {"code": procedure.code, "version": number, "created": True, "valid": True,
                "warnings": warnings}


def receives(procedure_id, main_agency_id) -> ColumnElement[bool]:
    """Whether the agency (:class:`Agency`'s row) receives the dossiers of the procedure
    ``procedure_id`` whose main agency is ``main_agency_id`` (values or columns): an open
    agency among the ``procedure_agency`` rows an administrator edits, or, for a
    procedure without any such row, its main agency when it is open. A mapping whose
    agencies are all closed receives nothing: closing an office must not silently send its
    dossiers to the department."""
    mapped = select(ProcedureAgency.agency_id).where(ProcedureAgency.procedure_id == procedure_id)
    return and_(Agency.active.is_(True),
                or_(Agency.id.in_(mapped), and_(Agency.id == main_agency_id, ~mapped.exists())))


# Built once: the counter and the administrators ask it (a submission reads the same rule
# with its procedure: engine.dossiers).
_RECEIVING = (select(Agency)
              .where(receives(bindparam("procedure_id", type_=Integer),
                              bindparam("agency_id", type_=Integer)))
              .order_by(Agency.code))


def receiving_agencies(session, procedure: Procedure) -> list[Agency]:
    """The agencies that receive ``procedure``'s dossiers (:func:`receives`), ordered by
    code."""
    return list(session.execute(_RECEIVING, {"procedure_id": procedure.id,
                                             "agency_id": procedure.agency_id}).scalars())


def _named_agencies(session, spec) -> list[Agency]:
    """The agencies procedure.yaml's ``agencies:`` names: a list of codes, or a selector
    ``{kind: …}`` (optionally with ``parent: code``) matching every active agency of that
    kind. Raises :class:`InvalidBundle` for a code or selector that names nothing."""
    if not spec:
        return []
    if isinstance(spec, dict):
        query = select(Agency).where(Agency.kind == spec.get("kind"), Agency.active.is_(True))
        if spec.get("parent"):
            parent = select(Agency.id).where(Agency.code == spec["parent"]).scalar_subquery()
            query = query.where(Agency.parent_id == parent)
        found = session.execute(query.order_by(Agency.code)).scalars().all()
        if not found:
            raise bundles.invalid([bundles.Problem(
                "procedure.yaml", "agencies", f"no active agency matches {spec!r}")])
        return list(found)
    found = {a.code: a for a in session.execute(
        select(Agency).where(Agency.code.in_([str(c) for c in spec]))).scalars()}
    missing = [str(c) for c in spec if str(c) not in found]
    if missing:
        raise bundles.invalid([bundles.Problem(
            "procedure.yaml", "agencies", f"no agency with code {code!r}") for code in missing])
    return [found[str(c)] for c in spec]


def _seed_mapping(session, procedure: Procedure, agencies: list[Agency]) -> None:
    """Seed which agencies receive the procedure from procedure.yaml, once: when it has no
    mapping yet. After that the mapping is the administrator's and redeploying leaves it."""
    if not agencies:
        return
    exists = session.execute(select(ProcedureAgency.agency_id).where(
        ProcedureAgency.procedure_id == procedure.id).limit(1)).first()
    if exists is None:
        session.add_all(ProcedureAgency(procedure_id=procedure.id, agency_id=a.id)
                        for a in {a.id: a for a in agencies}.values())


def application_form(version: ProcedureVersion, *, shared: bool = False) -> dict:
    """The version's application form: a copy, or with ``shared`` the parsed form itself,
    read-only (what a submission checks data against, :func:`engine.forms.shared_form`)."""
    path = version.meta["application_form"]
    return shared_form(version, path) if shared else form_schema(version, path)


def public_fee(fee) -> dict:
    """A procedure's ``fee:`` as the public reads it: without ``admin_note``, the
    administrators' own remark (what is unconfirmed, who updates it), never shown to the
    public."""
    return {k: v for k, v in fee.items() if k != "admin_note"} if isinstance(fee, dict) else {}


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
        "fee": public_fee(meta.get("fee")),
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


def list_procedures(p, search: str = "") -> list[dict]:
    """The catalogue: every procedure with an active version that people submit, by
    Vietnamese name (one whose process starts on another system's message is left out);
    with ``search``, those holding each of its words (:func:`matches`)."""
    with p.db.read() as session:
        rows = session.execute(select(Procedure).where(Procedure.active_version_id.is_not(None))
                               .order_by(Procedure.name_vi)).scalars().all()
        views = [_view(r, with_form=False) for r in rows
                 if not start_messages(SPECS.get(r.active_version)[0])]
    return [v for v in views if matches(v, search)]


def matches(view: dict, search: str) -> bool:
    """Whether every word of ``search`` (its first 100 characters) is in the procedure's
    names, codes, field or agency, case and diacritics aside: people often type without
    them (``giay phep van tai`` finds ``Giấy phép kinh doanh vận tải``)."""
    words = unaccented(search[:100]).split()
    agency = view["agency"] or {}
    field = view["field"] if isinstance(view["field"], dict) else {"vi": view["field"]}
    held = unaccented(" ".join(str(t or "") for t in (
        view["code"], view["national_code"], view["name_vi"], view["name_en"],
        agency.get("name_vi"), agency.get("name_en"), *field.values())))
    return all(w in held for w in words)


def get_procedure(p, code: str) -> dict:
    """One procedure of the catalogue, with its application form and receiving agencies."""
    with p.db.read() as session:
        procedure = by_code(session, Procedure, code,
                            where=lambda row: row.active_version is not None)
        view = _view(procedure, with_form=True)
        view["agencies"] = [{"code": a.code, "name_vi": a.name_vi, "name_en": a.name_en}
                            for a in receiving_agencies(session, procedure)]
        return view
