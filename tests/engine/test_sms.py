"""SMS notices: the applicant chooses e-mail, SMS or both; a request to supplement, a
refusal, an apology and a result reach them by the chosen channels, SMS through the
provider's HTTP protocol (here its stand-in, which keeps what it was sent)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import accounts, apologies, clock, sms, worker
from engine.errors import InvalidData
from engine.models import Outbox
from tests.engine.factories import submit
from tests.engine.test_apologies import THURSDAY
from tests.engine.test_slips import complete
from tests.serving import serve
from web import create_app


def firm(p):
    return accounts.find_user(p, "doanhnghiep")


def texts_to(p, phone: str) -> list[str]:
    return [line["message"]["text"] for line in sms.stand_in(p).messages()
            if line["message"]["to"] == phone]


def test_sms_chosen_and_sent_for_supplement_apology_and_refusal(platform):
    assert sms.set_channels(platform, firm(platform), ["sms"], "0912 345 678") == {
        "channels": ["sms"], "phone": "0912 345 678"}
    app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})
    with serve(app) as base:
        platform.settings.sms_url = base + sms.SANDBOX_PATH  # over HTTP, as to a provider
        clock.travel_to(THURSDAY)
        code = submit(platform)
        complete(platform, code, "Task_Receive", "motcua",
                 {"reception_decision": "supplement", "reason": "Thiếu quyết định bổ nhiệm",
                  "supplement_items": "Quyết định bổ nhiệm người điều hành vận tải"})
        complete(platform, code, "Task_Supplement", "doanhnghiep",
                 {"supplement_note": "Đã bổ sung."})
        complete(platform, code, "Task_Receive", "motcua", {"reception_decision": "accept"})
        apologies.apologise(platform, code, accounts.find_user(platform, "lanhdao"),
                            "Chờ ý kiến của Cục Đường bộ.", "2026-12-18")
        complete(platform, code, "Task_Appraise", "chuyenvien", {
            "recommendation": "refuse", "appraisal_notes": "Không đạt."}, claim=True)
        complete(platform, code, "Task_Approve", "lanhdao", {
            "head_decision": "refuse", "head_comment": "Không đủ điều kiện kinh doanh."})
        worker.tick(platform)
        sent = texts_to(platform, "+84912345678")
    assert any("Phiếu yêu cầu bổ sung" in t for t in sent), sent
    assert any("xin lỗi" in t for t in sent), sent
    assert any("từ chối" in t.lower() for t in sent), sent
    assert all(t.startswith("[MOTCUA]") and f"/ho-so/{code}" in t for t in sent)
    with platform.db.read() as session:
        rows = session.execute(select(Outbox).where(Outbox.dossier_id.is_not(None),
                                                    Outbox.kind.in_(("email", "sms")))).scalars().all()
        to_firm = [r for r in rows if r.recipient in ("doanhnghiep@example.vn", "+84912345678")]
        assert to_firm and {r.kind for r in to_firm} == {"sms"}  # SMS only, as chosen
        assert all(r.status == "sent" for r in to_firm)
    assert len(sent) == len(to_firm)  # each once


def test_both_channels_and_clear_refusals(platform):
    with pytest.raises(InvalidData, match="mobile number"):
        sms.set_channels(platform, firm(platform), ["sms"], "12345")
    with pytest.raises(InvalidData, match="Choose"):
        sms.set_channels(platform, firm(platform), [])
    sms.set_channels(platform, firm(platform), ["email", "sms"], "+84 912 345 678")
    code = submit(platform)  # the "received" notice, both ways
    clock.travel(timedelta(minutes=1))
    worker.tick(platform)
    with platform.db.read() as session:
        kinds = session.execute(select(Outbox.kind).where(
            Outbox.idempotency_key.like(f"{code}:received:%"))).scalars().all()
    assert sorted(kinds) == ["email", "sms"]
    assert len(texts_to(platform, "+84912345678")) == 1  # in-process stand-in kept it
