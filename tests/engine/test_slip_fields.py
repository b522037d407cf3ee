"""What a slip shows (engine/slip_fields.py): the circular's wording of dates and deadlines, on
time or not, the applicant as procedure.yaml names them, the documents received."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from engine import slip_fields


def test_on_time_is_the_due_day_itself():
    due = datetime.fromisoformat("2026-12-10T17:00:00+07:00")
    assert slip_fields.timeliness(due - timedelta(hours=8), due) == slip_fields.ON_TIME
    assert slip_fields.timeliness(due - timedelta(days=1), due) == slip_fields.EARLY
    assert slip_fields.timeliness(due + timedelta(minutes=1), due) == slip_fields.LATE
    assert slip_fields.timeliness(due, None) == ""


def test_moments_and_dates_are_written_in_vietnam_time_as_the_circular_words_them():
    moment = datetime.fromisoformat("2026-12-03T02:00:00+00:00")  # 09:00 in Hà Nội
    assert slip_fields.moment_text(moment) == "09 giờ 00 phút, ngày 03 tháng 12 năm 2026"
    assert slip_fields.date_text(moment) == "03/12/2026"
    assert slip_fields.short_text(moment) == "09:00 03/12/2026"
    late_evening = datetime.fromisoformat("2026-12-03T18:30:00+00:00")  # already the 4th
    assert slip_fields.date_text(late_evening) == "04/12/2026"
    assert slip_fields.moment_text(None) == slip_fields.date_text(None) == ""


def test_a_deadline_reads_as_two_digits_and_its_unit():
    assert slip_fields.deadline_text({"deadline": {"value": 5, "unit": "working_days"}}) \
        == "05 ngày làm việc"
    assert slip_fields.deadline_text({"deadline": {"value": 12, "unit": "hours"}}) == "12 giờ"
    assert slip_fields.deadline_text({"deadline": {"value": 3}}) == "03 ngày làm việc"
    assert slip_fields.deadline_text({}) == ""


def test_the_applicant_is_named_by_the_procedures_templates_over_the_form():
    account = SimpleNamespace(full_name="Nguyễn Văn An", phone="0912345678",
                              email="an@example.vn")
    dossier = SimpleNamespace(applicant=account,
                              data={"company_name": "Công ty TNHH Hoa Sen"})
    meta = {"applicant_fields": {"name": "{application[company_name]}",
                                 "address": "{application[address]}"}}
    fields = slip_fields.applicant_fields(dossier, meta)
    assert fields["name"] == "Công ty TNHH Hoa Sen"
    assert fields["address"] == ""  # the form has no address: the account has none either
    assert fields["phone"] == "0912345678" and fields["email"] == "an@example.vn"
    assert slip_fields.applicant_fields(dossier, {})["name"] == "Nguyễn Văn An"


def test_documents_received_count_what_the_dossier_holds():
    dossier = SimpleNamespace(data={"licence": ["a.pdf", "b.pdf"], "id_card": "c.pdf"})
    meta = {"required_documents": [
        {"key": "licence", "name": {"vi": "Giấy phép kinh doanh"}},
        {"key": "id_card", "name": "CCCD"},
        {"key": "missing", "name": {"vi": "Không nộp"}}]}
    assert slip_fields.documents_received(dossier, meta) == [
        {"name": "Giấy phép kinh doanh", "count": "02"}, {"name": "CCCD", "count": "01"}]
