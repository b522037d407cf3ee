"""Reading and validating a procedure bundle (a folder of bpmn/).

A bundle is a mapping of relative path → bytes. Validation collects every problem it
can find, each naming the file, the element and what is wrong, so that an analyst
fixes a bundle in one round instead of one error at a time.
"""

from __future__ import annotations

import ast
import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import (
    BusinessRuleTask,
    ManualTask,
    NoneTask,
    ScriptTask,
    ServiceTask,
    UserTask,
)
from sqlalchemy import select

from . import bundle_warnings, camunda, casefile, datastores, elements, eventsubs, problem_texts
from .cooperation import start_messages, start_receivers
from .errors import InvalidBundle
from .models import Agency, Procedure

#: the role of a lane-less human task in a diagram checked on its own (no procedure.yaml)
LONE_DIAGRAM_ROLE = "handler"
DEADLINE_UNITS = {"hours", "days", "working_days", "months"}
#: Decree 42/2022/NĐ-CP's online label for each service level of Decree 43/2011 (DOMAIN.md
#: §2): level 4 is fully online (toàn trình), level 3 partly online (một phần); levels 1
#: and 2 only publish information and forms, so they carry no online label.
LEVEL_LABELS = {4: "toàn trình", 3: "một phần", 2: None, 1: None}
BUNDLE_SUFFIXES = {".yaml", ".yml", ".bpmn", ".json", ".dmn"}
APPLICANT_ROLE = "applicant"


@dataclass
class Problem:
    file: str
    element: str
    message: str

    @property
    def message_vi(self) -> str:
        return problem_texts.in_vietnamese(self.message)

    def as_dict(self) -> dict:
        return {"file": self.file, "element": self.element, "message": self.message,
                "message_vi": self.message_vi}

    def __str__(self) -> str:
        return f"{self.file}: {self.element or '-'}: {self.message}"


@dataclass
class Bundle:
    """A parsed, validated bundle, ready to be stored as a version."""

    files: dict[str, str]
    meta: dict
    process_id: str
    spec: object  # BpmnProcessSpec
    subprocess_specs: dict
    content_hash: str
    problems: list[Problem] = field(default_factory=list)
    #: cooperating process id -> the message names that start it (their specs are among
    #: ``subprocess_specs``, stored with the version)
    cooperating: dict[str, list[str]] = field(default_factory=dict)
    #: what deploy accepted but the analyst should know: a default role it applied, and
    #: suspicious choices that do not stop a deploy (:mod:`engine.bundle_warnings`)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.meta["code"]


def read_folder(path: Path) -> dict[str, bytes]:
    """Every bundle file under ``path`` (or the single ``.bpmn`` file ``path``)."""
    path = Path(path)
    if path.is_file():
        return {"process.bpmn": path.read_bytes()}
    if not path.is_dir():
        raise InvalidBundle(f"{path} is neither a procedure folder nor a .bpmn file.",
                            vi=f"{path} không phải thư mục thủ tục hay tệp .bpmn.")
    files = {}
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in BUNDLE_SUFFIXES and not f.name.startswith("."):
            files[PurePosixPath(f.relative_to(path)).as_posix()] = f.read_bytes()
    return files


def content_hash(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def _decode(files: dict[str, str | bytes], problems: list[Problem]) -> dict[str, str]:
    out = {}
    for name, content in files.items():
        norm = PurePosixPath(name).as_posix()
        if norm.startswith("/") or ".." in PurePosixPath(norm).parts:
            problems.append(Problem(name, "", "file paths must stay inside the bundle"))
            continue
        if isinstance(content, bytes):
            try:
                content = content.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(name, "", "not UTF-8 text"))
                continue
        out[norm] = content.replace("\r\n", "\n")
    return out


def _load_meta(files: dict[str, str], problems: list[Problem]) -> dict | None:
    text = files.get("procedure.yaml") or files.get("procedure.yml")
    if text is None:
        return None
    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(Problem("procedure.yaml", "", f"not valid YAML: {exc}"))
        return None
    if not isinstance(meta, dict):
        problems.append(Problem("procedure.yaml", "", "must be a mapping of keys to values"))
        return None
    for key in ("code", "name", "agency", "deadline", "process_id", "application_form"):
        if key not in meta:
            problems.append(Problem("procedure.yaml", key, "required key is missing"))
    name = meta.get("name")
    if not isinstance(name, dict) or not name.get("vi"):
        problems.append(Problem("procedure.yaml", "name", "needs a Vietnamese name: name: {vi: …}"))
    deadline = meta.get("deadline") or {}
    if deadline and (deadline.get("unit") not in DEADLINE_UNITS
                     or not isinstance(deadline.get("value"), int) or deadline["value"] < 0):
        problems.append(Problem("procedure.yaml", "deadline",
                                f"needs a whole value >= 0 and a unit among {sorted(DEADLINE_UNITS)}"))
    online = deadline.get("online") if isinstance(deadline, dict) else None
    if online is not None and (not isinstance(online, int) or isinstance(online, bool)
                               or online < 0):
        problems.append(Problem("procedure.yaml", "deadline.online",
                                "the deadline of a dossier filed online needs a whole value >= 0"))
    agencies = meta.get("agencies")
    if agencies is not None and not (
            (isinstance(agencies, list) and all(isinstance(c, str) for c in agencies))
            or (isinstance(agencies, dict) and isinstance(agencies.get("kind"), str))):
        problems.append(Problem("procedure.yaml", "agencies",
                                "a list of agency codes, or a selector such as "
                                "{kind: district_finance}"))
    if meta.get("level", 4) not in (1, 2, 3, 4):
        problems.append(Problem("procedure.yaml", "level", "level must be 3 or 4"))
    else:
        _check_online_label(meta, problems)
    form_set = meta.get("form_set")
    if form_set is not None:
        from .formsets import available

        if form_set not in available():
            known = ", ".join(available())
            problems.append(Problem("procedure.yaml", "form_set",
                                    f"no form set {form_set!r} (known: {known})"))
    for doc, path in (meta.get("documents") or {}).items():
        if path not in files:
            problems.append(Problem("procedure.yaml", f"documents.{doc}", f"{path} is not in the bundle"))
    _check_cooperating_meta(meta, problems)
    return meta


def _check_online_label(meta: dict, problems: list[Problem]) -> None:
    """The level and its online label must agree with Decree 42/2022's pairing
    (:data:`LEVEL_LABELS`); a procedure without a label takes its level's."""
    if "online_label" not in meta:
        return
    level = meta.get("level", 4)
    label = meta.get("online_label")
    given = unicodedata.normalize("NFC", " ".join(str(label).split())).lower() \
        if label not in (None, "") else None
    expected = LEVEL_LABELS[level]
    if given == expected:
        return
    if expected is None:
        problems.append(Problem(
            "procedure.yaml", "online_label",
            f"a level-{level} procedure is not offered online (Decree 42/2022/NĐ-CP), so it has "
            f"no online label: remove {label!r} or raise the level"))
        return
    other = next((lvl for lvl, text in LEVEL_LABELS.items() if text == given), None)
    hint = f"; {label!r} is level {other}'s label" if other else ""
    problems.append(Problem(
        "procedure.yaml", "online_label",
        f"level {level} pairs with the online label {expected!r} (Decree 42/2022/NĐ-CP), not "
        f"{label!r}{hint}"))


def _check_cooperating_meta(meta: dict, problems: list[Problem]) -> None:
    """``cooperating:`` is a list of ``{process_id, agency?, deadline?}``."""
    entries = meta.get("cooperating")
    if entries is None:
        return
    if not isinstance(entries, list):
        problems.append(Problem("procedure.yaml", "cooperating",
                                "must be a list of {process_id, agency, deadline}"))
        meta["cooperating"] = []
        return
    for i, entry in enumerate(entries):
        where = f"cooperating[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("process_id"), str) \
                or not entry["process_id"].strip():
            problems.append(Problem("procedure.yaml", where,
                                    "needs process_id: the id of a process of the bundle"))
            continue
        if not isinstance(entry.get("agency", ""), str):
            problems.append(Problem("procedure.yaml", f"{where}.agency",
                                    "must be an agency code, e.g. \"000.00.13.H56\""))
        deadline = entry.get("deadline")
        if deadline is not None and (not isinstance(deadline, dict)
                                     or deadline.get("unit") not in DEADLINE_UNITS
                                     or not isinstance(deadline.get("value"), int)
                                     or isinstance(deadline.get("value"), bool)
                                     or deadline["value"] < 0):
            problems.append(Problem("procedure.yaml", f"{where}.deadline",
                                    f"needs a whole value >= 0 and a unit among "
                                    f"{sorted(DEADLINE_UNITS)}"))
    ids = [e["process_id"] for e in entries if isinstance(e, dict) and isinstance(
        e.get("process_id"), str)]
    if meta.get("process_id") in ids:
        problems.append(Problem("procedure.yaml", "cooperating",
                                f"{meta['process_id']!r} is the process a submission starts; "
                                "a cooperating process is another one"))
    if len(set(ids)) != len(ids):
        problems.append(Problem("procedure.yaml", "cooperating", "a process is listed twice"))


def cooperating_ids(meta: dict) -> tuple[str, ...]:
    return tuple(e["process_id"] for e in meta.get("cooperating") or []
                 if isinstance(e, dict) and isinstance(e.get("process_id"), str))


def _check_form(files: dict[str, str], path: str, where: str, problems: list[Problem],
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


#: comments are dropped before SpiffWorkflow sees a diagram (its parser takes a comment
#: inside a task for an element); no entities, no network
_XML_PARSER = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)


def _xml_problems(name: str, text: str) -> tuple[etree._Element | None, list[Problem]]:
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        return None, [Problem(name, f"line {exc.lineno}", f"malformed XML: {exc.msg}")]
    try:
        VALIDATOR.validate(root, name)
    except ValidationException as exc:
        line = getattr(exc, "line_number", "") or ""
        return None, [Problem(name, f"line {line}" if line else "", _first_line(str(exc)))]
    return root, []


def _add_decision_tables(parser: SpiffBpmnParser, texts: dict[str, str],
                         problems: list[Problem]) -> None:
    """Give the parser every ``*.dmn`` file of the bundle (DMN decision tables, which
    business rule tasks name by decision id); one decision id in one file only."""
    seen: dict[str, str] = {}
    for name in sorted(n for n in texts if n.endswith(".dmn")):
        try:
            root = etree.fromstring(texts[name].encode("utf-8"), parser=_XML_PARSER)
        except etree.XMLSyntaxError as exc:
            problems.append(Problem(name, f"line {exc.lineno}", f"malformed XML: {exc.msg}"))
            continue
        decisions = [el.get("id") for el in root if isinstance(el.tag, str)
                     and el.tag.endswith("}decision")]
        if not decisions:
            problems.append(Problem(name, "", "a DMN file needs a decision (with a decision "
                                              "table) for a business rule task to name"))
            continue
        for decision in decisions:
            if decision in seen:
                problems.append(Problem(name, decision, f"decision {decision!r} is also in "
                                                        f"{seen[decision]}: ids must be unique"))
            seen.setdefault(decision, name)
        try:
            parser.add_dmn_xml(root, filename=name)
        except (ValidationException, Exception) as exc:  # noqa: BLE001 - reported, not raised
            problems.append(Problem(name, getattr(exc, "id", "") or "", _first_line(str(exc))))


def _decision_expressions(ts) -> list[tuple[str, str]]:
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


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


def parse(files: dict[str, str | bytes], *, known_roles: set[str], operators: dict,
          expression_checker=None, process: str | None = None) -> Bundle:
    """Validate ``files`` as a bundle; raise :class:`InvalidBundle` listing every problem."""
    problems: list[Problem] = []
    texts = _decode(files, problems)
    meta = _load_meta(texts, problems)
    bpmn_names = [n for n in texts if n.endswith(".bpmn")]
    if meta is None:
        if "procedure.yaml" not in texts and len(bpmn_names) == 1:
            meta = {}  # a lone diagram: validated on its own (motcua deploy FILE.bpmn --check)
        else:
            problems.append(Problem("procedure.yaml", "", "the bundle has no procedure.yaml"))
            meta = {}
    if not bpmn_names:
        problems.append(Problem(meta.get("process", "process.bpmn"), "", "the bundle has no diagram"))
    if meta.get("application_form"):
        _check_form(texts, meta["application_form"], "procedure.yaml", problems)

    parser = SpiffBpmnParser(validator=None)
    parser.DATA_STORE_CLASSES = datastores.ANY_NAME  # every store is the procedure's
    roots = {}
    for name in bpmn_names:
        root, xml_problems = _xml_problems(name, texts[name])
        problems += xml_problems
        if root is not None:
            roots[name] = root
    process = process or meta.get("process_id")
    warnings: list[Problem] = []
    candidate_groups: dict[str, str] = {}
    camunda.convert(roots, texts, problems, Problem, warnings, candidate_groups)
    elements.check(roots, problems, Problem, main=process or _lone_main(roots, meta),
                   cooperating=cooperating_ids(meta))
    if problems:
        raise invalid(problems)
    eventsubs.mark(roots)
    for name, root in roots.items():
        try:
            parser.add_bpmn_xml(root, filename=name)
        except ValidationException as exc:
            problems.append(Problem(name, getattr(exc, "id", "") or "", _first_line(str(exc))))
    _add_decision_tables(parser, texts, problems)
    if problems:
        raise invalid(problems)

    process_id = process or _single_executable(parser, roots, bpmn_names[0], problems, warnings)
    if problems:
        raise invalid(problems)
    try:
        if process_id in parser.collaborations:  # pools that exchange messages in one diagram
            spec, subprocess_specs = parser.get_collaboration(process_id)
        else:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        name = getattr(exc, "file_name", "") or bpmn_names[0]
        raise invalid([Problem(name, getattr(exc, "id", "") or process_id,
                                _first_line(str(exc)))]) from None
    except Exception as exc:  # SpiffWorkflow raises plain exceptions for some bad diagrams
        raise invalid([Problem(bpmn_names[0], process_id, _first_line(str(exc)))]) from None

    cooperating = _cooperating_specs(parser, meta, subprocess_specs, problems)
    if problems:
        raise invalid(problems)
    eventsubs.wire([spec, *subprocess_specs.values()])
    default_role = _default_role(meta, texts, known_roles, problems)
    _check_specs([spec, *subprocess_specs.values()], texts, meta, known_roles, operators,
                 expression_checker, problems, default_role=default_role, warnings=warnings,
                 candidate_groups=candidate_groups)
    if problems:
        raise invalid(problems)
    return Bundle(files=texts, meta=meta, process_id=process_id, spec=spec,
                  subprocess_specs=subprocess_specs, content_hash=content_hash(texts),
                  cooperating=cooperating,
                  warnings=warnings + bundle_warnings.find(roots, Problem))


def _default_role(meta: dict, files: dict, known_roles: set[str],
                  problems: list[Problem]) -> tuple[str, str] | None:
    """``(role, where it comes from)`` for human tasks drawn outside any lane: procedure.yaml's
    ``default_role``, or :data:`LONE_DIAGRAM_ROLE` for a diagram checked on its own."""
    role = meta.get("default_role")
    if role is not None:
        if role not in set(known_roles) | {APPLICANT_ROLE}:
            problems.append(Problem("procedure.yaml", "default_role",
                                    f"{role!r} is not a known role "
                                    f"(known: {', '.join(sorted(known_roles))})"))
            return None
        return role, "default_role in procedure.yaml"
    if "procedure.yaml" not in files and "procedure.yml" not in files:
        return LONE_DIAGRAM_ROLE, ("the default for a diagram checked on its own; name another "
                                   "with default_role: in procedure.yaml")
    return None


def _cooperating_specs(parser, meta: dict, subprocess_specs: dict,
                       problems: list[Problem]) -> dict[str, list[str]]:
    """Add each cooperating process (and what it calls) to ``subprocess_specs``; the message
    names that start each. Two processes may not start on the same message."""
    found: dict[str, list[str]] = {}
    starter: dict[str, str] = {}
    for pid in cooperating_ids(meta):
        try:
            spec = parser.get_spec(pid)
            subprocess_specs.update(parser.get_subprocess_specs(pid))
        except ValidationException as exc:
            problems.append(Problem(getattr(exc, "file_name", "") or "procedure.yaml",
                                    getattr(exc, "id", "") or pid, _first_line(str(exc))))
            continue
        subprocess_specs[pid] = spec
        found[pid] = start_messages(spec)
        for name in found[pid]:
            if name in starter:
                problems.append(Problem("procedure.yaml", "cooperating",
                                        f"processes {starter[name]!r} and {pid!r} both start on "
                                        f"message {name!r}: one message starts one process"))
            starter.setdefault(name, pid)
    return found


def check_cooperating(session, bundle: Bundle, procedure_code: str | None = None) -> None:
    """What deploying needs the database for: every cooperating agency exists, and no other
    deployed procedure starts a process on one of this bundle's start messages (delivery
    could not tell which to start). Raises :class:`InvalidBundle`."""
    entries = [e for e in bundle.meta.get("cooperating") or [] if isinstance(e, dict)]
    starters = dict(bundle.cooperating)
    if start_messages(bundle.spec):  # the procedure's own process starts on a message
        starters[bundle.process_id] = start_messages(bundle.spec)
    if not entries and not starters:
        return
    problems: list[Problem] = []
    codes = {e.get("agency") for e in entries if e.get("agency")}
    known = set(session.execute(select(Agency.code).where(Agency.code.in_(codes))).scalars())
    for i, entry in enumerate(entries):
        if entry.get("agency") and entry["agency"] not in known:
            problems.append(Problem("procedure.yaml", f"cooperating[{i}].agency",
                                    f"no agency with code {entry['agency']!r}"))
    code = procedure_code or bundle.meta.get("code")
    own = session.execute(select(Procedure.id).where(Procedure.code == code)).scalar()
    taken = start_receivers(session, exclude_procedure_id=own)
    for pid, names in starters.items():
        for name in names:
            if name in taken:
                other = taken[name]
                problems.append(Problem(
                    "procedure.yaml", "cooperating",
                    f"message {name!r} already starts process {other.process_id!r} of procedure "
                    f"{other.procedure_code!r}; {pid!r} of {code!r} cannot start on it too: "
                    "rename the message"))
    if problems:
        raise invalid(problems)


def _lone_main(roots: dict, meta: dict) -> str | None:
    """For a diagram checked on its own, what its message start events may start: its
    only executable process, else its only collaboration (whose pools message each other)."""
    if meta or len(roots) != 1:
        return None
    [root] = roots.values()
    bpmn = elements.BPMN
    executable = [el.get("id") for el in root.iter(f"{bpmn}process")
                  if el.get("isExecutable") == "true"]
    if len(executable) == 1:
        return executable[0]
    collaborations = [el.get("id") for el in root.iter(f"{bpmn}collaboration")]
    return collaborations[0] if len(collaborations) == 1 else None


def _single_executable(parser: SpiffBpmnParser, roots: dict, name: str, problems: list[Problem],
                       warnings: list[Problem]) -> str:
    """The process to start when none is named: the only one, or the only one no other
    process calls (a call activity) or starts (a message of another pool)."""
    ids = parser.get_process_ids()
    if len(ids) == 1:
        return ids[0]
    called = {call.get("calledElement") for root in roots.values()
              for call in root.iter(f"{elements.BPMN}callActivity")}
    pooled = {p.get("processRef") for root in roots.values()
              for p in root.iter(f"{elements.BPMN}participant")}
    top = [pid for pid in ids if pid not in called]
    chosen = top[0] if len(top) == 1 and not (pooled & set(ids)) else None
    if chosen is None and len(parser.collaborations) == 1 and set(top) <= pooled:
        chosen = next(iter(parser.collaborations))  # the pools run together
    if chosen:
        warnings.append(Problem(name, chosen, f"several processes ({', '.join(ids)}): starting "
                                f"{chosen!r}, which no other process calls (name another with "
                                "process_id in procedure.yaml, or --process)"))
        return chosen
    if not ids:
        problems.append(Problem(name, "", "no executable process: set isExecutable=\"true\" on "
                                          "the process to run"))
        return ""
    problems.append(Problem(name, "", f"several processes ({', '.join(ids)}): name the one to "
                                      "start with process_id in procedure.yaml (or --process)"))
    return ""


def _check_specs(specs, files, meta, known_roles, operators, check_expr, problems, *,
                 default_role: tuple[str, str] | None = None,
                 warnings: list[Problem] | None = None,
                 candidate_groups: dict[str, str] | None = None) -> None:
    """Our own rules on the parsed specs. A human task outside any lane takes
    ``default_role`` (its lane is set on the spec, so the stored version carries it) with a
    warning; without one it is a problem."""
    roles = set(known_roles) | {APPLICANT_ROLE}
    documents = set((meta.get("documents") or {}).keys())
    for spec in specs:
        filename = getattr(spec, "file", "") or "process.bpmn"
        user_task_ids = {ts.bpmn_id for s in specs for ts in s.task_specs.values()
                         if isinstance(ts, UserTask)}
        for ts in spec.task_specs.values():
            where = ts.bpmn_id or ts.name

            def bad(msg, where=where, filename=filename):
                problems.append(Problem(filename, where, msg))

            group = (candidate_groups or {}).get(ts.bpmn_id or "")
            if isinstance(ts, UserTask) and not ts.lane and group:
                if group in roles:
                    ts.lane = group
                else:
                    bad(f"candidate group {group!r} is not a role code: rename the group to one "
                        f"of {', '.join(sorted(roles))}")
                    continue
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
            if isinstance(ts, UserTask):
                ext = ts.extensions or {}
                if not ts.lane:
                    bad("a user task must be in a lane whose name is a role, or procedure.yaml "
                        "must name a default_role")
                elif ts.lane not in roles:
                    bad(f"lane '{ts.lane}' is not a known role (known: {', '.join(sorted(roles))}): "
                    "rename the lane to a role code, or name a default_role in procedure.yaml")
                props = ext.get("properties") or {}
                form = props.get("formJsonSchemaFilename") or ext.get("formJsonSchemaFilename")
                if form and not meta and form not in files and warnings is not None:
                    # a diagram checked on its own: its forms belong to the bundle it goes in
                    warnings.append(Problem(filename, where, f"form {form!r} is not checked: a "
                                            "diagram checked on its own has no forms (deploy it "
                                            "in a bundle that holds the file)"))
                elif form:
                    _check_form(files, form, filename, problems, roles)
                if props.get("signDocument") and props["signDocument"] not in documents:
                    bad(f"signDocument '{props['signDocument']}' is not under documents: "
                        "in procedure.yaml")
                same = props.get("sameAssigneeAs")
                if same and same not in user_task_ids:
                    bad(f"sameAssigneeAs '{same}' is not the id of a user task")
                if props.get("dueIn") and check_expr:
                    _expr(check_expr, props["dueIn"], bad)
            elif isinstance(ts, ServiceTask):
                if ts.operation_name not in operators:
                    bad(f"unknown service operator '{ts.operation_name}' "
                        f"(registered: {', '.join(sorted(operators))})")
                else:
                    expected = operators[ts.operation_name].parameters
                    for pname, param in ts.operation_params.items():
                        if pname not in expected:
                            bad(f"operator '{ts.operation_name}' has no parameter '{pname}'")
                        elif check_expr:
                            _expr(check_expr, param["value"], bad)
                    for pname, required in expected.items():
                        if required and pname not in ts.operation_params:
                            bad(f"operator '{ts.operation_name}' needs parameter '{pname}'")
            elif isinstance(ts, ScriptTask) and check_expr:
                _expr(check_expr, ts.script or "", bad, mode="exec")
            elif isinstance(ts, BusinessRuleTask) and check_expr:
                for cell, source in _decision_expressions(ts):
                    for error in check_expr(source, "eval"):
                        bad(f"decision table {cell}: {source!r}: {error}")
            if isinstance(ts, ExclusiveGateway | InclusiveGateway) and check_expr:
                for condition, _target in getattr(ts, "cond_task_specs", []):
                    if condition is not None and condition.args:
                        _expr(check_expr, condition.args[0], bad)
            if check_expr:
                for source in _expressions(ts):
                    _expr(check_expr, source, bad)
                for message in _timer_problems(ts, getattr(check_expr, "evaluator", None)):
                    bad(message)


def _expressions(ts) -> list[str]:
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


def _timer_problems(ts, evaluator) -> list[str]:
    """A timer whose expression, evaluated now, gives a value its kind cannot use (a date
    for a ``timeDuration``): every dossier would fail there. Expressions that need task
    data cannot be tried before a dossier runs and are left to the static checks."""
    event = getattr(ts, "event_definition", None)
    problems = []
    for definition in [event, *getattr(event, "event_definitions", [])]:
        kind = _TIMER_KINDS.get(type(definition))
        if evaluator is None or kind is None or not (definition.expression or "").strip():
            continue
        name, expected, parse = kind
        try:
            value = evaluator.evaluate(definition.expression, {})
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


def _expr(check_expr, source: str, bad, mode: str = "eval") -> None:
    for error in check_expr(source, mode):
        bad(f"expression {source!r}: {error}")


def invalid(problems: list[Problem]) -> InvalidBundle:
    lines = "; ".join(str(p) for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    lines_vi = "; ".join(f"{p.file}: {p.element or '-'}: {p.message_vi}" for p in problems[:5])
    more_vi = f" (và {len(problems) - 5} lỗi khác)" if len(problems) > 5 else ""
    return InvalidBundle(f"The procedure bundle is not valid: {lines}{more}",
                         vi=f"Gói thủ tục không hợp lệ: {lines_vi}{more_vi}",
                         details=[p.as_dict() for p in problems])
