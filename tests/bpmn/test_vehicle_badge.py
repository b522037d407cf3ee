"""The vehicle badge (phù hiệu xe ô tô) beyond its scenarios: the fee paid online releases
the signed badge, one badge type per vehicle (another type refused with the reason, the same
type renewed), validity capped by the vehicle's service life, the tracker check's manual
paths, and the level-3 variant returning the result at the desk."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

import engine.payment_models  # noqa: F401  (the payment table)
from engine import accounts, bundles, clock, dossiers, payments, registry, tasks, worker
from engine.documents import open_document
from engine.errors import OperatorError, PermissionDenied
from engine.models import Outbox
from engine.procedures import deploy_bundle
from tests.engine.test_payments import callback
from tests.scenario import open_task, sample_files, workflow_data

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "bpmn" / "vehicle-badge"
SCENARIO = yaml.safe_load((FOLDER / "scenarios" / "approve-and-sign.yaml").read_text("utf-8"))
APPLICATION = SCENARIO["application"]   # plate 36B-123.45, contract badge, 5 years, built 2022
FEE = 50000


@pytest.fixture(autouse=True)
def _sandbox_gateway(monkeypatch):
    for name in ("MOTCUA_VNPAY_URL", "MOTCUA_VNPAY_TMN_CODE", "MOTCUA_VNPAY_HASH_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _thursday():
    clock.travel_to(datetime.fromisoformat(SCENARIO["start_at"]))


def user(p, name):
    return accounts.find_user(p, name)


def submit(p, **changes) -> str:
    return dossiers.submit(p, user(p, "doanhnghiep"), "vehicle-badge", {**APPLICATION, **changes},
                           sample_files(p, "vehicle-badge"))["code"]


def complete(p, code, task, username, data, *, passphrase=None):
    row = open_task(p, code, task)
    actor = user(p, username)
    if row.assignee_id is None and row.role_code in ("handler", "head"):
        tasks.claim(p, actor, row.id)
    return tasks.complete(p, actor, row.id, data, passphrase=passphrase)


def accept(p, code):
    complete(p, code, "Task_Receive", "motcua", {"reception_decision": "accept"})


def approve_and_sign(p, code):
    complete(p, code, "Task_Appraise", "chuyenvien",
             {"recommendation": "approve", "appraisal_notes": "Đủ điều kiện."})
    complete(p, code, "Task_Approve", "lanhdao", {"head_decision": "approve"})
    if dossiers.get_dossier(p, code, user=user(p, "quantri"))["status"] == "refused":
        return
    complete(p, code, "Task_SignHandler", "chuyenvien", {"confirm": True}, passphrase="demo")
    complete(p, code, "Task_SignHead", "lanhdao", {"confirm": True}, passphrase="demo")


def issue(p, **changes) -> str:
    code = submit(p, **changes)
    accept(p, code)
    approve_and_sign(p, code)
    return code


def status(p, code) -> str:
    return dossiers.get_dossier(p, code, user=user(p, "quantri"))["status"]


def badges(p, plate="36B-123.45") -> list[dict]:
    with p.db.transaction() as session:
        return registry.lookup(session, "vehicle_badge", plate)


def pay(p, code):
    started = payments.start_payment(p, user(p, "doanhnghiep"), code, client_ip="203.0.113.7")
    assert started["amount"] == FEE
    assert payments.handle_ipn(p, callback(started["txn_ref"], amount=FEE))["RspCode"] == "00"


def test_the_fee_paid_online_releases_the_signed_badge(platform):
    code = issue(platform)
    view = dossiers.get_dossier(platform, code, user=user(platform, "doanhnghiep"))
    assert view["status"] == "approved" and view["steps"] == []     # waits for the fee
    # the signed badge is not the firm's before the fee is paid, however it asks
    assert "badge" not in {d["name"] for d in view["documents"]}
    staff_view = dossiers.get_dossier(platform, code, user=user(platform, "chuyenvien"))
    [signed] = [d for d in staff_view["documents"] if d["name"] == "badge"][-1:]
    with pytest.raises(PermissionDenied):
        open_document(platform, user(platform, "doanhnghiep"), signed["id"])
    assert open_document(platform, user(platform, "lanhdao"), signed["id"])[1][:4] == b"%PDF"
    assert payments.payment_status(platform, code)["due"] is True
    worker.tick(platform)
    assert status(platform, code) == "approved"
    pay(platform, code)
    worker.tick(platform)                                            # delivers payment_confirmed
    view = dossiers.get_dossier(platform, code, user=user(platform, "doanhnghiep"))
    assert view["status"] == "processed" and view["finished_at"]
    badge = [d for d in view["documents"] if d["name"] == "badge"][-1]
    assert badge["signatures"] == 2
    assert open_document(platform, user(platform, "doanhnghiep"), badge["id"])[1][:4] == b"%PDF"
    [entry] = badges(platform)
    assert (entry["kind"], entry["number"], entry["status"]) == ("contract", "PH-000001", "active")
    assert (entry["valid_from"], entry["valid_to"]) == ("2026-12-03", "2031-12-03")


def test_a_fee_paid_early_waits_for_the_badge(platform):
    code = submit(platform)
    pay(platform, code)
    worker.tick(platform)                                            # nobody waits yet: kept
    accept(platform, code)
    approve_and_sign(platform, code)
    assert status(platform, code) == "approved"
    worker.tick(platform)
    assert status(platform, code) == "processed"


def test_another_badge_type_for_the_same_vehicle_is_refused_with_the_reason(platform):
    issue(platform)                                                  # an active contract badge
    code = issue(platform, badge_type="taxi")
    assert status(platform, code) == "refused"
    reason = workflow_data(platform, code)["reason"]
    assert "đang có phù hiệu loại khác còn hiệu lực" in reason and "Xe taxi" in reason
    with platform.db.transaction() as session:
        bodies = session.execute(select(Outbox.body)
                                 .where(Outbox.recipient == "doanhnghiep@example.vn")).scalars()
        assert any("đang có phù hiệu loại khác" in b for b in bodies)
    assert [(e["kind"], e["status"]) for e in badges(platform)] == [("contract", "active")]


def test_the_same_badge_type_is_renewed(platform):
    issue(platform)
    code = issue(platform, requested_years=7)
    assert status(platform, code) == "approved"
    first, second = badges(platform)
    assert (first["number"], first["status"]) == ("PH-000001", "closed")
    assert (second["number"], second["status"], second["valid_to"]) == ("PH-000002", "active",
                                                                       "2033-12-03")


def test_validity_stops_at_the_end_of_the_service_life(platform):
    code = issue(platform, plate="36C-555.12", badge_type="truck", capacity="15 tấn",
                 manufacture_year=2005, requested_years=7)            # freight: 25 years → 2030
    assert status(platform, code) == "approved"
    [entry] = badges(platform, "36C-555.12")
    assert entry["valid_to"] == "2030-12-31"
    assert workflow_data(platform, code)["validity_to_text"] == "31/12/2030"


def test_a_vehicle_past_its_service_life_cannot_be_recommended(platform):
    code = submit(platform, manufacture_year=2005)                    # passenger: 20 years → 2025
    accept(platform, code)
    with pytest.raises(OperatorError) as err:
        complete(platform, code, "Task_Appraise", "chuyenvien",
                 {"recommendation": "approve", "appraisal_notes": "Đủ điều kiện."})
    assert "hết niên hạn sử dụng" in err.value.vi
    open_task(platform, code, "Task_Appraise")                        # nothing changed
    complete(platform, code, "Task_Appraise", "chuyenvien",
             {"recommendation": "refuse", "appraisal_notes": "Xe hết niên hạn sử dụng."})
    open_task(platform, code, "Task_Approve")


def test_too_few_days_of_tracker_data_go_to_a_manual_check(platform):
    code = submit(platform, plate="36B-123.48")                       # 20 of 30 days
    accept(platform, code)
    error = workflow_data(platform, code)["tracking_error"]
    assert error["code"] == "tracking_failed" and "20/30" in error["message"]
    complete(platform, code, "Task_ManualTracking", "chuyenvien",
             {"tracking_manual": "not_compliant", "tracking_note": "Thiếu dữ liệu 10 ngày."})
    with pytest.raises(OperatorError) as err:
        complete(platform, code, "Task_Appraise", "chuyenvien",
                 {"recommendation": "approve", "appraisal_notes": "Đủ điều kiện."})
    assert "giám sát hành trình" in err.value.vi


def test_an_unavailable_provider_goes_to_a_manual_check_that_can_pass(platform):
    code = submit(platform, plate="36B-123.47")                       # the stand-in's outage
    accept(platform, code)
    assert workflow_data(platform, code)["tracking_error"]["code"] == "tracking_unavailable"
    complete(platform, code, "Task_ManualTracking", "chuyenvien",
             {"tracking_manual": "compliant", "tracking_note": "Đã tra cứu trên hệ thống của Cục."})
    approve_and_sign(platform, code)
    assert status(platform, code) == "approved"


def level_3_bundle() -> dict[str, str]:
    files = {k: v.decode() for k, v in bundles.read_folder(FOLDER).items()}
    files["procedure.yaml"] = files["procedure.yaml"].replace("\nlevel: 4\n", "\nlevel: 3\n", 1) \
        .replace("online_label: toàn trình", "online_label: một phần", 1)
    return files


def test_at_level_3_the_fee_and_the_badge_are_handled_at_the_desk(platform):
    deploy_bundle(platform, level_3_bundle())
    code = issue(platform)
    assert status(platform, code) == "approved"
    with pytest.raises(Exception, match="mức độ 4|level 4"):
        payments.start_payment(platform, user(platform, "doanhnghiep"), code, client_ip="1.2.3.4")
    complete(platform, code, "Task_ReturnAtCounter", "motcua",
             {"fee_receipt": "BL-0001", "handed_over": True})
    assert status(platform, code) == "processed"


def test_the_tracker_is_asked_with_the_dossier_unlocked(platform, monkeypatch):
    """The provider may take seconds: while it answers, the dossier is not locked (another
    connection locks its row at once), and the step then applies the answer."""
    from sqlalchemy import text

    from engine import tracking
    from engine.models import Dossier

    code = submit(platform)
    with platform.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()
    asked, real = [], tracking.StandInProvider.vehicle_status

    def vehicle_status(self, plate):
        with platform.db.engine.connect() as other:  # another officer's connection
            if platform.db.is_postgres:
                other.execute(text("SET lock_timeout = '1s'"))
                other.execute(text("SELECT id FROM dossier WHERE id = :id FOR UPDATE NOWAIT"),
                              {"id": dossier_id})
            else:
                other.exec_driver_sql("PRAGMA busy_timeout = 1")
                other.execute(text("UPDATE dossier SET id = id WHERE id = :id"),
                              {"id": dossier_id})
            other.rollback()
        asked.append(plate)
        return real(self, plate)

    monkeypatch.setattr(tracking.StandInProvider, "vehicle_status", vehicle_status)
    accept(platform, code)
    assert asked == ["36B-123.45"]  # asked once, the answer reused when the step ran again
    assert workflow_data(platform, code)["tracking"]["compliant"] is True
    assert open_task(platform, code, "Task_Appraise")
