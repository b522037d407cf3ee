"""Walk a procedure's scenario (bpmn/<procedure>/scenarios/*.yaml) through the engine.

A scenario is data: who submits what, then a list of steps (complete a task, move the
clock, run the worker) each with what a user would then see (status, open steps, e-mails,
signed documents). After every step the saved workflow is restored from the database and
must serialize back to the same state, and its ready tasks must be the open task rows.

Cooperating processes (the province ↔ district flow) run as a second dossier, started by a
message of the submitted one: a step with ``dossier: child`` acts on (and its ``expect``
checks) that child dossier; ``expect_submitted`` / ``expect_child`` check the other side in
the same step. The round trip is checked for every dossier of the family. ``agency`` at the
top chooses the receiving agency when the procedure has several.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine import accounts, clock, dossiers, tasks, worker
from engine.models import Document, Dossier, HumanTask, Instance, Outbox, Timer
from engine.procedures import get_procedure
from engine.spiff import SERIALIZER, _dump_state_checked, dump_state_checked, load_state
from engine.storage import Upload

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
       b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def sample_files(p, procedure: str) -> dict[str, Upload]:
    """A small PDF for every file field of the procedure's application form."""
    form = get_procedure(p, procedure)["form"]
    return {name: Upload(f"{name}.pdf", "application/pdf", PDF)
            for name, prop in form["properties"].items() if prop.get("format") == "document"}


def user(p, username: str):
    return accounts.find_user(p, username)


def open_task(p, code: str, spec_name: str) -> HumanTask:
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        rows = session.execute(select(HumanTask).where(HumanTask.dossier_id == dossier.id,
                                                       HumanTask.status == "open")).scalars().all()
        found = [t for t in rows if t.spec_name == spec_name]
        assert found, f"no open task {spec_name}; open: {[t.spec_name for t in rows]}"
        return found[0]


def saved_as_the_library_saves(workflow) -> tuple[bytes, bool]:
    """``dump_state_checked(workflow)``, checked to be what the library's own walk of the
    workflow (``SERIALIZER.to_dict``) saves: the same bytes, the same fidelity."""
    saved = dump_state_checked(workflow)
    assert saved == _dump_state_checked(workflow, SERIALIZER.to_dict), \
        "the engine's save differs from the library's"
    return saved


def check_round_trip(p, code: str) -> None:
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        state = session.get(Instance, dossier.id).state
        workflow = load_state(state, dossier.version)
        assert saved_as_the_library_saves(workflow)[0] == state, \
            "restoring the saved workflow changed it"
        ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        rows = set(session.execute(select(HumanTask.task_guid).where(
            HumanTask.dossier_id == dossier.id, HumanTask.status == "open")).scalars())
        assert ready == rows, "open task rows differ from the workflow's ready tasks"


def child_codes(p, code: str) -> list[str]:
    """The codes of the dossiers ``code`` started (cooperating processes), oldest first."""
    with p.db.transaction() as session:
        parent = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar_one()
        return list(session.execute(select(Dossier.code).where(Dossier.parent_id == parent)
                                    .order_by(Dossier.id)).scalars())


def the_child(p, code: str) -> str:
    children = child_codes(p, code)
    assert len(children) == 1, f"expected one dossier started by {code}, found {children}"
    return children[0]


def latest_document(p, code: str, name: str) -> Document:
    """The latest revision of the dossier's document ``name`` (detached from its session)."""
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        doc = session.execute(select(Document).where(
            Document.dossier_id == dossier.id, Document.name == name)
            .order_by(Document.revision.desc())).scalars().first()
        assert doc is not None, f"dossier {code} has no {name}"
        session.expunge(doc)
        return doc


def workflow_data(p, code: str) -> dict:
    """The workflow's data where it is now: the finished workflow's data, or the data of the
    most recently changed waiting or ready task."""
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        workflow = load_state(session.get(Instance, dossier.id).state, dossier.version)
        if workflow.completed:
            return dict(workflow.data)
        live = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
        return dict(max(live, key=lambda t: t.last_state_change).data) if live else {}


def check(p, code: str, expect: dict) -> None:
    if "children" in expect:
        assert len(child_codes(p, code)) == expect["children"], child_codes(p, code)
    for name, pattern in (expect.get("values") or {}).items():
        value = workflow_data(p, code).get(name)
        assert value is not None and re.fullmatch(pattern, str(value)), \
            f"{name} = {value!r} does not match {pattern!r}"
    view = dossiers.get_dossier(p, code, user=user(p, "quantri"))
    if "status" in expect:
        assert view["status"] == expect["status"], (view["status"], view["history"][-3:])
    with p.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        if "open" in expect:
            names = sorted(session.execute(select(HumanTask.spec_name).where(
                HumanTask.dossier_id == dossier.id, HumanTask.status == "open")).scalars())
            assert names == sorted(expect["open"]), names
        if "timers" in expect:
            names = sorted(session.execute(select(Timer.spec_name).where(
                Timer.dossier_id == dossier.id, Timer.status == "waiting")).scalars())
            assert names == sorted(expect["timers"]), names
        if "emails" in expect:
            for recipient, count in expect["emails"].items():
                n = session.execute(select(func.count()).select_from(Outbox).where(
                    Outbox.dossier_id == dossier.id, Outbox.recipient == recipient)).scalar()
                assert n == count, f"{recipient} got {n} e-mails, expected {count}"
        for name, signatures in (expect.get("signatures") or {}).items():
            best = session.execute(select(func.max(Document.signatures)).where(
                Document.dossier_id == dossier.id, Document.name == name)).scalar()
            assert best == signatures, f"{name} has {best} signatures, expected {signatures}"
        if expect.get("finished"):
            assert dossier.finished_at is not None
            assert session.get(Instance, dossier.id).completed


def run_scenario(p, scenario: dict) -> str:
    clock.travel_to(datetime.fromisoformat(scenario["start_at"]))
    applicant = user(p, scenario["applicant"])
    files = sample_files(p, scenario["procedure"])
    result = dossiers.submit(p, applicant, scenario["procedure"], scenario["application"], files,
                             agency_code=scenario.get("agency"))
    code = result["code"]
    check_round_trip(p, code)
    check(p, code, scenario.get("after_submit", {}))
    for number, step in enumerate(scenario["steps"], 1):
        target = the_child(p, code) if step.get("dossier") == "child" else code
        if "task" in step:
            actor = user(p, step["as"])
            row = open_task(p, target, step["task"])
            if step.get("claim"):
                tasks.claim(p, actor, row.id)
            tasks.complete(p, actor, row.id, step.get("data", {}),
                           passphrase=step.get("passphrase"))
        if "travel" in step:
            clock.travel(timedelta(**step["travel"]))
        if step.get("tick") or "travel" in step:
            worker.tick(p)
        for family_member in [code, *child_codes(p, code)]:
            check_round_trip(p, family_member)
        try:
            check(p, target, step.get("expect", {}))
            check(p, code, step.get("expect_submitted", {}))
            if "expect_child" in step:
                check(p, the_child(p, code), step["expect_child"])
        except AssertionError as exc:
            raise AssertionError(f"step {number} ({step.get('task') or step}): {exc}") from exc
    return code
