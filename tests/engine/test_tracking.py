"""The vehicle-tracking client: the stand-in's data by plate, the JSON-over-HTTP protocol
against a real local HTTP server (token sent, 404, errors, garbage, a provider too slow for
the timeout), and which provider the settings choose."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine import clock, tracking
from engine.config import Settings
from engine.tracking import HttpTrackingProvider, TrackingUnavailable, UnknownVehicle


class Provider(BaseHTTPRequestHandler):
    """A scripted provider: ``self.server.answers[path] = (status, body, delay)``."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        status, body, delay = self.server.answers.get(self.path, (404, {"error": "unknown_vehicle"}, 0))
        time.sleep(delay)
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    server.daemon_threads = True
    server.answers, server.seen = {}, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def client(server, timeout: float = 2.0) -> HttpTrackingProvider:
    return HttpTrackingProvider(f"http://127.0.0.1:{server.server_port}/api/", "s3cret",
                                timeout=timeout)


GOOD = {"plate": "36B-123.45", "device_id": "GPS-1", "transmitting": True,
        "last_signal_at": "2026-12-03T08:58:00+07:00", "days_reporting_last_30": 29,
        "provider": "Công ty Giám sát ABC"}


def test_a_provider_answer_is_read_and_the_token_sent(provider_server):
    provider_server.answers["/api/vehicles/36B-123.45"] = (200, GOOD, 0)
    status = client(provider_server).vehicle_status("36B-123.45")
    assert status == {**GOOD, "stand_in": False}
    assert provider_server.seen == [("/api/vehicles/36B-123.45", "Bearer s3cret")]


def test_an_unknown_vehicle_is_not_an_outage(provider_server):
    with pytest.raises(UnknownVehicle):
        client(provider_server).vehicle_status("36B-123.40")


@pytest.mark.parametrize("answer, why", [
    ((503, {"error": "busy"}, 0), "HTTP 503"),
    ((401, {"error": "unauthorized"}, 0), "HTTP 401"),
    ((200, b"<html>not json</html>", 0), "not JSON"),
    ((200, {**GOOD, "transmitting": "yes"}, 0), "'transmitting'"),
    ((200, {**GOOD, "days_reporting_last_30": 31}, 0), "days_reporting_last_30"),
    ((200, {**GOOD, "last_signal_at": "2026-12-03 08:58"}, 0), "last_signal_at"),
    ((200, [GOOD], 0), "not a JSON object"),
])
def test_a_bad_answer_makes_the_provider_unavailable(provider_server, answer, why):
    provider_server.answers["/api/vehicles/36B-123.45"] = answer
    with pytest.raises(TrackingUnavailable, match=why):
        client(provider_server).vehicle_status("36B-123.45")


def test_a_slow_provider_times_out_quickly(provider_server):
    provider_server.answers["/api/vehicles/36B-123.45"] = (200, GOOD, 1.5)
    started = time.monotonic()
    with pytest.raises(TrackingUnavailable, match="no answer"):
        client(provider_server, timeout=0.3).vehicle_status("36B-123.45")
    assert time.monotonic() - started < 1.2


def test_a_closed_port_is_unavailable():
    with pytest.raises(TrackingUnavailable):
        HttpTrackingProvider("http://127.0.0.1:9/x", "t", timeout=0.5).vehicle_status("36B-123.45")


def test_the_stand_in_derives_every_path_from_the_plate():
    clock.travel_to(datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    good = tracking.stand_in_status("36b 123.45")
    assert good["plate"] == "36B-123.45" and good["stand_in"] is True
    assert good["transmitting"] is True and good["days_reporting_last_30"] == 29
    assert good["last_signal_at"] == "2026-12-03T08:58:00+07:00"
    assert tracking.stand_in_status("36B-123.45") == good  # deterministic
    silent = tracking.stand_in_status("36B-123.49")
    assert silent["transmitting"] is False and silent["last_signal_at"].startswith("2026-11-27")
    assert tracking.stand_in_status("36B-123.48")["days_reporting_last_30"] == 20
    with pytest.raises(UnknownVehicle):
        tracking.stand_in_status("36B-123.40")
    with pytest.raises(TrackingUnavailable):
        tracking.stand_in_status("36B-123.47")
    with pytest.raises(ValueError):
        tracking.stand_in_status("not a plate")


@pytest.mark.parametrize("text, plate", [("36B-123.45", "36B-123.45"), ("36ld-012.34", "36LD-012.34"),
                                         ("29A1-234.56", "29A1-234.56"), ("36B-1234", "36B-1234")])
def test_plates_are_normalised(text, plate):
    assert tracking.normalize_plate(text) == plate


def test_the_settings_choose_the_provider(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert isinstance(tracking.provider_for(settings), tracking.StandInProvider)
    assert tracking.sandbox_enabled(settings)
    settings.tracking_url = "http://portal.example/sandbox/gps"
    sandbox = tracking.provider_for(settings)
    assert isinstance(sandbox, HttpTrackingProvider) and sandbox.token == tracking.DEMO_TOKEN
    assert "s3cret" not in repr(sandbox)
    settings.tracking_url = "https://gps.example.vn/api"
    assert not tracking.sandbox_enabled(settings)
    with pytest.raises(RuntimeError, match="MOTCUA_TRACKING_TOKEN"):
        tracking.provider_for(settings)
    settings.tracking_token, settings.tracking_timeout_seconds = "s3cret", 1.5
    real = tracking.provider_for(settings)
    assert (real.token, real.timeout) == ("s3cret", 1.5) and "s3cret" not in repr(real)


def test_settings_read_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MOTCUA_TRACKING_URL", "https://gps.example.vn/api/")
    monkeypatch.setenv("MOTCUA_TRACKING_TOKEN", "tok")
    monkeypatch.setenv("MOTCUA_TRACKING_TIMEOUT", "2.5")
    settings = Settings.from_env()
    assert (settings.tracking_url, settings.tracking_token, settings.tracking_timeout_seconds) == (
        "https://gps.example.vn/api", "tok", 2.5)
