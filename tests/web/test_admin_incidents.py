"""The operations console /admin/su-co: an administrator sees a timer that failed finally,
with its dossier, element and error, and repairs it; suspends and resumes a dossier."""

# The tests take the portal fixtures imported from test_pages as parameters.
# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock, incidents, runtime, worker
from engine.errors import ScriptError
from engine.models import Timer
from tests.engine.test_worker import accepted_dossier
from tests.web.test_pages import app, auth, client, text  # noqa: F401  (fixtures)


@pytest.fixture
def failed_timer(platform, monkeypatch):
    """An accepted dossier whose warning timer failed on every try: ``(code, timer id)``."""
    code = accepted_dossier(platform)
    real = runtime.fire_timer

    def broken(step, timer):
        raise ScriptError("The registry does not answer.", details=[
            {"element": "Task_AskRegistry", "message": "timeout"}])

    monkeypatch.setattr(runtime, "fire_timer", broken)
    with platform.db.read() as session:
        timer_id = session.execute(select(Timer.id).where(
            Timer.spec_name == "Timer_WarnDue")).scalar_one()
    clock.travel(timedelta(days=30))
    for _ in range(incidents.MAX_ATTEMPTS):
        worker.tick(platform)
        clock.travel(timedelta(hours=2))
    monkeypatch.setattr(runtime, "fire_timer", real)
    return code, timer_id


def timer_status(p, timer_id: int) -> str:
    with p.db.read() as session:
        return session.get(Timer, timer_id).status


def test_an_administrator_sees_a_failed_timer_and_retries_it(platform, auth, failed_timer):
    code, timer_id = failed_timer
    assert timer_status(platform, timer_id) == "error"
    auth.login("quantri")
    page = text(auth.client.get("/admin/su-co"))
    row = page[page.index(f'id="timer-{timer_id}"'):]
    row = row[:row.index("</tr>")]
    assert code in row and "Task_AskRegistry" in row and "The registry does not answer." in row

    response = auth.post(f"/admin/su-co/timer/{timer_id}/skip", {"reason": " "},
                         page="/admin/su-co", follow_redirects=True)
    assert "Hãy ghi lý do bỏ qua." in text(response)
    assert timer_status(platform, timer_id) == "error"

    response = auth.post(f"/admin/su-co/timer/{timer_id}/retry", page="/admin/su-co",
                         follow_redirects=True)
    assert f'id="timer-{timer_id}"' not in text(response)
    worker.tick(platform)
    assert timer_status(platform, timer_id) == "fired"


def test_suspend_and_resume_from_the_console(platform, auth):
    code = accepted_dossier(platform)
    auth.login("quantri")
    response = auth.post("/admin/su-co/ho-so", {"code": code, "action": "suspend",
                                                "reason": "Kiểm tra"}, page="/admin/su-co",
                         follow_redirects=True)
    assert f"Đã tạm dừng xử lý hồ sơ {code}." in text(response)
    clock.travel(timedelta(days=30))
    assert worker.tick(platform)["timers"] == 0
    response = auth.post("/admin/su-co/ho-so", {"code": code, "action": "resume"},
                         page="/admin/su-co", follow_redirects=True)
    assert f"Đã tiếp tục xử lý hồ sơ {code}." in text(response)
    assert worker.tick(platform)["timers"] == 1


def test_the_console_is_for_administrators_only(auth):
    auth.login("motcua")
    assert auth.client.get("/admin/su-co").status_code == 403
    assert auth.post("/admin/su-co/ho-so", {"code": "x"}).status_code == 403


def test_cancel_from_the_console_drops_a_failed_timer_for_good(platform, auth, failed_timer):
    from engine.models import AuditEvent

    code, timer_id = failed_timer
    auth.login("quantri")
    assert f'/admin/su-co/timer/{timer_id}/cancel' in text(auth.client.get("/admin/su-co"))
    response = auth.post(f"/admin/su-co/timer/{timer_id}/cancel", page="/admin/su-co",
                         follow_redirects=True)
    assert "Đã hủy." in text(response) and f'id="timer-{timer_id}"' not in text(response)
    assert timer_status(platform, timer_id) == "cancelled"
    clock.travel(timedelta(days=30))
    assert worker.tick(platform)["timers"] == 0  # never tried again
    with platform.db.read() as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.action == "incident_cancelled")).scalar_one()
    assert event.actor == "quantri" and event.detail["id"] == timer_id
    # a second cancel (another tab) is refused, with a message and no error page
    response = auth.post(f"/admin/su-co/timer/{timer_id}/cancel", page="/admin/su-co",
                         follow_redirects=True)
    assert response.status_code == 200 and "Đã hủy." not in text(response)
