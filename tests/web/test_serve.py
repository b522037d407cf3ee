"""``motcua serve``: several gunicorn processes on POSIX, one waitress process on request."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(platform, tmp_path, *args) -> tuple[subprocess.Popen, str, Path]:
    settings = platform.settings
    env = {**os.environ, "MOTCUA_DATABASE_URL": settings.database_url,
           "MOTCUA_DATA_DIR": str(settings.data_dir), "MOTCUA_BPMN_DIR": str(settings.bpmn_dir),
           "MOTCUA_SECRET_KEY": "test-secret"}
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:  # the server writes to its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port",
                                    str(port), *args], cwd=REPO, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}", log


def get_json(url: str, timeout: float = 60) -> dict | list:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def frozen_objects(base: str) -> float:
    """What the server's ``/metrics`` says it froze at start-up."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    (line,) = [line for line in text.splitlines()
               if line.startswith("motcua_gc_frozen_objects ")]
    return float(line.split()[1])


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group this test started
        process.wait(timeout=10)
        raise


@pytest.mark.skipif(os.name != "posix", reason="gunicorn runs on POSIX only")
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_runs_several_gunicorn_processes_and_stops_on_sigterm(platform, tmp_path):
    process, base, log = serve(platform, tmp_path, "--workers", "2", "--threads", "2")
    try:
        catalogue = get_json(base + "/api/v1/procedures")
        assert any(p["code"] == "transport-business-licence" for p in catalogue)
        workers = set()
        deadline = time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            workers = {line.split("pid: ")[1].split()[0] for line in text.splitlines()
                       if "Booting worker with pid: " in line}
            time.sleep(0.2)
        assert len(workers) == 2, log.read_text(errors="replace")
        # each server process left what it built at start-up out of the collector's passes
        assert frozen_objects(base) > 10_000
    finally:
        code = stop(process)
    output = log.read_text(errors="replace")
    assert code == 0, output
    assert "with gunicorn (2 process(es) × 2 thread(s))" in output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_serve_with_waitress_when_asked(platform, tmp_path):
    process, base, log = serve(platform, tmp_path, "--server", "waitress", "--threads", "2")
    try:
        catalogue = get_json(base + "/api/v1/procedures")
        assert any(p["code"] == "transport-business-licence" for p in catalogue)
        assert frozen_objects(base) > 10_000
    finally:
        stop(process)
    assert "with waitress (2 threads)" in log.read_text(errors="replace")
