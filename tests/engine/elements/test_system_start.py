"""Dossiers that arrive from another system: a system account posts a message
(engine.inbound), and a message start event of the procedure's own process starts a dossier
with it, walked with save/restore after every step; everyone else, unknown names and bad
payloads are refused; the procedure cannot be submitted."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import accounts, inbound
from engine.errors import Conflict, InvalidBundle, InvalidData, NotFound, PermissionDenied
from engine.models import Dossier, User
from engine.procedures import deploy_bundle, list_procedures
from tests.engine.elements.kit import (
    bundle,
    check,
    complete,
    data,
    diagram,
    finished,
    messages,
    open_tasks,
    submit,
    tick,
)


@pytest.fixture
def connector(platform):
    """A system account: the national portal's connector."""
    with platform.db.transaction() as session:
        session.add(User(username="ket-noi-dvc", password_hash="!", full_name="Cổng DVC quốc gia",
                         kind=inbound.SYSTEM_KIND))
    return accounts.find_user(platform, "ket-noi-dvc")


def started(p, procedure: str) -> list[Dossier]:
    with p.db.transaction() as session:
        rows = session.execute(select(Dossier).where(Dossier.procedure.has(code=procedure))
                               .order_by(Dossier.id)).scalars()
        return [(d.code, d.applicant.username, d.parent_id) for d in rows]


def test_a_system_message_starts_a_dossier_for_the_applicant_it_names(platform, connector):
    procedure = deploy_bundle(platform, bundle("system_start"))["code"]
    posted = inbound.post(platform, connector, "sys.filed", "DVCQG-2026-001",
                          {"applicant_id_number": "038190001234",
                           "application": {"target": "Giấy phép kinh doanh vận tải"}})
    assert (posted["status"], posted["starts"]) == ("pending", procedure)
    assert tick(platform)["messages"] == 1
    [(code, applicant, parent)] = started(platform, procedure)
    assert (applicant, parent) == ("congdan", None)  # found by the ID number
    check(platform, code)
    assert open_tasks(platform, code) == ["handle"]
    assert data(platform, code)["filing"]["applicant_id_number"] == "038190001234"
    [message] = messages(platform, name="sys.filed")
    assert (message.status, message.sender_user_id) == ("delivered", connector.id)
    complete(platform, code, "handle", {"result": "đã xử lý"})
    assert finished(platform, code)


def test_either_message_of_a_start_event_starts_its_own_dossier(platform, connector):
    procedure = deploy_bundle(platform, bundle("system_start"))["code"]
    inbound.post(platform, connector, "sys.refiled", "DVCQG-2026-002", {})
    inbound.post(platform, connector, "sys.filed", "DVCQG-2026-003", None)
    assert tick(platform)["messages"] == 2
    dossiers = started(platform, procedure)
    assert [a for _c, a, _p in dossiers] == ["ket-noi-dvc", "ket-noi-dvc"]  # no one named
    for code, _a, _p in dossiers:
        check(platform, code)
        assert open_tasks(platform, code) == ["handle"]


def test_only_a_system_account_posts_and_bad_messages_are_refused(platform, connector):
    procedure = deploy_bundle(platform, bundle("system_start"))["code"]
    citizen = accounts.find_user(platform, "congdan")
    with pytest.raises(PermissionDenied):
        inbound.post(platform, citizen, "sys.filed", "X-1", {})
    with pytest.raises(NotFound):
        inbound.post(platform, connector, "sys.unknown", "X-1", {})
    for correlation, payload in [("", {}), ("X-1", ["a"]), ("X-1", {"application": "a"}),
                                 ("X-1", {"applicant_id_number": "000000000000"})]:
        with pytest.raises(InvalidData):
            inbound.post(platform, connector, "sys.filed", correlation, payload)
    assert messages(platform) == []  # nothing queued
    with pytest.raises(Conflict):  # its dossiers come from the other system only
        submit(platform, procedure)
    listed = [v["code"] for v in list_procedures(platform)]
    assert procedure not in listed and listed  # not offered to applicants


def test_waiting_for_all_of_several_messages_at_the_start_is_refused(platform):
    text = diagram("system_start").replace('<bpmn:startEvent id="filed">',
                                           '<bpmn:startEvent id="filed" parallelMultiple="true">')
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, bundle("system_start", text=text), check_only=True)
    [problem] = err.value.details
    assert (problem["element"], problem["message"].split(":")[0]) == (
        "filed", "a start event that waits for all of several messages (parallelMultiple) is "
        "not supported")


def test_a_second_procedure_cannot_start_on_the_same_message(platform):
    deploy_bundle(platform, bundle("system_start"))
    other = bundle("system_start", code="el-system-start-2")
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, other)
    assert any("message 'sys.filed' already starts process" in p["message"]
               for p in err.value.details)


def test_a_lone_diagram_starting_on_a_message_is_accepted_and_its_form_left_to_the_bundle(
        platform):
    result = deploy_bundle(platform, {"process.bpmn": diagram("system_start")}, check_only=True)
    assert result["valid"]
    assert ("handle", "form 'forms/task.json' is not checked: a diagram checked on its own has "
            "no forms (deploy it in a bundle that holds the file)") in {
        (w["element"], w["message"]) for w in result["warnings"]}
    both = diagram("system_start").replace(
        '<bpmn:startEvent id="filed">',
        '<bpmn:startEvent id="plain"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:sequenceFlow id="f0" sourceRef="plain" targetRef="handle"/>'
        '<bpmn:startEvent id="filed">')
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, {"process.bpmn": both}, check_only=True)
    assert [p["element"] for p in err.value.details] == ["plain"]
    assert "must be a message start event too" in err.value.details[0]["message"]
