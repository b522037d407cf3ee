"""What-if on the transport licence: real dossiers finished through the engine, replayed
on drafts of the diagram."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from engine import bundles, clock, models, tasks, whatif
from engine.errors import InvalidBundle
from engine.models import AuditEvent, Document, Dossier, HumanTask, Job, Outbox, Timer
from tests.engine.factories import PROCEDURE, submit
from tests.scenario import open_task, run_scenario, user

from .test_bundles import files

SCENARIOS = Path(__file__).resolve().parents[2] / "bpmn" / PROCEDURE / "scenarios"
SUPPLEMENT = {"reception_decision": "supplement", "reason": "Thiếu quyết định bổ nhiệm",
              "supplement_items": "Quyết định bổ nhiệm"}
REFUSE = {"reception_decision": "refuse", "reason": "Chưa đủ điều kiện kinh doanh vận tải."}


def _step(p, code: str, task: str, username: str, data: dict, days: int = 2) -> None:
    clock.travel(timedelta(days=days))
    tasks.complete(p, user(p, username), open_task(p, code, task).id, data)


@pytest.fixture
def history(platform):
    """Three refused dossiers: two went through a supplement first, one did not."""
    clock.travel_to(datetime.fromisoformat("2026-10-05T09:00:00+07:00"))
    took_supplement = []
    for _ in range(2):
        code = submit(platform)
        _step(platform, code, "Task_Receive", "motcua", SUPPLEMENT)
        _step(platform, code, "Task_Supplement", "doanhnghiep",
              {"supplement_note": "Đã bổ sung."}, days=3)
        _step(platform, code, "Task_Receive", "motcua", REFUSE)
        took_supplement.append(code)
    direct = submit(platform)
    _step(platform, direct, "Task_Receive", "motcua", REFUSE, days=1)
    clock.travel(timedelta(days=7))
    return {"supplement": took_supplement, "direct": direct}


def _counts(p) -> dict:
    with p.db.read() as session:
        return {model.__tablename__: session.execute(select(func.count()).select_from(model))
                .scalar() for model in (Dossier, HumanTask, AuditEvent, Outbox, Job, Document,
                                        Timer, models.ClockStop, models.CodeSequence,
                                        models.DossierSequence, models.RegistryEntry)}


def _draft(process: str) -> dict[str, str]:
    return files(**{"process.bpmn": process})


def test_the_diagram_as_it_is_replays_every_dossier_to_its_end(platform, history):
    report = whatif.replay(platform, PROCEDURE, files())
    assert report["dossiers"] == 3 and report["completed"] == 3 and report["stopped"] == []
    roles = {w["role"]: w["tasks"] for w in report["workload"]}
    assert roles == {"reception": 5, "applicant": 2}
    assert report["effects_recorded"] > 0  # operators met, recorded, not run


def test_a_draft_that_drops_the_supplement_branch_stops_exactly_those_dossiers(
        platform, history):
    dropped = _drop_flow(files()["process.bpmn"], "Flow_Reception_Supplement")
    before = _counts(platform)
    report = whatif.replay(platform, PROCEDURE, _draft(dropped))
    assert _counts(platform) == before  # nothing written anywhere
    assert report["completed"] == 1
    [stop] = report["stopped"]
    assert sorted(stop["dossiers"]) == sorted(history["supplement"])
    assert stop["element"] == "Gateway_Reception" and stop["kind"] == "decision"
    assert "reception_decision = 'supplement'" in stop["message"]
    assert stop["message_vi"].startswith("cổng 'Kết quả kiểm tra?' không có nhánh")


def test_a_draft_that_adds_a_step_predicts_longer_times(platform, history):
    as_is = whatif.replay(platform, PROCEDURE, files())
    text = files()["process.bpmn"]
    added = text.replace(
        'sourceRef="Task_NotifyReceived" targetRef="Task_Receive" />',
        'sourceRef="Task_NotifyReceived" targetRef="Task_PreCheck" />\n'
        '    <bpmn:userTask id="Task_PreCheck" name="Kiểm tra sơ bộ" />\n'
        '    <bpmn:sequenceFlow id="Flow_PreCheck_Receive" sourceRef="Task_PreCheck" '
        'targetRef="Task_Receive" />', 1).replace(
        '<bpmn:flowNodeRef>Task_Receive</bpmn:flowNodeRef>',
        '<bpmn:flowNodeRef>Task_Receive</bpmn:flowNodeRef>'
        '<bpmn:flowNodeRef>Task_PreCheck</bpmn:flowNodeRef>', 1)
    report = whatif.replay(platform, PROCEDURE, _draft(added))
    assert report["completed"] == 3
    assert report["predicted_days"] > as_is["predicted_days"]
    reception = {w["role"]: w for w in report["workload"]}["reception"]
    assert reception["tasks"] == 5 + 3
    assert as_is["predicted_days"] == as_is["actual_days"]  # unchanged: as it really went


def test_a_field_the_new_form_requires_stops_the_dossiers_that_lack_it(platform, history):
    receive = files()["forms/receive.json"].replace(
        '"required": [\n    "reception_decision"\n  ]',
        '"required": [\n    "reception_decision",\n    "supplement_items"\n  ]', 1)
    assert receive != files()["forms/receive.json"]
    report = whatif.replay(platform, PROCEDURE, files(**{"forms/receive.json": receive}))
    [stop] = report["stopped"]
    assert stop["kind"] == "form" and stop["element"] == "Task_Receive"
    assert "supplement_items" in stop["message"]
    assert len(stop["dossiers"]) == 3  # every dossier's final refusal lacks it


def test_an_invalid_draft_is_refused_before_any_replay(platform, history):
    with pytest.raises(InvalidBundle):
        whatif.replay(platform, PROCEDURE, _draft("<bpmn:definitions"))


def test_only_dossiers_finished_in_the_window_are_replayed(platform, history):
    assert whatif.replay(platform, PROCEDURE, files(), limit=2)["dossiers"] == 2
    clock.travel(timedelta(days=200))
    assert whatif.replay(platform, PROCEDURE, files())["dossiers"] == 0


def _drop_flow(text: str, flow: str) -> str:
    """The diagram without sequence flow ``flow``: the flow, its references, its drawing,
    and the gateway default that named it."""
    root = bundles.etree.fromstring(text.encode())
    for el in list(root.iter()):
        if el.get("id") == flow or el.get("bpmnElement") == flow or (
                isinstance(el.tag, str) and el.tag.endswith(("}incoming", "}outgoing"))
                and (el.text or "").strip() == flow):
            el.getparent().remove(el)
        elif el.get("default") == flow:
            del el.attrib["default"]
    return bundles.etree.tostring(root, encoding="unicode")


@pytest.fixture
def signed_and_late(platform):
    """The licence's scenarios: one dossier approved and signed twice on its first day, one
    refused after its appointment passed (the warning and the late notice sent)."""
    codes = [run_scenario(platform, yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text(
        encoding="utf-8"))) for name in ("approve-and-sign", "late-without-apology")]
    clock.travel(timedelta(days=3))
    return codes


def test_signing_issuing_and_mailing_are_recorded_not_done(platform, signed_and_late):
    before = _counts(platform)
    report = whatif.replay(platform, PROCEDURE, files())
    assert _counts(platform) == before  # no e-mail, document, signature, number or row
    assert report["dossiers"] == report["completed"] == 2 and report["stopped"] == []
    assert report["effects_recorded"] > 0
    assert {w["role"] for w in report["workload"]} == {"reception", "handler", "head"}
    # replayed as they went: the same working days, one on time and one late
    assert report["predicted_days"] == report["actual_days"]
    assert report["predicted_on_time"] == report["actual_on_time"] == 0.5


def test_the_on_time_share_follows_the_drafts_deadline(platform, signed_and_late):
    yaml_text = files()["procedure.yaml"]
    longer = yaml_text.replace("deadline: {value: 5,", "deadline: {value: 15,", 1)
    assert longer != yaml_text
    report = whatif.replay(platform, PROCEDURE, files(**{"procedure.yaml": longer}))
    assert report["completed"] == 2
    assert report["actual_on_time"] == 0.5 and report["predicted_on_time"] == 1.0


def test_by_default_the_last_three_months_are_replayed(platform, history):
    clock.travel(timedelta(days=60))  # the first finished some 80 days ago
    assert whatif.replay(platform, PROCEDURE, files())["dossiers"] == 3
    clock.travel(timedelta(days=40))  # the last finished more than three months ago
    assert whatif.replay(platform, PROCEDURE, files())["dossiers"] == 0
