"""Form sets as data: a dossier's slips follow the circular in force on the day it was
received (Circular 01/2018 before 1/7/2025, 03/2025 from then), a withdrawal or a stop
issues the notice of stopped processing where the set has one, and an administrator may
move the switch date or pick a set."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine import accounts, clock, formsets, lifecycle, settings
from engine.errors import InvalidData, ScriptError
from engine.models import Dossier, Outbox
from tests.engine.factories import submit
from tests.engine.test_slips import assert_agency_signed, complete, slip, text_of

JUNE_30 = datetime.fromisoformat("2025-06-30T09:00:00+07:00")
JULY_1 = datetime.fromisoformat("2025-07-01T09:00:00+07:00")


def accepted_on(p, moment: datetime) -> str:
    clock.travel_to(moment)
    code = submit(p)
    complete(p, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
    return code


def form_set(p, code: str) -> str:
    with p.db.read() as session:
        return session.execute(select(Dossier.form_set).where(Dossier.code == code)).scalar_one()


def test_received_on_30_june_2025_the_slips_follow_circular_01_2018(platform):
    code = accepted_on(platform, JUNE_30)
    assert form_set(platform, code) == "circular-01-2018"
    _doc, pdf = slip(platform, code, "01")
    text = text_of(pdf)
    assert "Mẫu số 01 (Thông tư 01/2018/TT-VPCP)" in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert_agency_signed(platform, pdf)
    # Circular 01/2018 has no notice of stopped processing: a withdrawal sends the e-mail only
    lifecycle.withdraw(platform, code, accounts.find_user(platform, "doanhnghiep"), "Đổi ý.")
    with platform.db.read() as session:
        mail = session.execute(select(Outbox).where(
            Outbox.idempotency_key == f"{code}:withdrawn:doanhnghiep@example.vn")).scalar_one()
        assert mail.attachments == []


def test_received_on_1_july_2025_the_slips_follow_circular_03_2025(platform):
    code = accepted_on(platform, JULY_1)
    assert form_set(platform, code) == "circular-03-2025"
    text = text_of(slip(platform, code, "01")[1])
    assert "Mẫu số 01 (Thông tư 03/2025/TT-VPCP)" in text


def test_a_withdrawal_issues_the_notice_of_stopped_processing_form_05(platform):
    code = accepted_on(platform, JULY_1)
    lifecycle.withdraw(platform, code, accounts.find_user(platform, "doanhnghiep"),
                       "Doanh nghiệp thay đổi phương án kinh doanh.")
    doc, pdf = slip(platform, code, "05")
    text = text_of(pdf)
    for expected in ("THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ", "Mẫu số 05 (Thông tư 03/2025/TT-VPCP)",
                     "Lý do: Doanh nghiệp thay đổi phương án kinh doanh.", code):
        assert expected in text, expected
    assert_agency_signed(platform, pdf)
    with platform.db.read() as session:
        mails = session.execute(select(Outbox).where(
            Outbox.recipient == "doanhnghiep@example.vn",
            Outbox.idempotency_key.like(f"{code}:withdrawn:%"))).scalars().all()
        # one e-mail to the applicant for the event, carrying the notice
        assert [m.attachments for m in mails] == [[doc.id]]
        assert mails[0].subject.startswith("Đã rút hồ sơ")


def test_a_stop_issues_the_notice_too(platform):
    code = accepted_on(platform, JULY_1)
    lifecycle.stop_processing(platform, code, accounts.find_user(platform, "lanhdao"),
                              "Cơ quan có thẩm quyền đình chỉ hoạt động của doanh nghiệp.")
    assert "đình chỉ hoạt động" in text_of(slip(platform, code, "05")[1])


def test_an_administrator_moves_the_switch_date_or_picks_a_set(platform):
    with platform.db.transaction() as session:
        settings.set_value(session, "form_set_from:circular-03-2025", "2025-06-30",
                           actor="quantri")
    assert form_set(platform, accepted_on(platform, JUNE_30)) == "circular-03-2025"
    with platform.db.transaction() as session:
        settings.set_value(session, "form_set", "circular-01-2018", actor="quantri")
    assert form_set(platform, accepted_on(platform, JULY_1)) == "circular-01-2018"
    with platform.db.transaction() as session, pytest.raises(InvalidData, match="Unknown form"):
        settings.set_value(session, "form_set", "circular-99-2030", actor="quantri")


def test_a_new_form_set_is_a_folder(tmp_path):
    folder = tmp_path / "quyet-dinh-thu-nghiem"
    folder.mkdir()
    (folder / "notice.yaml").write_text("page: A5\ntitle: THÔNG BÁO\n", encoding="utf-8")
    (folder / "formset.yaml").write_text(
        "code: trial\nname: {vi: Thử nghiệm, en: Trial}\napplies_from: 2030-01-01\n"
        "forms:\n  reminder: {number: '08', title: Phiếu nhắc, layout: notice.yaml}\n",
        encoding="utf-8")
    [trial] = formsets.available(tmp_path).values()
    assert trial.form("reminder").number == "08" and trial.form("08").meaning == "reminder"
    assert trial.layout(trial.form("reminder"))["title"] == "THÔNG BÁO"
    with pytest.raises(ScriptError, match="has no form 'receipt'"):
        trial.form("receipt")
