"""A conformance run: every diagram of a folder checked as ``motcua deploy --check`` checks it,
and the accepted ones that need no person or outside service run to their end.

Each ``.bpmn`` file is a bundle of its own, with the ``.dmn`` files of its folder and of a
``dmn/`` folder beside it that hold a decision it names (the way SpiffWorkflow's own test
diagrams are kept). A run saves and restores the workflow
after every engine step, as a dossier's steps do, and moves the engine clock to the next
timer instead of waiting. Nothing is written to a database: the roles are the built-in ones
that ``motcua init`` loads. ``motcua conformance DIR`` prints the report.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import types
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import bundles, clock, platform
from .calendar import WorkingCalendar
from .errors import EngineError, InvalidBundle
from .operators import REGISTRY
from .scripting import MotcuaScriptEngine, check_expression, make_evaluator
from .spiff import SERIALIZER, SPECS, MotcuaWorkflow, specs_to_dict

SEED_ROLES = Path(__file__).parent / "seed" / "roles.yaml"
MAX_ROUNDS = 200
#: A run taking longer than this is stopped and reported (an endless loop in a diagram)
RUN_SECONDS = 10


@dataclass
class FileResult:
    """What became of one diagram: accepted or not, the problems, and how a run ended."""

    file: str
    accepted: bool
    problems: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    #: "completed", "person" (waits for a user/manual task), "message", "timer",
    #: "service" (an outside service or operator), "error: …", or "" when not run
    run: str = ""

    def as_dict(self) -> dict:
        return {"file": self.file, "accepted": self.accepted, "problems": self.problems,
                "warnings": self.warnings, "run": self.run}


def builtin_roles() -> set[str]:
    return {r["code"] for r in yaml.safe_load(SEED_ROLES.read_text(encoding="utf-8"))}


def check_file(path: Path, base: Path, *, roles: set[str], run: bool = True,
               process: str | None = None) -> FileResult:
    """Check (and run) one diagram, with the ``.dmn`` files of its folder."""
    files = {"process.bpmn": path.read_bytes()}
    named = set(re.findall(rb"calledDecisionId>\s*([^<\s]+)\s*<|decisionRef=\"([^\"]+)\"",
                           files["process.bpmn"]))
    wanted = {ref for pair in named for ref in pair if ref}
    for dmn in [*sorted(path.parent.glob("*.dmn")), *sorted(path.parent.glob("dmn/*.dmn"))]:
        text = dmn.read_bytes()
        found = {ref for ref in wanted if b'decision id="' + ref + b'"' in text}
        if found:  # the first file that holds a decision it names
            files[dmn.relative_to(path.parent).as_posix()] = text
            wanted -= found
    name = path.relative_to(base).as_posix()
    evaluator = make_evaluator(WorkingCalendar())
    try:
        bundle = bundles.parse(files, known_roles=roles, operators=REGISTRY,
                               expression_checker=check_expression(evaluator),
                               process=process)
    except InvalidBundle as error:
        return FileResult(name, False, problems=list(error.details))
    except Exception as exc:  # noqa: BLE001 - a traceback is a finding of the run
        return FileResult(name, False, problems=[{"file": name, "element": "",
                                                  "message": f"crash: {type(exc).__name__}: {exc}"}])
    result = FileResult(name, True, warnings=[p.as_dict() for p in bundle.warnings])
    if run:
        result.run = run_to_end(bundle)
    return result


def run_to_end(bundle) -> str:
    """Run ``bundle``'s process until it ends or waits for what no engine supplies; the
    clock jumps to each timer. Restores the clock afterwards."""
    version = types.SimpleNamespace(id=-1, content_hash=bundle.content_hash,
                                    spec=specs_to_dict(bundle.spec, bundle.subprocess_specs))
    saved_offset = clock._offset
    alarm = threading.current_thread() is threading.main_thread()
    if alarm:
        signal.signal(signal.SIGALRM, _out_of_time)
        signal.alarm(RUN_SECONDS)
    try:
        engine = MotcuaScriptEngine(None, make_evaluator(WorkingCalendar()))
        workflow = MotcuaWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=engine)
        for _ in range(MAX_ROUNDS):
            workflow.do_engine_steps()
            workflow = _save_and_restore(workflow, version, engine)
            if workflow.is_completed():
                return "completed"
            if workflow.get_tasks(state=TaskState.READY, manual=True):
                return "person"
            due = _next_timer(workflow)
            if due is None:
                waiting = workflow.waiting_events()
                return "message" if waiting else "stuck"
            clock.travel_to(due + timedelta(seconds=1))
            workflow.refresh_timers()
        return "completed" if workflow.is_completed() else f"more than {MAX_ROUNDS} rounds"
    except _OutOfTime:
        return f"error: still running after {RUN_SECONDS} s (an endless loop?)"
    except EngineError as exc:
        return "service" if "operator" in str(exc).lower() or "step" in str(exc) \
            else f"error: {exc.message}"
    except (SpiffWorkflowException, Exception) as exc:  # noqa: BLE001 - reported, not raised
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Unknown name" in text or "Missing data input" in text:
            return "needs input data"  # what a form or the caller would supply
        if getattr(exc, "motcua_operator", None) or "'NoneType' object" in text:
            return "service"
        return f"error: {type(exc).__name__}: {text}"
    finally:
        if alarm:
            signal.alarm(0)
        clock._offset = saved_offset
        SPECS.items.pop((version.id, version.content_hash), None)


class _OutOfTime(BaseException):
    """Raised by the alarm; a BaseException so that no handler in the engine swallows it."""


def _out_of_time(_signum, _frame):
    raise _OutOfTime


def _save_and_restore(workflow, version, engine) -> MotcuaWorkflow:
    dct = json.loads(SERIALIZER.serialize_json(workflow), cls=SERIALIZER.json_decoder_cls)
    dct["spec"], dct["subprocess_specs"] = SPECS.get(version)
    restored = SERIALIZER.from_dict(dct)
    restored.script_engine = engine
    return restored


def _next_timer(workflow) -> datetime | None:
    """The earliest due time among the timers the workflow waits for (aware, UTC)."""
    moments = []
    for event in workflow.waiting_events():
        value = getattr(event, "value", None)
        if event.event_type.endswith("TimerEventDefinition") and value:
            try:
                moment = datetime.fromisoformat(str(value))
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=clock.VIETNAM)
            moments.append(moment)
    return min(moments) if moments else None


def run_folder(folder: Path, *, run: bool = True) -> list[FileResult]:
    """Every ``.bpmn`` file under ``folder``, in path order."""
    platform.install()  # the operators a diagram may name, as a platform registers them
    roles = builtin_roles()
    return [check_file(path, folder, roles=roles, run=run)
            for path in sorted(folder.rglob("*.bpmn"))]


def summary(results: list[FileResult]) -> dict:
    """Counts: files, accepted, refused, how runs ended, and refusals by message."""
    reasons: Counter = Counter()
    for result in results:
        for message in {_reason(p["message"]) for p in result.problems}:
            reasons[message] += 1
    return {"files": len(results), "accepted": sum(r.accepted for r in results),
            "refused": sum(not r.accepted for r in results),
            "runs": dict(Counter(_reason(r.run) for r in results if r.run)),
            "reasons": dict(reasons.most_common())}


def _reason(message: str) -> str:
    """A message with its particulars (names in quotes, lists in brackets) cut, for counting."""
    head = message.split(" (")[0]
    out, quoted = [], False
    for ch in head:
        if ch == "'":
            quoted = not quoted
            out.append("…" if quoted else "")
        elif not quoted:
            out.append(ch)
    return "".join(out)[:160]
