"""Ending a dossier outside its diagram: the applicant withdraws it, the agency stops it.
Open steps, timers and e-mails behave as the people involved would expect."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine import accounts, clock, lifecycle, tasks, worker
from engine.errors import Conflict, InvalidData, NotFound, PermissionDenied
from engine.models import AuditEvent, ClockStop, Dossier, HumanTask, Instance, Outbox, Timer
from tests.engine.factories import reception_task, submit
from tests.scenario import check_round_trip


def user(p, name: str):
    return accounts.find_user(p, name)


def accepted(p) -> str:
    code = submit(p)
    tasks.complete(p, user(p, "motcua"), reception_task(p, code), {"reception_decision": "accept"})
    return code


def rows(p, code: str, model, *where) -> int:
    with p.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar_one()
        return session.execute(select(func.count()).select_from(model).where(
            model.dossier_id == dossier_id, *where)).scalar()


def emails(p, code: str) -> dict[str, list[str]]:
    with p.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar_one()
        out: dict[str, list[str]] = {}
        for row in session.execute(select(Outbox).where(Outbox.dossier_id == dossier_id)
                                   .order_by(Outbox.id)).scalars():
            out.setdefault(row.recipient, []).append(row.subject + "\n" + row.body)
        return out


def test_withdraw_cancels_open_steps_and_timers_and_tells_reception(platform):
    clock.travel_to(datetime(2026, 12, 7, 9, 0, tzinfo=clock.VIETNAM))
    code = accepted(platform)
    assert rows(platform, code, HumanTask, HumanTask.status == "open") == 1  # appraisal
    assert rows(platform, code, Timer, Timer.status == "waiting") == 2

    summary = lifecycle.withdraw(platform, code, user(platform, "doanhnghiep"),
                                 "Doanh nghiệp thay đổi phương án kinh doanh.")
    assert (summary["code"], summary["status"], summary["status_vi"]) == (
        code, "withdrawn", "Đã rút hồ sơ")
    assert summary["finished_at"]
    assert rows(platform, code, HumanTask, HumanTask.status == "open") == 0
    assert rows(platform, code, HumanTask, HumanTask.status == "cancelled") == 1
    assert rows(platform, code, Timer, Timer.status == "waiting") == 0
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        assert session.get(Instance, dossier.id).completed
        [event] = session.execute(select(AuditEvent).where(
            AuditEvent.dossier_id == dossier.id, AuditEvent.action == "withdraw")).scalars()
        assert event.actor == "doanhnghiep"
        assert event.detail == {"from": "accepted", "to": "withdrawn",
                                "reason": "Doanh nghiệp thay đổi phương án kinh doanh."}
    sent = emails(platform, code)
    [to_reception] = sent["motcua@example.vn"]
    assert f"Người nộp đã rút hồ sơ {code}" in to_reception
    assert "Doanh nghiệp thay đổi phương án kinh doanh." in to_reception
    assert f"Đã rút hồ sơ {code}" in sent["doanhnghiep@example.vn"][-1]
    assert "lanhdao@example.vn" not in sent
    check_round_trip(platform, code)

    # Its timers never fire: nothing reaches the handler a month later.
    clock.travel(timedelta(days=30))
    assert worker.tick(platform)["timers"] == 0
    assert "chuyenvien@example.vn" not in emails(platform, code)

    with pytest.raises(Conflict) as again:
        lifecycle.withdraw(platform, code, user(platform, "doanhnghiep"), "Rút lần nữa")
    assert again.value.status == 409
    assert "đã kết thúc (Đã rút hồ sơ)" in again.value.vi and "already finished" in again.value.message


def test_withdrawing_while_supplementing_closes_the_stopped_clock(platform):
    clock.travel_to(datetime(2026, 12, 7, 9, 0, tzinfo=clock.VIETNAM))
    code = submit(platform)
    clock.travel_to(datetime(2026, 12, 8, 10, 0, tzinfo=clock.VIETNAM))
    tasks.complete(platform, user(platform, "motcua"), reception_task(platform, code),
                   {"reception_decision": "supplement", "reason": "Thiếu giấy tờ",
                    "supplement_items": "Văn bằng của người điều hành vận tải"})
    clock.travel_to(datetime(2026, 12, 10, 9, 0, tzinfo=clock.VIETNAM))
    lifecycle.withdraw(platform, code, user(platform, "doanhnghiep"), "Không bổ sung được.")
    with platform.db.transaction() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        stop = session.execute(select(ClockStop).where(ClockStop.dossier_id == dossier.id)
                               ).scalar_one()
        assert dossier.clock_stopped_at is None and stop.ended_at is not None
        assert stop.working_days == dossier.paused_working_days == 2  # Wed 9, Thu 10
    assert rows(platform, code, HumanTask, HumanTask.status == "open") == 0
    check_round_trip(platform, code)


def test_only_the_applicant_withdraws_and_only_with_a_reason(platform):
    code = submit(platform)
    with pytest.raises(NotFound):  # another citizen learns nothing of the dossier
        lifecycle.withdraw(platform, code, user(platform, "congdan"), "Rút")
    with pytest.raises(NotFound):
        lifecycle.withdraw(platform, "000.00.14.H56-000000-9999", user(platform, "doanhnghiep"),
                           "Rút")
    with pytest.raises(PermissionDenied):  # the agency's staff see it but cannot withdraw it
        lifecycle.withdraw(platform, code, user(platform, "motcua"), "Rút")
    with pytest.raises(InvalidData) as blank:
        lifecycle.withdraw(platform, code, user(platform, "doanhnghiep"), "   ")
    assert blank.value.details[0]["field"] == "reason"
    assert rows(platform, code, HumanTask, HumanTask.status == "open") == 1  # nothing changed


def test_the_head_stops_processing_and_the_applicant_is_told_why(platform):
    code = accepted(platform)
    with pytest.raises(PermissionDenied):  # a handler may not
        lifecycle.stop_processing(platform, code, user(platform, "chuyenvien"), "Dừng")
    with pytest.raises(PermissionDenied):  # nor the applicant
        lifecycle.stop_processing(platform, code, user(platform, "doanhnghiep"), "Dừng")

    reason = "Doanh nghiệp đang bị thanh tra, chờ kết luận của cơ quan có thẩm quyền."
    summary = lifecycle.stop_processing(platform, code, user(platform, "lanhdao"), reason)
    assert summary["status"] == "stopped"
    assert rows(platform, code, HumanTask, HumanTask.status == "open") == 0
    assert rows(platform, code, Timer, Timer.status == "waiting") == 0
    [notice] = [m for m in emails(platform, code)["doanhnghiep@example.vn"]
                if "dừng xử lý" in m.lower()]
    assert f"Thông báo dừng xử lý hồ sơ {code}" in notice and reason in notice
    with pytest.raises(Conflict):
        lifecycle.stop_processing(platform, code, user(platform, "motcua"), "Dừng lần nữa")
    with pytest.raises(Conflict):
        lifecycle.withdraw(platform, code, user(platform, "doanhnghiep"), "Rút")


def test_reception_may_stop_processing_too(platform):
    code = submit(platform)
    assert lifecycle.stop_processing(platform, code, user(platform, "motcua"),
                                     "Hồ sơ giả mạo giấy tờ.")["status"] == "stopped"
    assert rows(platform, code, HumanTask, HumanTask.status == "open") == 0
