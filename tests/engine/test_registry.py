"""Registries: numbers issued once, never reused, distinct under concurrent approvals; books
where a key (a vehicle) holds one active entry per kind at a time."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta

import pytest
import yaml
from sqlalchemy import select

from engine import accounts, clock, dossier_view, dossiers, registry, tasks
from engine.errors import OperatorError
from engine.models import CodeSequence, Dossier, HumanTask, RegistryEntry
from engine.operators import REGISTRY, StepContext
from engine.procedures import deploy_bundle

AGENCY = "000.00.14.H56"  # the demo transport department: chuyenvien is its handler

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'id="Definitions_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">\n')


def service(task_id: str, op: str, result: str, **params: str) -> str:
    rows = "".join(f'<spiffworkflow:parameter id="{k}" type="any" value="{v}"/>'
                   for k, v in params.items())
    return (f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements>'
            f'<spiffworkflow:serviceTaskOperator id="{op}" resultVariable="{result}">'
            f'<spiffworkflow:parameters>{rows}</spiffworkflow:parameters>'
            f'</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
            f'<bpmn:incoming>in_{task_id}</bpmn:incoming><bpmn:outgoing>out_{task_id}</bpmn:outgoing>'
            f'</bpmn:serviceTask>')


def approval_diagram(pid: str, services: list[str]) -> str:
    """start → approve (a handler's user task) → the service tasks in order → end."""
    ids = ["approve"] + [s.split('id="', 1)[1].split('"', 1)[0] for s in services]
    flows = [("start", "approve")] + list(zip(ids, ids[1:], strict=False)) + [(ids[-1], "end")]
    xml = [HEAD.format(pid=pid), f'<bpmn:process id="{pid}" isExecutable="true">',
           '<bpmn:laneSet id="ls"><bpmn:lane id="l_handler" name="handler">'
           '<bpmn:flowNodeRef>approve</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>',
           '<bpmn:startEvent id="start"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>',
           '<bpmn:userTask id="approve" name="Phê duyệt"><bpmn:extensionElements>'
           '<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" '
           'value="forms/task.json"/></spiffworkflow:properties></bpmn:extensionElements>'
           '<bpmn:incoming>f_start</bpmn:incoming><bpmn:outgoing>out_approve</bpmn:outgoing>'
           '</bpmn:userTask>', *services,
           '<bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>']
    for source, target in flows:
        flow_id = "f_start" if source == "start" else ("f_end" if target == "end" else f"out_{source}")
        xml.append(f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>')
    xml.append("</bpmn:process></bpmn:definitions>")
    # a service task's incoming flow id is the previous element's outgoing one
    text = "\n".join(xml)
    for previous, current in zip(ids, ids[1:], strict=False):
        text = text.replace(f"<bpmn:incoming>in_{current}</bpmn:incoming>",
                            f"<bpmn:incoming>out_{previous}</bpmn:incoming>")
    return text.replace(f"<bpmn:outgoing>out_{ids[-1]}</bpmn:outgoing>",
                        "<bpmn:outgoing>f_end</bpmn:outgoing>")


def deploy(p, code: str, diagram: str) -> str:
    meta = {"code": code, "name": {"vi": f"Thử sổ {code}", "en": f"Registry test {code}"},
            "agency": AGENCY, "level": 4, "deadline": {"value": 2, "unit": "working_days"},
            "application_form": "forms/application.json", "process": "process.bpmn",
            "process_id": code.replace("-", "_")}
    form = {"type": "object", "properties": {"unit": {"type": "string"},
                                             "plate": {"type": "string"}}}
    task_form = {"type": "object", "properties": {"badge_type": {"type": "string"}}}
    deploy_bundle(p, {"procedure.yaml": yaml.safe_dump(meta, allow_unicode=True),
                      "forms/application.json": json.dumps(form),
                      "forms/task.json": json.dumps(task_form), "process.bpmn": diagram})
    return code


UNIT_CODES = [service("issue", "issue_number", "issued", series="'toy-unit-1'", prefix="'1'",
                      digits="6", registry="'toy-units'", key="application['unit']",
                      kind="'unit'", attributes="{'name': application['unit']}")]

BADGES = [
    service("check", "registry_require_free", "free", registry="'toy-badges'",
            key="application['plate']", kind="badge_type", code="'BADGE_HELD'",
            message="'Xe đã có phù hiệu loại khác còn hiệu lực'"),
    service("record", "registry_add", "recorded", registry="'toy-badges'",
            key="application['plate']", kind="badge_type",
            number="'PH-' + dossier['code']", valid_to="days(7 * 365)"),
]


def submit(p, procedure: str, application: dict) -> str:
    applicant = accounts.find_user(p, "doanhnghiep")
    return dossiers.submit(p, applicant, procedure, application, {})["code"]


def approval_task(p, code: str) -> int:
    with p.db.transaction() as session:
        return session.execute(select(HumanTask.id).join(Dossier).where(
            Dossier.code == code, HumanTask.status == "open")).scalar_one()


def approve(p, code: str, data: dict | None = None) -> dict:
    officer = accounts.find_user(p, "chuyenvien")
    return tasks.complete(p, officer, approval_task(p, code), data or {})


def entries(p, registry_name: str) -> list[RegistryEntry]:
    with p.db.transaction() as session:
        return list(session.execute(select(RegistryEntry).where(
            RegistryEntry.registry == registry_name).order_by(RegistryEntry.id)).scalars())


def run_together(jobs) -> list:
    """Run every job in its own thread, released at the same moment; their results or errors."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        barrier.wait()
        try:
            results[i] = job()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_the_operators_are_registered_with_their_parameters(platform):  # registered at set-up
    assert REGISTRY["issue_number"].parameters == {
        "series": True, "prefix": False, "digits": False, "registry": False, "key": False,
        "kind": False, "attributes": False}
    assert REGISTRY["registry_require_free"].parameters["registry"] is True
    assert {"registry_add", "registry_close"} <= set(REGISTRY)


def test_twenty_concurrent_approvals_get_twenty_distinct_gap_free_codes(platform):
    procedure = deploy(platform, "toy-unit-code", approval_diagram("toy_unit_code", UNIT_CODES))
    codes = [submit(platform, procedure, {"unit": f"Trường tiểu học số {i}"}) for i in range(20)]
    for code in codes:
        approval_task(platform, code)  # each waits for its approval

    results = run_together([lambda code=code: approve(platform, code) for code in codes])

    assert [r for r in results if isinstance(r, Exception)] == []
    issued = sorted(e.number for e in entries(platform, "toy-units"))
    assert issued == [f"1{n:06d}" for n in range(1, 21)]
    with platform.db.transaction() as session:
        assert session.get(CodeSequence, "toy-unit-1").last == 20
        by_dossier = {e.dossier_id: e.number for e in session.execute(
            select(RegistryEntry)).scalars()}
        assert len(by_dossier) == 20  # one code per dossier, none shared


def _step(p, session, dossier_code: str) -> StepContext:
    dossier = session.execute(select(Dossier).where(Dossier.code == dossier_code)).scalar_one()
    return StepContext(platform=p, session=session, dossier=dossier, version=dossier.version,
                       calendar=None, actor="test")


def test_twenty_concurrent_transactions_share_no_number(platform):
    """The bare statement under contention: 20 transactions take a number at the same moment
    (no dossier lock orders them), none fails, none repeats, none is skipped."""
    procedure = deploy(platform, "toy-unit-code", approval_diagram("toy_unit_code", UNIT_CODES))
    code = submit(platform, procedure, {"unit": "x"})

    def take():
        with platform.db.transaction() as session:
            return registry.issue_number(_step(platform, session, code), None,
                                         series="toy-raw", prefix="9", digits=4)["number"]

    numbers = run_together([take] * 20)
    assert [n for n in numbers if isinstance(n, Exception)] == []
    assert sorted(numbers) == [f"9{n:04d}" for n in range(1, 21)]


def test_a_rolled_back_step_gives_its_number_back_and_a_committed_one_is_never_reused(platform):
    procedure = deploy(platform, "toy-unit-code", approval_diagram("toy_unit_code", UNIT_CODES))
    code = submit(platform, procedure, {"unit": "x"})
    with pytest.raises(RuntimeError):
        with platform.db.transaction() as session:
            registry.issue_number(_step(platform, session, code), None, series="toy-s")
            raise RuntimeError("the step failed later")
    with platform.db.transaction() as session:
        first = registry.issue_number(_step(platform, session, code), None, series="toy-s")
    with platform.db.transaction() as session:
        second = registry.issue_number(_step(platform, session, code), None, series="toy-s")
    assert (first["number"], second["number"]) == ("000001", "000002")


def test_an_exhausted_series_is_a_business_error(platform):
    procedure = deploy(platform, "toy-unit-code", approval_diagram("toy_unit_code", UNIT_CODES))
    code = submit(platform, procedure, {"unit": "x"})
    with platform.db.transaction() as session:
        session.add(CodeSequence(name="toy-small", last=99))
    with pytest.raises(OperatorError) as caught, platform.db.transaction() as session:
        registry.issue_number(_step(platform, session, code), None, series="toy-small", digits=2)
    assert caught.value.code == "sequence_exhausted"


def test_a_number_already_in_the_registry_is_refused_not_duplicated(platform):
    procedure = deploy(platform, "toy-unit-code", approval_diagram("toy_unit_code", UNIT_CODES))
    code = submit(platform, procedure, {"unit": "x"})
    with platform.db.transaction() as session:  # entered by hand before the series existed
        session.add(RegistryEntry(registry="toy-units", key="old", number="1000001"))
    with pytest.raises(OperatorError) as caught:
        approve(platform, code)
    assert caught.value.code == "number_taken" and caught.value.status == 422
    assert [e.number for e in entries(platform, "toy-units")] == ["1000001"]
    assert approval_task(platform, code)  # the approval is still to do: nothing was lost


def test_the_issued_code_reaches_the_diagram_and_the_book(platform):
    procedure = deploy(platform, "toy-unit-code", approval_diagram("toy_unit_code", UNIT_CODES))
    code = submit(platform, procedure, {"unit": "Trường THCS Lê Lợi"})
    approve(platform, code)
    with platform.db.transaction() as session:
        [entry] = registry.lookup(session, "toy-units", "Trường THCS Lê Lợi")
        view = dossier_view.dossier_view(session, session.execute(
            select(Dossier).where(Dossier.code == code)).scalar_one())
    assert entry["number"] == "1000001" and entry["kind"] == "unit"
    assert entry["attributes"] == {"name": "Trường THCS Lê Lợi"} and entry["status"] == "active"
    assert [h["detail"]["number"] for h in view["history"] if h["action"] == "issue_number"] == [
        "1000001"]


def test_one_badge_type_per_vehicle_renewal_allowed_other_type_refused(platform):
    # In office hours: a badge approved after the afternoon cut-off counts from the next day.
    clock.travel_to(datetime(2026, 3, 6, 10, tzinfo=clock.VIETNAM))
    procedure = deploy(platform, "toy-badge", approval_diagram("toy_badge", BADGES))
    first = submit(platform, procedure, {"plate": "36C-123.45"})
    approve(platform, first, {"badge_type": "xe_tai"})

    renewal = submit(platform, procedure, {"plate": "36C-123.45"})
    approve(platform, renewal, {"badge_type": "xe_tai"})
    book = entries(platform, "toy-badges")
    assert [(e.kind, e.status) for e in book] == [("xe_tai", "closed"), ("xe_tai", "active")]
    assert book[1].number == f"PH-{renewal}"
    assert book[1].valid_to == date(2026, 3, 6) + timedelta(days=7 * 365)

    other = submit(platform, procedure, {"plate": "36C-123.45"})
    with pytest.raises(OperatorError) as caught:
        approve(platform, other, {"badge_type": "taxi"})
    assert caught.value.code == "BADGE_HELD"
    assert "phù hiệu loại khác" in caught.value.message
    assert len(entries(platform, "toy-badges")) == 2

    other_vehicle = submit(platform, procedure, {"plate": "36C-999.99"})
    approve(platform, other_vehicle, {"badge_type": "taxi"})
    assert len(entries(platform, "toy-badges")) == 3


def test_an_expired_or_closed_entry_does_not_block(platform):
    procedure = deploy(platform, "toy-badge", approval_diagram("toy_badge", BADGES))
    code = submit(platform, procedure, {"plate": "36B-000.01"})
    yesterday = clock.local_now().date() - timedelta(days=1)
    with platform.db.transaction() as session:
        session.add(RegistryEntry(registry="toy-badges", key="36B-000.01", kind="taxi",
                                  number="OLD-1", valid_to=yesterday))
        session.add(RegistryEntry(registry="toy-badges", key="36B-000.01", kind="hop_dong",
                                  number="OLD-2", status="closed"))
    approve(platform, code, {"badge_type": "xe_tai"})
    with platform.db.transaction() as session:
        active = registry.active_entries(session, "toy-badges", "36B-000.01")
    assert [(e.kind, e.number) for e in active] == [("xe_tai", f"PH-{code}")]


def test_concurrent_approvals_of_different_types_for_one_vehicle_let_exactly_one_through(platform):
    procedure = deploy(platform, "toy-badge", approval_diagram("toy_badge", BADGES))
    kinds = ["xe_tai", "taxi", "hop_dong", "du_lich", "tuyen_co_dinh", "container"]
    codes = [submit(platform, procedure, {"plate": "36A-555.55"}) for _ in kinds]

    results = run_together([lambda c=c, k=k: approve(platform, c, {"badge_type": k})
                            for c, k in zip(codes, kinds, strict=True)])

    passed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, OperatorError)]
    assert len(passed) == 1 and len(refused) == len(kinds) - 1
    assert {r.code for r in refused} == {"BADGE_HELD"}
    assert [e.status for e in entries(platform, "toy-badges")] == ["active"]


def test_registry_close_keeps_the_number_taken(platform):
    procedure = deploy(platform, "toy-badge", approval_diagram("toy_badge", BADGES))
    code = submit(platform, procedure, {"plate": "36D-1"})
    approve(platform, code, {"badge_type": "taxi"})
    with platform.db.transaction() as session:
        closed = registry.registry_close(_step(platform, session, code), None,
                                         registry="toy-badges", key="36D-1")
    assert closed == {"closed": [f"PH-{code}"]}
    with platform.db.transaction() as session:
        assert registry.active_entries(session, "toy-badges", "36D-1") == []
        step = _step(platform, session, code)
        assert registry.registry_require_free(step, None, registry="toy-badges",
                                              key="36D-1", kind="xe_tai")["free"] is True
    with pytest.raises(OperatorError) as caught, platform.db.transaction() as session:
        registry.registry_add(_step(platform, session, code), None, registry="toy-badges",
                              key="36D-2", number=f"PH-{code}")
    assert caught.value.code == "number_taken"


def test_dates_are_checked(platform):
    procedure = deploy(platform, "toy-badge", approval_diagram("toy_badge", BADGES))
    code = submit(platform, procedure, {"plate": "36D-3"})
    with pytest.raises(OperatorError) as caught, platform.db.transaction() as session:
        registry.registry_add(_step(platform, session, code), None, registry="toy-badges",
                              key="36D-3", valid_from="2025-02-01", valid_to="2025-01-01")
    assert caught.value.code == "invalid_date"
    with platform.db.transaction() as session:
        result = registry.registry_add(_step(platform, session, code), None,
                                       registry="toy-badges", key="36D-3",
                                       valid_from="2025-01-01T08:00:00+07:00",
                                       valid_to=date(2032, 1, 1))
        entry = session.get(RegistryEntry, result["entry_id"])
        assert (entry.valid_from, entry.valid_to) == (date(2025, 1, 1), date(2032, 1, 1))
