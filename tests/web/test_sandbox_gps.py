"""The stand-in tracking provider served over real HTTP (waitress on a free port): it speaks
the protocol the engine's client reads, says on every answer that it is a stand-in, and a
dossier's tracker check goes through it when MOTCUA_TRACKING_URL points at it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime

import pytest
from sqlalchemy import select

from engine import accounts, clock, dossiers, tasks, tracking
from engine.models import AuditEvent
from tests.scenario import open_task, sample_files
from tests.serving import serve
from web import create_app

APPLICATION = {
    "company_name": "Công ty TNHH Vận tải Hồng Đức", "head_office_address": "Số 12 Lê Lợi, TP Thanh Hóa",
    "phone": "0912345678", "email": "doanhnghiep@example.vn", "business_licence_number": "GP-56-0001",
    "brand": "THACO", "capacity": "29 chỗ", "manufacture_year": 2022, "ownership": "owned",
    "badge_type": "contract", "requested_years": 5}


@pytest.fixture
def served(platform):
    """The portal on a free port; the platform's tracking goes to its stand-in over HTTP."""
    with serve(create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})) as base:
        platform.settings.tracking_url = f"{base}{tracking.SANDBOX_PATH}"
        yield base


def get(url: str, token: str | None = tracking.DEMO_TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def test_the_stand_in_speaks_the_protocol(served):
    clock.travel_to(datetime.fromisoformat("2026-12-03T09:00:00+07:00"))
    provider = tracking.HttpTrackingProvider(f"{served}/sandbox/gps", tracking.DEMO_TOKEN)
    answer = provider.vehicle_status("36B-123.45")
    assert answer["stand_in"] is True and answer["transmitting"] is True
    assert answer["last_signal_at"] == "2026-12-03T08:58:00+07:00"
    assert provider.vehicle_status("36B-123.49")["transmitting"] is False
    with pytest.raises(tracking.UnknownVehicle):
        provider.vehicle_status("36B-123.40")
    with pytest.raises(tracking.TrackingUnavailable, match="HTTP 503"):
        provider.vehicle_status("36B-123.47")
    status, headers, body = get(f"{served}/sandbox/gps/vehicles/36B-123.40")
    assert (status, body["error"], body["stand_in"], headers["X-Stand-In"]) == (
        404, "unknown_vehicle", True, "true")


def test_the_stand_in_wants_its_token(served):
    for token in (None, "wrong"):
        status, _headers, body = get(f"{served}/sandbox/gps/vehicles/36B-123.45", token)
        assert (status, body["error"], body["stand_in"]) == (401, "unauthorized", True)
    with pytest.raises(tracking.TrackingUnavailable, match="HTTP 401"):
        tracking.HttpTrackingProvider(f"{served}/sandbox/gps", "wrong").vehicle_status("36B-123.45")


def test_the_index_page_says_it_is_a_stand_in(served):
    with urllib.request.urlopen(f"{served}/sandbox/gps/", timeout=5) as response:
        page = response.read().decode()
    assert "Máy chủ giám sát hành trình thử nghiệm — không phải nhà cung cấp thật" in page
    assert "Không truyền dữ liệu" in page


@pytest.mark.parametrize("plate, next_task", [("36B-123.45", "Task_Appraise"),
                                              ("36B-123.49", "Task_ManualTracking")])
def test_a_dossier_checks_its_vehicle_through_the_provider(platform, served, plate, next_task):
    clock.travel_to(datetime.fromisoformat("2026-12-03T09:00:00+07:00"))
    applicant = accounts.find_user(platform, "doanhnghiep")
    code = dossiers.submit(platform, applicant, "vehicle-badge", {**APPLICATION, "plate": plate},
                           sample_files(platform, "vehicle-badge"))["code"]
    row = open_task(platform, code, "Task_Receive")
    tasks.complete(platform, accounts.find_user(platform, "motcua"), row.id,
                   {"reception_decision": "accept"})
    open_task(platform, code, next_task)
    with platform.db.transaction() as session:
        [event] = session.execute(select(AuditEvent).where(
            AuditEvent.action == "tracking_check")).scalars().all()
    assert event.detail["stand_in"] is True and event.detail["plate"] == plate


def test_no_stand_in_is_served_for_a_real_provider(platform):
    platform.settings.tracking_url = "https://gps.example.vn/api"
    client = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    assert client.get("/sandbox/gps/").status_code == 404
