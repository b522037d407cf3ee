"""Apologies before the appointment: an officer moves the date with a reason and a new
working day, the applicant gets the apology form of the dossier's set, the deadline
timers follow the new date; a dossier that passes its date without one is flagged late.
The close of day and the afternoon cut-off are an administrator's data."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine import accounts, apologies, clock, inbox, settings, worker
from engine.errors import Conflict, InvalidData, NotFound, PermissionDenied
from engine.models import AuditEvent, Dossier, Outbox, Timer
from tests.engine.factories import submit
from tests.engine.test_slips import assert_agency_signed, complete, slip, text_of

THURSDAY = datetime.fromisoformat("2026-12-03T09:00:00+07:00")  # appointment Thu 10/12 17:00


def user(p, name):
    return accounts.find_user(p, name)


def accepted(p) -> str:
    clock.travel_to(THURSDAY)
    code = submit(p)
    complete(p, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
    return code


def due_and_timers(p, code):
    with p.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        timers = dict(session.execute(select(Timer.spec_name, Timer.due_at)
                                      .where(Timer.dossier_id == dossier.id)).all())
        return dossier.due_at, timers


def local(moment):
    return moment.astimezone(clock.VIETNAM).strftime("%d/%m %H:%M")


def test_the_handler_apologises_before_the_date_and_the_appointment_moves(platform):
    code = accepted(platform)
    clock.travel(timedelta(days=5))  # Tue 8/12 09:00, before the appointment
    result = apologies.apologise(platform, code, user(platform, "chuyenvien"),
                                 "Cần xác minh thêm hồ sơ phương tiện với Cục Đăng kiểm.",
                                 "2026-12-15")
    due, timers = due_and_timers(platform, code)
    assert local(due) == "15/12 17:00" and result["due_at"] == due.isoformat()
    # the deadline timers follow the new date: warned Mon 14/12, late after Tue 15/12
    assert {name: local(at) for name, at in timers.items()} == {
        "Timer_WarnDue": "14/12 17:00", "Timer_Late": "15/12 17:00"}
    doc, pdf = slip(platform, code, "04")
    text = text_of(pdf)
    for expected in ("VĂN BẢN XIN LỖI VÀ ĐỀ NGHỊ GIA HẠN THỜI GIAN GIẢI QUYẾT",
                     "Mẫu số 04 (Thông tư 03/2025/TT-VPCP)", "Cục Đăng kiểm",
                     "đã hẹn: 17 giờ 00 phút, ngày 10 tháng 12 năm 2026",
                     "thời hạn trả kết quả mới là: 17 giờ 00 phút, ngày 15 tháng 12 năm 2026"):
        assert expected in text, expected
    assert_agency_signed(platform, pdf)
    with platform.db.read() as session:
        mail = session.execute(select(Outbox).where(
            Outbox.recipient == "doanhnghiep@example.vn",
            Outbox.idempotency_key.like(f"{code}:slip-04:%"))).scalar_one()
        assert mail.attachments == [doc.id] and "15/12/2026" in mail.body
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "apology")
                                ).scalar_one()
        assert event.actor == "chuyenvien" and "Cục Đăng kiểm" in event.detail["reason"]
    # the old date passes: nothing is late
    clock.travel(timedelta(days=2, hours=9))  # Thu 10/12 18:00
    worker.tick(platform)
    assert not any(t["dossier_late"] for t in inbox.all_tasks(platform, user(platform,
                                                                               "chuyenvien")))
    assert set(due_and_timers(platform, code)[1]) == {"Timer_WarnDue", "Timer_Late"}


def test_an_apology_needs_an_officer_a_reason_a_later_working_day_and_time(platform):
    code = accepted(platform)
    head = user(platform, "lanhdao")
    with pytest.raises(NotFound):
        apologies.apologise(platform, code, user(platform, "congdan"), "Lý do", "2026-12-15")
    with pytest.raises(PermissionDenied):
        apologies.apologise(platform, code, user(platform, "motcua"), "Lý do", "2026-12-15")
    with pytest.raises(InvalidData, match="Give the reason"):
        apologies.apologise(platform, code, head, "  ", "2026-12-15")
    with pytest.raises(InvalidData, match="not a working day"):
        apologies.apologise(platform, code, head, "Lý do", "2026-12-12")  # a Saturday
    with pytest.raises(InvalidData, match="later than the current one"):
        apologies.apologise(platform, code, head, "Lý do", "2026-12-09")
    with pytest.raises(InvalidData, match="YYYY-MM-DD"):
        apologies.apologise(platform, code, head, "Lý do", "15/12/2026")
    clock.travel(timedelta(days=7, hours=9))  # Thu 10/12 18:00: the date has passed
    with pytest.raises(Conflict, match="before the appointment date"):
        apologies.apologise(platform, code, head, "Lý do", "2026-12-15")
    assert local(due_and_timers(platform, code)[0]) == "10/12 17:00"  # unchanged


def test_a_dossier_past_its_date_without_an_apology_is_flagged_late(platform):
    code = accepted(platform)
    complete(platform, code, "Task_Appraise", "chuyenvien", {
        "recommendation": "approve", "appraisal_notes": "Đủ điều kiện.",
        "licence_number": "GP-56-0001"}, claim=True)
    [row] = inbox.all_tasks(platform, user(platform, "lanhdao"))
    assert not row["dossier_late"]
    clock.travel(timedelta(days=7, hours=9))  # Thu 10/12 18:00
    worker.tick(platform)
    [row] = inbox.all_tasks(platform, user(platform, "lanhdao"))
    assert row["dossier_late"] and row["dossier_code"] == code
    with platform.db.read() as session:
        late = session.execute(select(Outbox.recipient).where(
            Outbox.idempotency_key.like(f"{code}:late:%"))).scalars().all()
        assert set(late) == {"chuyenvien@example.vn", "lanhdao@example.vn"}
        assert session.execute(select(AuditEvent).where(AuditEvent.action == "late")
                               ).scalar_one() is not None


def test_close_of_day_and_afternoon_cut_off_are_an_administrators_data(platform):
    with platform.db.transaction() as session:
        settings.set_value(session, "close_of_day", "16:30", actor="quantri")
        settings.set_value(session, "afternoon_cutoff", "16:00", actor="quantri")
    clock.travel_to(datetime.fromisoformat("2026-12-03T16:10:00+07:00"))  # after the cut-off
    code = submit(platform)
    due = due_and_timers(platform, code)[0]
    assert local(due) == "11/12 16:30"  # counted from Friday: five working days, at 16:30
    with platform.db.transaction() as session, pytest.raises(InvalidData, match="HH:MM"):
        settings.set_value(session, "close_of_day", "5pm", actor="quantri")
