"""Deploy a small diagram of diagrams/ as a bundle and walk dossiers through it.

Each diagram is wrapped in a minimal procedure.yaml and two forms (an application form and
one form every user task may use), deployed like any procedure, and driven through the
engine's public functions. After every action :func:`check` restores the saved workflow
from the database: it must serialize back identically, its ready user tasks must be the
open ``human_task`` rows, and its waiting timers and messages the ``timer`` and
``waiting_message`` rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import accounts, dossiers, tasks, worker
from engine.models import Dossier, HumanTask, Instance, Message, Timer, WaitingMessage
from engine.procedures import deploy_bundle
from engine.spiff import load_state
from engine.step.rows import waiting_definitions
from tests.scenario import saved_as_the_library_saves, workflow_data

DIAGRAMS = Path(__file__).resolve().parent / "diagrams"
AGENCY = "000.00.14.H56"  # the demo transport department: motcua, chuyenvien, lanhdao
OFFICER = {"reception": "motcua", "handler": "chuyenvien", "head": "lanhdao",
           "applicant": "congdan"}

APPLICATION_FORM = {"type": "object", "properties": {
    "n": {"type": "integer"}, "target": {"type": "string"}, "amount": {"type": "integer"},
    "vehicles": {"type": "array", "items": {"type": "string"}},
    "flag": {"type": "boolean"}}}
TASK_FORM = {"type": "object", "properties": {
    "decision": {"type": "string"}, "note": {"type": "string"}, "result": {"type": "string"},
    "target": {"type": "string"}, "approved": {"type": "boolean"}, "more": {"type": "boolean"},
    "a_ok": {"type": "boolean"}, "b_ok": {"type": "boolean"}}}


def diagram(name: str) -> str:
    return (DIAGRAMS / f"{name}.bpmn").read_text(encoding="utf-8")


def bundle(name: str, *, process_id: str | None = None, extra: tuple[str, ...] = (),
           text: str | None = None, **more_meta) -> dict[str, str]:
    """The bundle of diagram ``name`` (or of ``text``), with ``extra`` diagrams beside it;
    ``more_meta`` adds keys to procedure.yaml."""
    meta = {"code": f"el-{name.replace('_', '-')}",
            "name": {"vi": f"Thử phần tử {name}", "en": f"Element test {name}"},
            "agency": AGENCY, "level": 4, "deadline": {"value": 5, "unit": "working_days"},
            "application_form": "forms/application.json", "process": "process.bpmn",
            "process_id": process_id or name, **more_meta}
    files = {"procedure.yaml": yaml.safe_dump(meta, allow_unicode=True),
             "forms/application.json": json.dumps(APPLICATION_FORM),
             "forms/task.json": json.dumps(TASK_FORM),
             "process.bpmn": text if text is not None else diagram(name)}
    for other in extra:
        files[f"{other}.bpmn"] = diagram(other)
    return files


def deploy(p, name: str, **kwargs) -> str:
    return deploy_bundle(p, bundle(name, **kwargs))["code"]


def submit(p, procedure: str, data: dict | None = None) -> str:
    applicant = accounts.find_user(p, "congdan")
    code = dossiers.submit(p, applicant, procedure, data or {}, {})["code"]
    check(p, code)
    return code


def check(p, code: str) -> None:
    """The saved workflow restores identically and every row mirrors it (tests/scenario.py's
    check_round_trip, extended to timer and waiting-message rows, with one restore)."""
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        state = session.get(Instance, dossier.id).state
        workflow = load_state(state, dossier.version)
        again = saved_as_the_library_saves(workflow)[0]
        if again != state:
            at = next(i for i, (a, b) in enumerate(zip(state, again, strict=False)) if a != b)
            raise AssertionError(f"restoring the saved workflow changed it at {at}:\n"
                                 f"saved:    {state[max(0, at - 300):at + 200]}\n"
                                 f"restored: {again[max(0, at - 300):at + 200]}")
        ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        rows = set(session.execute(select(HumanTask.task_guid).where(
            HumanTask.dossier_id == dossier.id, HumanTask.status == "open")).scalars())
        assert rows == ready, "open task rows differ from the workflow's ready tasks"
        timers, waiting = set(), set()
        for task in workflow.get_tasks(state=TaskState.WAITING):
            for definition in waiting_definitions(task):
                if isinstance(definition, TimerEventDefinition):
                    timers.add(str(task.id))
                elif isinstance(definition, MessageEventDefinition):
                    waiting.add((str(task.id), definition.name))
        rows = set(session.execute(select(Timer.task_guid).where(
            Timer.dossier_id == dossier.id, Timer.status == "waiting")).scalars())
        assert rows == timers, "timer rows differ from the workflow's waiting timers"
        rows = set(session.execute(select(WaitingMessage.task_guid, WaitingMessage.name).where(
            WaitingMessage.dossier_id == dossier.id)).all())
        assert rows == waiting, "waiting_message rows differ from the workflow's waiting tasks"


def open_rows(p, code: str) -> list[HumanTask]:
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        return list(session.execute(select(HumanTask).where(
            HumanTask.dossier_id == dossier.id, HumanTask.status == "open")
            .order_by(HumanTask.id)).scalars())


def open_tasks(p, code: str) -> list[str]:
    return sorted(row.spec_name for row in open_rows(p, code))


def complete(p, code: str, spec_name: str, data: dict | None = None, *,
             title: str | None = None) -> None:
    """Complete the (first) open task ``spec_name`` as an officer holding its role."""
    rows = [r for r in open_rows(p, code) if r.spec_name == spec_name
            and (title is None or r.title == title)]
    assert rows, f"no open task {spec_name}; open: {open_tasks(p, code)}"
    user = accounts.find_user(p, OFFICER[rows[0].role_code])
    tasks.complete(p, user, rows[0].id, data or {})
    check(p, code)


# The workflow's data where it is now, as tests/scenario.py reads it for the procedures.
data = workflow_data


def tick(p, code: str | None = None) -> dict:
    done = worker.tick(p)
    if code:
        check(p, code)
    return done


def finished(p, code: str) -> bool:
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        return bool(session.get(Instance, dossier.id).completed and dossier.finished_at)


def messages(p, **where) -> list[Message]:
    with p.db.transaction() as session:
        query = select(Message).order_by(Message.id)
        for key, value in where.items():
            query = query.where(getattr(Message, key) == value)
        return list(session.execute(query).scalars())


def dossier_id(p, code: str) -> int:
    with p.db.transaction() as session:
        return session.execute(select(Dossier.id).where(Dossier.code == code)).scalar_one()


def post_message(p, name: str, correlation: str, payload=None) -> int:
    """A pending message as another dossier's step (or, later, another system) writes it."""
    from engine import clock

    with p.db.transaction() as session:
        message = Message(name=name, correlation=correlation, payload=payload or {},
                          status="pending", created_at=clock.now())
        session.add(message)
        session.flush()
        return message.id


def waiting(p, code: str) -> list[tuple[str, str, str]]:
    """(task, message, correlation) of the dossier's waiting_message rows."""
    with p.db.transaction() as session:
        rows = session.execute(select(WaitingMessage.spec_name, WaitingMessage.name,
                                      WaitingMessage.correlation)
                               .where(WaitingMessage.dossier_id == dossier_id(p, code))
                               .order_by(WaitingMessage.spec_name)).all()
        return [tuple(r) for r in rows]


def timers(p, code: str, status: str = "waiting") -> list[str]:
    with p.db.transaction() as session:
        return sorted(session.execute(select(Timer.spec_name).where(
            Timer.dossier_id == dossier_id(p, code), Timer.status == status)).scalars())


def rows_with_status(p, code: str, status: str) -> list[str]:
    with p.db.transaction() as session:
        return sorted(session.execute(select(HumanTask.spec_name).where(
            HumanTask.dossier_id == dossier_id(p, code), HumanTask.status == status)).scalars())


def task_data(p, code: str, spec_name: str) -> dict:
    """The data of the last completed task ``spec_name`` (a branch's own copy of the data)."""
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        workflow = load_state(session.get(Instance, dossier.id).state, dossier.version)
        done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
                if t.task_spec.bpmn_id == spec_name]
        assert done, f"{spec_name} has not run"
        return dict(max(done, key=lambda t: t.last_state_change).data)
