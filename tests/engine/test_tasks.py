"""Completing tasks: one completion wins, the rest get a clear conflict; bad data and bad
files are refused with field errors and change nothing."""

import threading

import pytest
from sqlalchemy import func, select

from engine import accounts, dossiers, tasks
from engine.errors import Conflict, InvalidData, NotFound, PermissionDenied, ScriptError
from engine.models import AuditEvent, Document, Dossier, HumanTask
from engine.storage import Upload
from tests.engine.factories import PDF, reception_task, submit
from tests.scenario import check_round_trip, sample_files


def user(p, name):
    return accounts.find_user(p, name)


def test_a_task_completed_twice_gives_a_conflict(platform):
    code = submit(platform)
    task_id = reception_task(platform, code)
    officer = user(platform, "motcua")
    tasks.complete(platform, officer, task_id, {"reception_decision": "accept"})
    with pytest.raises(Conflict) as err:
        tasks.complete(platform, officer, task_id, {"reception_decision": "accept"})
    assert "already completed" in err.value.message
    assert "đã được xử lý" in err.value.vi


def test_concurrent_completions_exactly_one_wins(platform):
    """Eight threads complete the same task at once: one succeeds, seven get 409, and the
    workflow moved exactly one step."""
    code = submit(platform)
    task_id = reception_task(platform, code)
    officer = user(platform, "motcua")
    barrier = threading.Barrier(8)
    outcomes = []

    def attempt():
        barrier.wait()
        try:
            tasks.complete(platform, officer, task_id, {"reception_decision": "accept"})
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["ok"]
    with platform.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()
        completes = session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.dossier_id == dossier_id, AuditEvent.action == "complete")).scalar()
        appraisals = session.execute(select(func.count()).select_from(HumanTask).where(
            HumanTask.dossier_id == dossier_id, HumanTask.spec_name == "Task_Appraise")).scalar()
    assert (completes, appraisals) == (1, 1)


def test_a_claimed_task_belongs_to_its_claimer(platform):
    code = submit(platform)
    tasks.complete(platform, user(platform, "motcua"), reception_task(platform, code),
                   {"reception_decision": "accept"})
    [appraise] = [t for t in tasks.list_tasks(platform, user(platform, "chuyenvien"))
                  if t["dossier_code"] == code]
    accounts_ = platform  # a second handler of the same agency
    with accounts_.db.transaction() as session:
        accounts.create_user(session, username="chuyenvien2", password="demo",
                             full_name="Hoàng Thị Hai", kind="staff",
                             agency_code="000.00.14.H56", roles=[("handler", "000.00.14.H56")])
    tasks.claim(platform, user(platform, "chuyenvien"), appraise["id"])
    other = user(platform, "chuyenvien2")
    assert all(t["id"] != appraise["id"] for t in tasks.list_tasks(platform, other))
    with pytest.raises(Conflict) as err:
        tasks.complete(platform, other, appraise["id"], {"recommendation": "refuse",
                                                         "appraisal_notes": "x"})
    assert "Trần Minh Thụ" in err.value.message
    with pytest.raises(Conflict):
        tasks.claim(platform, other, appraise["id"])


def test_a_claim_answers_with_the_task_as_the_dossier_page_shows_it(platform):
    """The claim's answer is the task's row, now the claimer's; the dossier page then shows
    it so, the history names the claim once, and claiming it again changes nothing."""
    from engine import inbox

    code = submit(platform)
    tasks.complete(platform, user(platform, "motcua"), reception_task(platform, code),
                   {"reception_decision": "accept"})
    officer = user(platform, "chuyenvien")
    [before] = inbox.tasks_of_dossier(platform, officer, code)
    claimed = tasks.claim(platform, officer, before["id"])
    [after] = inbox.tasks_of_dossier(platform, officer, code)
    assert set(claimed) <= set(after) and claimed == {key: after[key] for key in claimed}
    assert claimed["assignee"] == "chuyenvien" and claimed["mine"] and not before["mine"]
    assert tasks.claim(platform, officer, before["id"]) == claimed
    with platform.db.transaction() as session:
        claims = session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "claim")).scalar()
    assert claims == 1
    with pytest.raises(NotFound):
        tasks.claim(platform, officer, 10**9)


def test_concurrent_claims_exactly_one_wins(platform):
    """Two officers of the same role claim one task at once: one has it, the other is told
    who does."""
    code = submit(platform)
    tasks.complete(platform, user(platform, "motcua"), reception_task(platform, code),
                   {"reception_decision": "accept"})
    with platform.db.transaction() as session:
        accounts.create_user(session, username="chuyenvien2", password="demo",
                             full_name="Hoàng Thị Hai", kind="staff",
                             agency_code="000.00.14.H56", roles=[("handler", "000.00.14.H56")])
    officers = [user(platform, "chuyenvien"), user(platform, "chuyenvien2")]
    [task] = [t for t in tasks.list_tasks(platform, officers[0]) if t["dossier_code"] == code]
    barrier = threading.Barrier(2)
    outcomes = {}

    def attempt(officer):
        barrier.wait()
        try:
            outcomes[officer.username] = tasks.claim(platform, officer, task["id"])["assignee"]
        except Conflict as err:
            outcomes[officer.username] = err

    threads = [threading.Thread(target=attempt, args=(o,)) for o in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [name for name, outcome in outcomes.items() if outcome == name]
    [lost] = [outcome for outcome in outcomes.values() if isinstance(outcome, Conflict)]
    assert len(won) == 1
    winner = "Trần Minh Thụ" if won == ["chuyenvien"] else "Hoàng Thị Hai"
    assert winner in lost.message and "nhận xử lý" in lost.vi


def test_officers_of_other_roles_cannot_act(platform):
    code = submit(platform)
    task_id = reception_task(platform, code)
    for name in ("chuyenvien", "doanhnghiep", "congdan"):
        with pytest.raises(PermissionDenied):
            tasks.complete(platform, user(platform, name), task_id, {"reception_decision": "accept"})
    assert task_id in [t["id"] for t in tasks.list_tasks(platform, user(platform, "motcua"))]
    assert tasks.list_tasks(platform, user(platform, "chuyenvien")) == []


def test_invalid_task_data_names_the_fields_and_changes_nothing(platform):
    code = submit(platform)
    task_id = reception_task(platform, code)
    officer = user(platform, "motcua")
    with pytest.raises(InvalidData) as err:
        tasks.complete(platform, officer, task_id, {"reception_decision": "maybe"})
    assert err.value.details[0]["field"] == "reception_decision"
    with pytest.raises(InvalidData) as err:  # refusing needs a reason
        tasks.complete(platform, officer, task_id, {"reception_decision": "refuse"})
    assert {d["field"] for d in err.value.details} == {"reason"}
    task = tasks.get_task(platform, officer, task_id)
    assert task["status"] == "open" and task["dossier"]["status"] == "submitted"


def test_reserved_and_undeclared_keys_never_reach_the_workflow(platform):
    # these forms allow no other fields (additionalProperties: false): refused, by name
    with pytest.raises(InvalidData) as refused:
        submit(platform, data={"typename": "BpmnWorkflow", "dossier": {"code": "forged"}})
    assert {d["field"] for d in refused.value.details} == {"typename", "dossier"}
    code = submit(platform)
    task_id = reception_task(platform, code)
    with pytest.raises(InvalidData) as refused:
        tasks.complete(platform, user(platform, "motcua"), task_id,
                       {"reception_decision": "accept", "typename": "Task", "dossier": "x"})
    assert {d["field"] for d in refused.value.details} == {"typename", "dossier"}
    view = tasks.get_task(platform, user(platform, "motcua"), task_id)
    assert view["dossier"]["code"] == code and view["status"] == "open"
    assert "typename" not in view["dossier"]["data"]


@pytest.mark.parametrize("upload, message", [
    (Upload("letter.pdf", "application/pdf", b"MZ\x90\x00 not a pdf"), "not an accepted file type"),
    (Upload("letter.exe", "application/pdf", b""), "empty"),
    (Upload("big.pdf", "application/pdf", PDF + b"0" * (11 * 1024 * 1024)), "larger than"),
])
def test_bad_uploads_are_refused_and_nothing_is_kept(platform, upload, message):
    files = sample_files(platform, "transport-business-licence")
    files["application_letter"] = upload
    with pytest.raises(InvalidData) as err:
        submit(platform, files=files)
    assert message in err.value.message
    assert err.value.details[0]["field"] == "application_letter"
    with platform.db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Dossier)).scalar() == 0
        assert session.execute(select(func.count()).select_from(Document)).scalar() == 0


def test_invalid_application_lists_every_field(platform):
    with pytest.raises(InvalidData) as err:
        submit(platform, data={"enterprise_code": "12", "phone": "abc", "vehicle_count": 0})
    fields = {d["field"] for d in err.value.details}
    assert fields == {"enterprise_code", "phone", "vehicle_count"}
    assert all(d["title"] for d in err.value.details)  # Vietnamese field titles for the user
    by_field = {d["field"]: d for d in err.value.details}
    # each message says what is expected (the form's x-error, else its example)
    assert "ví dụ 0101234567" in by_field["enterprise_code"]["message_vi"]
    assert "0912345678" in by_field["phone"]["message_vi"]
    assert by_field["vehicle_count"]["message"] == "Must be at least 1."
    assert "does not match" not in err.value.vi  # no raw validator text reaches a citizen


def test_an_empty_application_lists_every_missing_field_in_form_order(platform):
    from engine.procedures import get_procedure

    schema = get_procedure(platform, "transport-business-licence")["form"]
    with pytest.raises(InvalidData) as err:
        dossiers.submit(platform, user(platform, "doanhnghiep"), "transport-business-licence",
                        {})
    assert [d["field"] for d in err.value.details] == schema["required"]
    assert all(d["message_vi"] == "Trường này là bắt buộc." for d in err.value.details)


def test_a_refused_file_is_reported_with_the_other_problems(platform):

    with pytest.raises(InvalidData) as err:
        dossiers.submit(platform, user(platform, "doanhnghiep"), "transport-business-licence",
                        {"company_name": "Công ty\u200b A"},
                        {"application_letter": Upload("x.exe", "application/pdf", b"MZ\x90")})
    fields = [d["field"] for d in err.value.details]
    assert fields[0] == "company_name" and "ký tự ẩn" in err.value.details[0]["message_vi"]
    assert "application_letter" in fields and "enterprise_code" in fields
    assert fields.index("enterprise_code") < fields.index("application_letter")


def test_a_diagram_that_fails_at_run_time_rolls_the_step_back(platform):
    """A condition that passes the deploy checks but fails on real data (a name the data
    lacks) answers with an error naming the element; the task stays open, nothing moves."""
    from engine.procedures import deploy_bundle
    from tests.engine.test_bundles import replace

    deploy_bundle(platform, replace("process.bpmn", "reception_decision == 'accept'",
                                    "reception_decision == 'accept' and vehicle_kind == 'bus'"))
    code = submit(platform)
    task_id = reception_task(platform, code)
    officer = user(platform, "motcua")
    with pytest.raises(ScriptError) as err:
        tasks.complete(platform, officer, task_id, {"reception_decision": "accept"})
    assert "Gateway_Reception" in err.value.message and "vehicle_kind" in err.value.message
    view = tasks.get_task(platform, officer, task_id)
    assert view["status"] == "open" and view["dossier"]["status"] == "submitted"
    assert [h["action"] for h in view["dossier"]["history"]].count("complete") == 0
    check_round_trip(platform, code)


def test_a_task_read_under_its_lock_is_the_same_in_a_transaction_holding_objects(platform):
    """A completion's first read is one statement; a transaction that already holds objects
    reads through the ORM in two. Both give the same task, dossier and saved state."""
    from engine.models import Instance

    code = submit(platform)
    task_id = reception_task(platform, code)
    with platform.db.transaction() as session:
        first = tasks._read_locked(session, task_id)
        one = (first.task.id, first.task.status, first.task.spec_name, first.agency_code,
               first.dossier.code, first.dossier.agency.code, bytes(first.state),
               first.content_hash)
    with platform.db.transaction() as session:
        held = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        second = tasks._read_locked(session, task_id)
        assert second.dossier is held
        two = (second.task.id, second.task.status, second.task.spec_name, second.agency_code,
               second.dossier.code, second.dossier.agency.code, bytes(second.state),
               second.content_hash)
        state = session.get(Instance, held.id).state
    assert one == two and bytes(state) == one[6]
    with pytest.raises(NotFound), platform.db.transaction() as session:
        tasks._read_locked(session, 10**9)
