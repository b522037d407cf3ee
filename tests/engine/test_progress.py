"""What the applicant is told: the reasons and the plain steps (engine.progress)."""

from __future__ import annotations

from engine import progress


def status(at: str, before: str, to: str) -> dict:
    return {"at": at, "action": "status", "detail": {"from": before, "to": to}}


def slip(at: str, form: str, reason: str = "", items: str = "", job: str = "") -> dict:
    return {"at": at, "action": "slip_issued",
            "detail": {"form": form, "reason": reason, "items": items, "job": job}}


def test_the_supplement_request_gives_its_reason_and_items_even_before_the_slip_exists():
    view = {"status": "supplement_requested",
            "history": [status("2026-12-01T02:00:00+00:00", "submitted", "supplement_requested")],
            "preparing": [{"kind": "slip", "key": "k1", "form": "02", "reason": "Thiếu chữ ký",
                           "items": "Giấy đề nghị có chữ ký\nBản sao giấy phép",
                           "created_at": "2026-12-01T02:00:01+00:00"}]}
    assert progress.reasons(view)["supplement"] == {
        "at": "2026-12-01T02:00:01+00:00", "reason": "Thiếu chữ ký",
        "items": ["Giấy đề nghị có chữ ký", "Bản sao giấy phép"]}
    assert progress.reasons(view)["refusal"] is None


def test_a_refusal_gives_the_reason_of_the_slip_after_it_not_an_older_request():
    view = {"status": "refused", "history": [
        status("2026-12-01T02:00:00+00:00", "submitted", "supplement_requested"),
        slip("2026-12-01T02:01:00+00:00", "02", "Thiếu chữ ký", "Giấy đề nghị", "a"),
        status("2026-12-02T02:00:00+00:00", "supplement_requested", "refused"),
        slip("2026-12-02T02:01:00+00:00", "03", "Không đủ điều kiện về bãi đỗ xe", job="b")]}
    reasons = progress.reasons(view)
    assert reasons["supplement"] is None
    assert reasons["refusal"]["reason"] == "Không đủ điều kiện về bãi đỗ xe"


def test_the_timeline_has_plain_steps_with_dates_and_whether_on_time():
    view = {"status": "returned", "received_at": "2026-12-01T01:00:00+00:00",
            "due_at": "2026-12-08T10:00:00+00:00", "history": [
                {"at": "2026-12-01T01:00:00+00:00", "action": "submit", "detail": {}},
                {"at": "2026-12-01T01:05:00+00:00", "action": "claim", "detail": {}},
                status("2026-12-01T02:00:00+00:00", "submitted", "supplement_requested"),
                status("2026-12-02T02:00:00+00:00", "supplement_requested", "submitted"),
                status("2026-12-02T03:00:00+00:00", "submitted", "accepted"),
                status("2026-12-08T09:00:00+00:00", "accepted", "approved"),
                status("2026-12-09T02:00:00+00:00", "approved", "returned")]}
    steps = progress.timeline(view)
    assert [s["step"] for s in steps] == ["received", "supplement_requested", "supplemented",
                                          "processing", "result", "returned"]
    assert all(s["done"] for s in steps)
    assert steps[-1]["on_time"] == "late" and steps[-1]["at"].startswith("2026-12-09")
    assert progress.was_supplemented(view)


def test_a_dossier_in_progress_shows_the_steps_still_to_come_with_the_appointment():
    view = {"status": "accepted", "received_at": "2026-12-01T01:00:00+00:00",
            "due_at": "2026-12-08T10:00:00+00:00",
            "history": [status("2026-12-01T03:00:00+00:00", "submitted", "accepted")]}
    steps = progress.timeline(view)
    assert [(s["step"], s["done"]) for s in steps] == [
        ("received", True), ("processing", True), ("result", False), ("returned", False)]
    assert steps[2]["at"] == "2026-12-08T10:00:00+00:00"
    assert not progress.was_supplemented(view)


def test_the_applicant_reads_no_officer_names_nor_internal_events():
    history = [{"at": "2026-12-01T01:00:00+00:00", "action": "claim", "actor": "chuyenvien",
                "detail": {"task": "Task_Appraise"}},
               {"at": "2026-12-01T02:00:00+00:00", "action": "status", "actor": "chuyenvien",
                "detail": {"from": "submitted", "to": "accepted", "task": "Task_SetAccepted"}}]
    assert progress.public_history(history) == [
        {"at": "2026-12-01T02:00:00+00:00", "action": "status", "actor": "",
         "detail": {"from": "submitted", "to": "accepted"}}]
