"""What the diagram editor's properties panel offers to choose from.

Roles for lanes, the registered service operators and their parameters, the bundle's
forms and documents: the same lists deploy-time validation checks against, so a choice
made in the panel is one validation accepts.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from engine import accounts
from engine.operators import REGISTRY
from engine.vocabulary import RoleCode

APPLICANT = RoleCode.APPLICANT  # not a role: the dossier's own applicant (bpmn/README.md)
PARAMETER_TYPES = ("str", "int", "float", "bool", "dict", "list")
# Expression helpers of the restricted evaluator (bpmn/README.md), shown as hints.
HELPERS = ("now()", "working_days(n)", "working_days(n, start)",
           "working_days_before(moment, n)", "hours(n)", "days(n)")


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool
    type: str  # the value of the diagram's ``type=`` attribute


@dataclass(frozen=True)
class OperatorInfo:
    name: str
    summary: str
    parameters: tuple[Parameter, ...]


def known_roles(p) -> list[dict]:
    """``[{code, name_vi, name_en}]``: the applicant first, then every role by code (the
    list deploy validation checks lanes against)."""
    applicant = {"code": APPLICANT, "name_vi": "Người nộp hồ sơ", "name_en": "Applicant"}
    return [applicant] + [r for r in accounts.list_roles(p) if r["code"] != APPLICANT]


def operators() -> list[OperatorInfo]:
    """Every registered operator, its first docstring line and its parameters, whose
    ``type`` comes from the Python annotation (``str`` when there is none)."""
    infos = []
    for name in sorted(REGISTRY):
        op = REGISTRY[name]
        signature = inspect.signature(op.func)
        params = []
        for pname, required in op.parameters.items():
            annotation = signature.parameters[pname].annotation
            kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
            params.append(Parameter(pname, required, kind if kind in PARAMETER_TYPES else "str"))
        infos.append(OperatorInfo(name, (op.doc or "").strip().split("\n")[0], tuple(params)))
    return infos


def forms(files: dict[str, str]) -> list[str]:
    """The bundle's form files (``forms/*.json``), sorted."""
    return sorted(name for name in files if name.startswith("forms/") and name.endswith(".json"))


def documents(meta: dict) -> list[str]:
    """Names of the documents a user task may sign (``documents:`` of procedure.yaml)."""
    return sorted((meta or {}).get("documents") or {})
