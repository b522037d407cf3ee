"""Our own rules on a bundle's parsed process specs: lanes are roles, forms are JSON
Schemas, service tasks name registered operators with their parameters, and every
expression, decision table cell and timer passes the expression checker."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.spiff.specs.defaults import (
    BusinessRuleTask,
    ManualTask,
    NoneTask,
    ScriptTask,
    ServiceTask,
    UserTask,
)

from . import casefile, clock
from .bundle_problems import Problem
from .sandbox import RestrictedEvaluator
from .vocabulary import RoleCode

#: the deploy-time expression checker: ``(source, 'eval' or 'exec')`` -> its errors
ExpressionCheck = Callable[[str, str], list[str]]
#: reports a problem of the task spec at hand
Bad = Callable[[str], None]

APPLICANT_ROLE = RoleCode.APPLICANT


def check_form(files: dict[str, str], path: str, where: str, problems: list[Problem],
                roles: set[str] | None = None) -> None:
    if path not in files:
        problems.append(Problem(where, path, "the form file is not in the bundle"))
        return
    try:
        schema = json.loads(files[path])
        Draft202012Validator.check_schema(schema)
    except json.JSONDecodeError as exc:
        problems.append(Problem(path, "", f"not valid JSON: {exc}"))
        return
    except SchemaError as exc:
        loc = "/".join(str(p) for p in exc.path) or "(root)"
        problems.append(Problem(path, loc, f"not a valid JSON Schema: {exc.message}"))
        return
    if schema.get("type") != "object":
        problems.append(Problem(path, "(root)", 'a form schema must have "type": "object"'))
    if roles is not None:
        problems += [Problem(path, loc, msg)
                     for loc, msg in casefile.show_to_problems(schema, roles)]


def _decision_expressions(ts: TaskSpec) -> list[tuple[str, str]]:
    """``(where, expression)`` for every expression of a business rule task's decision
    table, as the DMN engine will evaluate it (a cell like ``< 10`` is read after its
    input)."""
    table = ts.dmnEngine.decision_table
    found = [(f"{table.id} input {i.label or i.name or i.id}", i.expression)
             for i in table.inputs if i.expression]
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if lhs is None or not str(lhs).strip():
                    continue
                text = str(lhs).replace("?", "dmninputexpr")
                expression = entry.input.expression or "None"
                try:
                    ast.parse(text, mode="eval")
                    full = f"({expression}) == ({text})" if "dmninputexpr" not in text else text
                except SyntaxError:
                    full = f"({expression}) {text}"
                found.append((f"{table.id} row {rule.row_number}", full))
        for entry in rule.outputEntries:
            if entry.text and str(entry.text).strip():
                found.append((f"{table.id} row {rule.row_number}", entry.text))
    return found


def check_specs(specs: list[BpmnProcessSpec], files: dict[str, str], meta: dict,
                known_roles: set[str], operators: dict, check_expr: ExpressionCheck | None,
                problems: list[Problem], *,
                 default_role: tuple[str, str] | None = None,
                 warnings: list[Problem] | None = None,
                 candidate_groups: dict[str, str] | None = None) -> None:
    """Our own rules on the parsed specs. A human task outside any lane takes
    ``default_role`` (its lane is set on the spec, so the stored version carries it) with a
    warning; without one it is a problem."""
    check = _SpecCheck(
        files=files, meta=meta, roles=set(known_roles) | {APPLICANT_ROLE},
        documents=set((meta.get("documents") or {}).keys()),
        user_task_ids={ts.bpmn_id for s in specs for ts in s.task_specs.values()
                       if isinstance(ts, UserTask)},
        operators=operators, check_expr=check_expr, problems=problems, warnings=warnings,
        default_role=default_role, candidate_groups=candidate_groups or {})
    for spec in specs:
        filename = getattr(spec, "file", "") or "process.bpmn"
        for ts in spec.task_specs.values():
            check.task(ts, filename)


@dataclass
class _SpecCheck:
    """What :func:`check_specs` checks every task spec against, and where it reports."""

    files: dict[str, str]
    meta: dict
    roles: set[str]
    documents: set[str]
    user_task_ids: set[str]
    operators: dict
    check_expr: ExpressionCheck | None
    problems: list[Problem]
    warnings: list[Problem] | None
    default_role: tuple[str, str] | None
    candidate_groups: dict[str, str]

    def task(self, ts: TaskSpec, filename: str) -> None:
        where = ts.bpmn_id or ts.name

        def bad(msg: str, where: str = where, filename: str = filename) -> None:
            self.problems.append(Problem(filename, where, msg))

        if not self._lane(ts, filename, where, bad):
            return
        check_expr = self.check_expr
        if isinstance(ts, UserTask):
            self._user_task(ts, filename, where, bad)
        elif isinstance(ts, ServiceTask):
            self._service_task(ts, bad)
        elif isinstance(ts, ScriptTask) and check_expr:
            _expr(check_expr, ts.script or "", bad, mode="exec")
        elif isinstance(ts, BusinessRuleTask) and check_expr:
            for cell, source in _decision_expressions(ts):
                for error in check_expr(source, "eval"):
                    bad(f"decision table {cell}: {source!r}: {error}")
        if check_expr:
            self._expressions(ts, bad)

    def _lane(self, ts: TaskSpec, filename: str, where: str, bad: Bad) -> bool:
        """Give a human task its lane (candidate group, else the default role, with a
        warning) and check it names a role; False when the task is not checked further."""
        roles, default_role, warnings = self.roles, self.default_role, self.warnings
        group = self.candidate_groups.get(ts.bpmn_id or "")
        if isinstance(ts, UserTask) and not ts.lane and group:
            if group not in roles:
                bad(f"candidate group {group!r} is not a role code: rename the group to one "
                    f"of {', '.join(sorted(roles))}")
                return False
            ts.lane = group
        if isinstance(ts, ManualTask | NoneTask | UserTask) and not ts.lane and default_role:
            ts.lane = default_role[0]
            if warnings is not None:
                warnings.append(Problem(filename, where, f"not in a lane: given to role "
                                        f"{default_role[0]!r} ({default_role[1]})"))
        elif isinstance(ts, ManualTask | NoneTask | UserTask) and ts.lane \
                and ts.lane not in roles and default_role:
            lane, ts.lane = ts.lane, default_role[0]
            if warnings is not None:
                warnings.append(Problem(filename, where, f"lane '{lane}' is not a role: "
                                        f"given to role {default_role[0]!r} "
                                        f"({default_role[1]})"))
        if isinstance(ts, ManualTask | NoneTask) and not ts.lane:
            bad("a manual or untyped task waits for a person: put it in a lane whose name is "
                "a role, name a default_role in procedure.yaml, or make it a script or "
                "service task")
        elif isinstance(ts, ManualTask | NoneTask) and ts.lane not in roles:
            bad(f"lane '{ts.lane}' is not a known role (known: {', '.join(sorted(roles))}): "
                "rename the lane to a role code, or name a default_role in procedure.yaml")
        return True

    def _user_task(self, ts: TaskSpec, filename: str, where: str, bad: Bad) -> None:
        """A user task is in a role's lane; its form, document to sign, same-assignee task
        and due date are the bundle's."""
        roles, files, meta = self.roles, self.files, self.meta
        ext = ts.extensions or {}
        if not ts.lane:
            bad("a user task must be in a lane whose name is a role, or procedure.yaml "
                "must name a default_role")
        elif ts.lane not in roles:
            bad(f"lane '{ts.lane}' is not a known role (known: {', '.join(sorted(roles))}): "
            "rename the lane to a role code, or name a default_role in procedure.yaml")
        props = ext.get("properties") or {}
        form = props.get("formJsonSchemaFilename") or ext.get("formJsonSchemaFilename")
        if form and not meta and form not in files and self.warnings is not None:
            # a diagram checked on its own: its forms belong to the bundle it goes in
            self.warnings.append(Problem(filename, where, f"form {form!r} is not checked: a "
                                         "diagram checked on its own has no forms (deploy it "
                                         "in a bundle that holds the file)"))
        elif form:
            check_form(files, form, filename, self.problems, roles)
        if props.get("signDocument") and props["signDocument"] not in self.documents:
            bad(f"signDocument '{props['signDocument']}' is not under documents: "
                "in procedure.yaml")
        same = props.get("sameAssigneeAs")
        if same and same not in self.user_task_ids:
            bad(f"sameAssigneeAs '{same}' is not the id of a user task")
        if props.get("dueIn") and self.check_expr:
            _expr(self.check_expr, props["dueIn"], bad)

    def _service_task(self, ts: TaskSpec, bad: Bad) -> None:
        """A service task names a registered operator, with its parameters and no others."""
        operators, check_expr = self.operators, self.check_expr
        if ts.operation_name not in operators:
            bad(f"unknown service operator '{ts.operation_name}' "
                f"(registered: {', '.join(sorted(operators))})")
            return
        expected = operators[ts.operation_name].parameters
        for pname, param in ts.operation_params.items():
            if pname not in expected:
                bad(f"operator '{ts.operation_name}' has no parameter '{pname}'")
            elif check_expr:
                _expr(check_expr, param["value"], bad)
        for pname, required in expected.items():
            if required and pname not in ts.operation_params:
                bad(f"operator '{ts.operation_name}' needs parameter '{pname}'")

    def _expressions(self, ts: TaskSpec, bad: Bad) -> None:
        """Gateway conditions, timers, message payloads and loop conditions pass the
        expression checker; a timer's value fits its kind."""
        check_expr = self.check_expr
        if isinstance(ts, ExclusiveGateway | InclusiveGateway):
            for condition, _target in getattr(ts, "cond_task_specs", []):
                if condition is not None and condition.args:
                    _expr(check_expr, condition.args[0], bad)
        for source in _expressions(ts):
            _expr(check_expr, source, bad)
        for message in _timer_problems(ts, getattr(check_expr, "evaluator", None)):
            bad(message)


def _expressions(ts: TaskSpec) -> list[str]:
    """Every expression a task spec evaluates besides scripts, parameters and gateway
    conditions: timers, message payloads and correlations, loop and multi-instance
    conditions and counts."""
    found = []
    event = getattr(ts, "event_definition", None)
    for definition in [event, *getattr(event, "event_definitions", [])]:
        if isinstance(definition, TimerEventDefinition):
            found.append(definition.expression)
        found.append(getattr(definition, "expression", None))
        for prop in [*getattr(definition, "correlation_properties", []),
                     *getattr(definition, "process_correlations", [])]:
            found.append(prop.retrieval_expression)
    for attr in ("cardinality", "condition"):
        found.append(getattr(ts, attr, None))
    return sorted({s for s in found if isinstance(s, str) and s.strip()})


#: What each kind of timer's expression must give, and an example of it.
_TIMER_KINDS = {
    DurationTimerEventDefinition: ("timeDuration", "an ISO 8601 duration such as 'P5D' or "
                                   "'PT4H'", TimerEventDefinition.parse_iso_duration),
    TimeDateEventDefinition: ("timeDate", "a date and time such as working_days(5) or "
                              "'2026-12-31T17:00:00'", TimerEventDefinition.get_datetime),
    CycleTimerEventDefinition: ("timeCycle", "a repeating interval such as 'R3/PT1H'",
                                TimerEventDefinition.parse_iso_recurring_interval),
}


def _sample_dossier() -> dict:
    """The ``dossier`` every process starts with (:func:`engine.dossiers.initial_data`), with
    made-up values of the right kinds, for trying timer expressions at deploy."""
    received = clock.now().replace(microsecond=0)
    return {"dossier": {"code": "KIEM-TRA", "received_at": received.isoformat(),
                        "due_at": (received + timedelta(days=10)).isoformat(),
                        "agency_code": "", "agency_name": "", "procedure": "",
                        "applicant": {"name": "", "email": "", "id_number": ""}}}


def _timer_problems(ts: TaskSpec, evaluator: RestrictedEvaluator | None) -> list[str]:
    """A timer whose expression, evaluated now over the ``dossier`` every process starts
    with, gives a value its kind cannot use (a date for a ``timeDuration``): every dossier
    would fail there. Expressions that need the application or other task data cannot be
    tried before a dossier runs and are left to the static checks."""
    event = getattr(ts, "event_definition", None)
    problems = []
    for definition in [event, *getattr(event, "event_definitions", [])]:
        kind = _TIMER_KINDS.get(type(definition))
        if evaluator is None or kind is None or not (definition.expression or "").strip():
            continue
        name, expected, parse = kind
        try:
            value = evaluator.evaluate(definition.expression, _sample_dossier())
        except Exception:  # needs task data, or fails statically (reported already)
            continue
        if isinstance(value, datetime) and name == "timeDate":
            continue
        if isinstance(value, timedelta) and name == "timeDuration":
            continue
        try:
            parse(str(value))
        except Exception:
            problems.append(f"{name} expression {definition.expression!r} gives {value!r}, "
                            f"not {expected}")
    return problems


def _expr(check_expr: ExpressionCheck, source: str, bad: Bad, mode: str = "eval") -> None:
    for error in check_expr(source, mode):
        bad(f"expression {source!r}: {error}")
