"""Reading and validating a procedure bundle (a folder of bpmn/).

A bundle is a mapping of relative path → bytes. Validation collects every problem it
can find, each naming the file, the element and what is wrong, so that an analyst
fixes a bundle in one round instead of one error at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import bundle_warnings, camunda, datastores, elements, eventsubs, library_texts
from .bundle_meta import cooperating_ids, load_meta
from .bundle_problems import Problem, invalid
from .bundle_specs import APPLICANT_ROLE, check_form, check_specs
from .cooperation import start_messages, start_receivers
from .errors import InvalidBundle
from .models import Agency, Procedure
from .vocabulary import RoleCode

#: the role of a lane-less human task in a diagram checked on its own (no procedure.yaml)
LONE_DIAGRAM_ROLE = RoleCode.HANDLER
BUNDLE_SUFFIXES = {".yaml", ".yml", ".bpmn", ".json", ".dmn"}


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
        return None, [Problem(name, f"line {line}" if line else "", _first_line(exc))]
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
            problems.append(Problem(name, getattr(exc, "id", "") or "", _first_line(exc)))


def _first_line(said: str | BaseException) -> str:
    """The first line of a library's message (of an exception: its message alone, without
    the notes SpiffWorkflow appends), elements named with their usual prefix."""
    if isinstance(said, BaseException):
        said = said.args[0] if said.args and isinstance(said.args[0], str) else str(said)
    said = library_texts.short(said)
    return said.strip().splitlines()[0] if said.strip() else said


def parse(files: dict[str, str | bytes], *, known_roles: set[str], operators: dict,
          expression_checker: Callable[[str, str], list[str]] | None = None,
          process: str | None = None) -> Bundle:
    """Validate ``files`` as a bundle; raise :class:`InvalidBundle` listing every problem."""
    problems: list[Problem] = []
    texts, meta, bpmn_names = _read_bundle(files, problems)
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
            problems.append(Problem(name, getattr(exc, "id", "") or "", _first_line(exc)))
    _add_decision_tables(parser, texts, problems)
    if problems:
        raise invalid(problems)

    process_id = process or _single_executable(parser, roots, bpmn_names[0], problems, warnings)
    if problems:
        raise invalid(problems)
    spec, subprocess_specs = _process_specs(parser, process_id, bpmn_names[0])
    cooperating = _cooperating_specs(parser, meta, subprocess_specs, problems)
    if problems:
        raise invalid(problems)
    eventsubs.wire([spec, *subprocess_specs.values()])
    default_role = _default_role(meta, texts, known_roles, problems)
    check_specs([spec, *subprocess_specs.values()], texts, meta, known_roles, operators,
                 expression_checker, problems, default_role=default_role, warnings=warnings,
                 candidate_groups=candidate_groups)
    if problems:
        raise invalid(problems)
    return Bundle(files=texts, meta=meta, process_id=process_id, spec=spec,
                  subprocess_specs=subprocess_specs, content_hash=content_hash(texts),
                  cooperating=cooperating,
                  warnings=warnings + bundle_warnings.find(roots, Problem))


def _read_bundle(files: dict[str, str | bytes],
                 problems: list[Problem]) -> tuple[dict[str, str], dict, list[str]]:
    """``(texts, meta, diagram names)``: the files as text, procedure.yaml (empty for a lone
    diagram) and the application form checked."""
    texts = _decode(files, problems)
    meta = load_meta(texts, problems)
    bpmn_names = [n for n in texts if n.endswith(".bpmn")]
    if meta is None:
        if "procedure.yaml" not in texts and len(bpmn_names) == 1:
            meta = {}  # a lone diagram: validated on its own (motcua deploy FILE.bpmn --check)
        else:
            if "procedure.yaml" not in texts and "procedure.yml" not in texts:
                problems.append(Problem("procedure.yaml", "", "the bundle has no procedure.yaml"))
            meta = {}  # else unreadable: load_meta said why
    if not bpmn_names:
        problems.append(Problem(meta.get("process", "process.bpmn"), "", "the bundle has no diagram"))
    if meta.get("application_form"):
        check_form(texts, meta["application_form"], "procedure.yaml", problems)
    return texts, meta, bpmn_names


def _process_specs(parser: SpiffBpmnParser, process_id: str, first_diagram: str
                   ) -> tuple[object, dict]:
    """The spec of the process (or collaboration) ``process_id`` and the specs it calls;
    raises :class:`InvalidBundle` when SpiffWorkflow cannot build them."""
    try:
        if process_id in parser.collaborations:  # pools that exchange messages in one diagram
            return parser.get_collaboration(process_id)
        return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        name = getattr(exc, "file_name", "") or first_diagram
        raise invalid([Problem(name, getattr(exc, "id", "") or process_id,
                                _first_line(exc))]) from None
    except Exception as exc:  # SpiffWorkflow raises plain exceptions for some bad diagrams
        raise invalid([Problem(first_diagram, process_id, _first_line(exc))]) from None


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


def _cooperating_specs(parser: SpiffBpmnParser, meta: dict, subprocess_specs: dict,
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
                                    getattr(exc, "id", "") or pid, _first_line(exc)))
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


def check_cooperating(session: Session, bundle: Bundle, procedure_code: str | None = None) -> None:
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


