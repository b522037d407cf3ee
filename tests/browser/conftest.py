"""Real-browser fixtures: the portal served by waitress on a free port, and Debian's
Chromium driven by Playwright (which never downloads a browser of its own here)."""

import shutil
import socket
import threading

import pytest
from playwright.sync_api import sync_playwright
from waitress import wasyncore
from waitress.server import create_server

from web import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling out to a closed network.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def portal(platform):
    """The portal on a free port. Its public URL is the served one, so the links it builds
    for itself (e-mails, the payment gateway's return address) come back to it."""
    app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    platform.settings.public_url = base
    yield base
    stop(server, thread)


def stop(server, thread: threading.Thread) -> None:
    """Stop waitress from its own loop thread: closing its sockets from this thread races
    the loop's select() (EBADF). Requests in progress finish first; then every socket the
    loop watches (listener, trigger, keep-alive connections) is closed and the loop ends."""
    server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout=5)
    assert not thread.is_alive(), "waitress did not stop"


@pytest.fixture
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
