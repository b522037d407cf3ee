"""Appointment dates: the first one by channel around Tết, the clock that stops while the
applicant supplements, what diagrams see of a moved appointment, and the statistics that
follow (processing time without the pause, late after two supplement requests)."""

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import accounts, clock, dossiers, runtime, stats, tasks
from engine.calendar import WorkingCalendar
from engine.deadlines import initial_due_at, shift_working_days, working_days_elapsed
from engine.errors import ScriptError
from engine.models import AuditEvent, ClockStop, Dossier, HumanTask, Timer
from engine.procedures import deploy_bundle
from engine.scripting import make_evaluator
from engine.spiff import SPECS
from tests.engine.factories import PROCEDURE, reception_task, submit
from tests.engine.test_bundles import replace
from tests.scenario import check_round_trip, open_task

VN = clock.VIETNAM
CAL = WorkingCalendar()
# The 2027 Tết holiday as the `holidays` package (VN) has it: 29 Tết Thursday 4/2 to the
# 5th day Wednesday 10/2 (Lunar New Year's Day is Saturday 6/2/2027), so with the weekend
# the offices close from Thursday 4/2 to Wednesday 10/2 and reopen Thursday 11/2.
BEFORE_TET = datetime(2027, 2, 3, 10, 0, tzinfo=VN)  # Wednesday, the last working day


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN)


def near(moment: datetime, expected: datetime) -> bool:
    """Within a few seconds: the engine's clock runs on while a test works."""
    return abs(moment - expected) < timedelta(seconds=10)


def test_the_2027_tet_holiday_is_what_the_test_assumes():
    assert [d.day for d in (date(2027, 2, n) for n in range(1, 16))
            if not CAL.is_working_day(d)] == [4, 5, 6, 7, 8, 9, 10, 13, 14]


def test_appointment_before_tet_skips_the_holiday():
    meta = {"deadline": {"value": 5, "unit": "working_days"}}
    # Received Wed 3/2 10:00 (counted from that day): day 1 is Thu 11/2, then Fri 12/2,
    # Mon 15/2, Tue 16/2, and day 5 Wed 17/2, 17:00.
    assert initial_due_at(CAL, meta, BEFORE_TET, "online") == at(2027, 2, 17, 17, 0)
    # Arriving at 17:30 the counter is closed: received Thu 11/2, due Thu 18/2.
    assert initial_due_at(CAL, meta, at(2027, 2, 3, 17, 30), "online") == at(2027, 2, 18, 17, 0)


def test_online_filing_has_its_own_shorter_deadline():
    meta = {"deadline": {"value": 3, "unit": "working_days", "online": 2}}  # DOMAIN §5a
    # Online: Thu 11/2, Fri 12/2 → Fri 12/2. At the counter: one more, Mon 15/2.
    assert initial_due_at(CAL, meta, BEFORE_TET, "online") == at(2027, 2, 12, 17, 0)
    assert initial_due_at(CAL, meta, BEFORE_TET, "counter") == at(2027, 2, 15, 17, 0)
    assert initial_due_at(CAL, {"deadline": {"value": 2, "unit": "days"}}, BEFORE_TET,
                          "online") == at(2027, 2, 5, 17, 0)  # calendar days ignore Tết
    assert initial_due_at(CAL, {"deadline": {"value": 1, "unit": "months"}}, BEFORE_TET,
                          "online") == at(2027, 3, 3, 17, 0)


def test_pause_and_shift_count_whole_working_days():
    # Requested Tuesday, supplemented Friday: Wednesday, Thursday, Friday are paused.
    assert working_days_elapsed(CAL, at(2026, 12, 8, 10, 0), at(2026, 12, 11, 15, 0)) == 3
    # The same day, or Friday evening to Monday morning: no working day lost.
    assert working_days_elapsed(CAL, at(2026, 12, 8, 10, 0), at(2026, 12, 8, 16, 0)) == 0
    assert working_days_elapsed(CAL, at(2026, 12, 11, 18, 0), at(2026, 12, 14, 9, 0)) == 0
    # Over Tết: Wed 3/2 to Thu 11/2 is one working day (11/2).
    assert working_days_elapsed(CAL, BEFORE_TET, at(2027, 2, 11, 9, 0)) == 1
    assert shift_working_days(CAL, at(2027, 2, 3, 17, 0), 2) == at(2027, 2, 12, 17, 0)


def test_a_dossier_received_just_before_tet_gets_the_right_appointment(platform):
    clock.travel_to(BEFORE_TET)
    result = dossiers.submit(platform, accounts.find_user(platform, "doanhnghiep"), PROCEDURE,
                             *_application(platform))
    # The transport licence: 5 working days (procedure.yaml) → Wed 17/2/2027 17:00.
    assert datetime.fromisoformat(result["due_at"]) == at(2027, 2, 17, 17, 0)
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == result["code"])).scalar()
        assert dossier.due_at == at(2027, 2, 17, 17, 0)


def test_a_procedure_with_an_online_deadline_gives_online_dossiers_that_one(platform):
    SPECS.items.clear()  # cached by version id, which each test's database reuses
    deploy_bundle(platform, replace("procedure.yaml", "deadline: {value: 5, unit: working_days}",
                                    "deadline: {value: 5, unit: working_days, online: 3}"))
    try:
        clock.travel_to(BEFORE_TET)
        code = submit(platform)
        view = dossiers.get_dossier(platform, code, user=accounts.find_user(platform, "quantri"))
        # Online, 3 working days: Thu 11/2, Fri 12/2, Mon 15/2.
        assert datetime.fromisoformat(view["due_at"]) == at(2027, 2, 15, 17, 0)
    finally:
        SPECS.items.clear()


def test_an_invalid_online_deadline_is_refused_at_deploy(platform):
    from engine.errors import InvalidBundle

    with pytest.raises(InvalidBundle) as caught:
        deploy_bundle(platform, replace(
            "procedure.yaml", "deadline: {value: 5, unit: working_days}",
            "deadline: {value: 5, unit: working_days, online: two}"), check_only=True)
    assert any(d["element"] == "deadline.online" for d in caught.value.details)


# -- the stopped clock ----------------------------------------------------------------------

def _application(p):
    from tests.engine.factories import APPLICATION
    from tests.scenario import sample_files

    return dict(APPLICATION), sample_files(p, PROCEDURE)


def _request_supplement(p, code: str) -> None:
    tasks.complete(p, accounts.find_user(p, "motcua"), reception_task(p, code),
                   {"reception_decision": "supplement", "reason": "Thiếu quyết định bổ nhiệm",
                    "supplement_items": "Quyết định bổ nhiệm người điều hành vận tải"})


def _supplement(p, code: str) -> None:
    tasks.complete(p, accounts.find_user(p, "doanhnghiep"),
                   open_task(p, code, "Task_Supplement").id,
                   {"supplement_note": "Đã bổ sung quyết định bổ nhiệm."})


def _dossier(p, code: str) -> Dossier:
    with p.db.transaction() as session:
        return session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()


def test_a_supplement_moves_the_appointment_by_exactly_the_paused_working_days(platform):
    clock.travel_to(at(2026, 12, 7, 9, 0))  # Monday; 5 working days → Mon 14/12 17:00
    code = submit(platform)
    assert _dossier(platform, code).due_at == at(2026, 12, 14, 17, 0)

    clock.travel_to(at(2026, 12, 8, 10, 0))  # Tuesday: reception asks for a supplement
    _request_supplement(platform, code)
    stopped = _dossier(platform, code)
    assert (stopped.status, stopped.supplement_count) == ("supplement_requested", 1)
    assert near(stopped.clock_stopped_at, at(2026, 12, 8, 10, 0))
    assert stopped.due_at == at(2026, 12, 14, 17, 0)  # not moved while it stands still

    clock.travel_to(at(2026, 12, 11, 15, 0))  # Friday: the firm supplements
    _supplement(platform, code)
    resumed = _dossier(platform, code)
    # Wed 9, Thu 10, Fri 11 were the firm's: 3 working days. Mon 14/12 + 3 = Thu 17/12.
    assert resumed.status == "submitted" and resumed.clock_stopped_at is None
    assert resumed.paused_working_days == 3
    assert resumed.due_at == at(2026, 12, 17, 17, 0)
    with platform.db.transaction() as session:
        [stop] = session.execute(select(ClockStop).where(ClockStop.dossier_id == resumed.id)
                                 ).scalars().all()
        assert near(stop.started_at, at(2026, 12, 8, 10, 0))
        assert near(stop.ended_at, at(2026, 12, 11, 15, 0)) and stop.working_days == 3
        events = {e.action: e.detail for e in session.execute(
            select(AuditEvent).where(AuditEvent.dossier_id == resumed.id)).scalars()}
    assert events["clock_stopped"]["supplements"] == 1
    moved = events["clock_resumed"]
    assert moved["working_days"] == 3
    assert datetime.fromisoformat(moved["from"]) == at(2026, 12, 14, 17, 0)
    assert datetime.fromisoformat(moved["to"]) == at(2026, 12, 17, 17, 0)

    # The diagram sees the new appointment: appraisal is due one working day before it and
    # the late timer waits for it.
    tasks.complete(platform, accounts.find_user(platform, "motcua"),
                   reception_task(platform, code), {"reception_decision": "accept"})
    with platform.db.transaction() as session:
        appraise = session.execute(select(HumanTask).where(
            HumanTask.dossier_id == resumed.id, HumanTask.spec_name == "Task_Appraise")).scalar()
        late = session.execute(select(Timer).where(Timer.dossier_id == resumed.id,
                                                   Timer.spec_name == "Timer_Late")).scalar()
    assert appraise.due_at == at(2026, 12, 16, 17, 0)
    assert late.due_at == at(2026, 12, 17, 17, 0)
    check_round_trip(platform, code)


def test_appointment_helper_gives_the_running_dossiers_current_date(platform):
    clock.travel_to(at(2026, 12, 7, 9, 0))
    code = submit(platform)
    clock.travel_to(at(2026, 12, 8, 10, 0))
    _request_supplement(platform, code)
    clock.travel_to(at(2026, 12, 10, 9, 0))
    _supplement(platform, code)  # paused Wed 9, Thu 10: due Wed 16/12

    def evaluate(step):
        [task] = [t for t in step.workflow.get_tasks(state=TaskState.READY)
                  if t.task_spec.bpmn_id == "Task_Receive"]
        return (step.workflow.script_engine.evaluate(task, "appointment()"),
                step.workflow.script_engine.evaluate(task, "dossier['due_at']"))

    helper, data = runtime.run_step(platform, _dossier(platform, code).id, evaluate,
                                    actor="test")
    assert datetime.fromisoformat(helper) == at(2026, 12, 16, 17, 0)
    assert datetime.fromisoformat(data) == at(2026, 12, 16, 17, 0)  # refreshed by set_status

    # Timers take it as they take the other helpers' moments (17/2 17:00 → 16/2 17:00).
    fake = SimpleNamespace(dossier=SimpleNamespace(due_at=at(2027, 2, 17, 17, 0)))
    warn = make_evaluator(CAL, step=fake).evaluate("working_days_before(appointment(), 1)", {})
    assert datetime.fromisoformat(warn) == at(2027, 2, 16, 17, 0)
    with pytest.raises(ScriptError):
        make_evaluator(CAL).evaluate("appointment()", {})


# -- statistics -----------------------------------------------------------------------------

def test_two_supplement_requests_count_as_late_and_pauses_are_not_processing_time(platform):
    december = {"start": date(2026, 12, 1), "end": date(2026, 12, 31)}
    motcua = accounts.find_user(platform, "motcua")
    clock.travel_to(at(2026, 12, 7, 9, 0))
    once, twice = submit(platform), submit(platform)
    clock.travel_to(at(2026, 12, 8, 10, 0))
    _request_supplement(platform, once)
    _request_supplement(platform, twice)
    clock.travel_to(at(2026, 12, 11, 15, 0))
    _supplement(platform, once)
    _supplement(platform, twice)
    clock.travel_to(at(2026, 12, 11, 16, 0))
    _request_supplement(platform, twice)  # the second request: late, whatever the dates
    clock.travel_to(at(2026, 12, 14, 10, 0))
    _supplement(platform, twice)
    for code in (once, twice):
        tasks.complete(platform, motcua, reception_task(platform, code),
                       {"reception_decision": "refuse", "reason": "Chưa đủ điều kiện."})
    assert _dossier(platform, twice).supplement_count == 2
    assert _dossier(platform, twice).due_at == at(2026, 12, 18, 17, 0)  # paused 3 + 1

    report = stats.indicators(platform, **december)
    assert (report["received"], report["finished"]) == (2, 2)
    assert (report["on_time"], report["late"], report["late_by_supplements"]) == (1, 1, 1)
    # Both were decided Mon 14/12 10:00: 5 working days after Mon 7/12 (Tue–Fri, Mon),
    # less 3 paused for one and 4 for the other: 2 and 1, average 1.5.
    assert report["average_processing_working_days"] == 1.5


def test_a_dossier_whose_clock_is_stopped_is_not_late_while_the_applicant_takes_their_time(
        platform):
    clock.travel_to(at(2026, 12, 7, 9, 0))
    code = submit(platform)
    clock.travel_to(at(2026, 12, 8, 10, 0))
    _request_supplement(platform, code)
    clock.travel(timedelta(days=20))  # past the appointment, still supplementing
    report = stats.indicators(platform, start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert (report["on_time"], report["late"], report["in_progress"]) == (1, 0, 1)
