"""Serve a WSGI app over real HTTP for a test: waitress on a free port of 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from waitress import wasyncore
from waitress.server import create_server


@contextmanager
def serve(app) -> Iterator[str]:
    """Serve ``app`` while the block runs, yielding its base URL (``http://127.0.0.1:PORT``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server, thread)


def stop(server, thread: threading.Thread) -> None:
    """Stop waitress from its own loop thread: closing its sockets from this thread races
    the loop's select() (EBADF). Requests in progress finish first; then every socket the
    loop watches (listener, trigger, keep-alive connections) is closed and the loop ends."""
    server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
    try:
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    except OSError:  # the trigger is closed already (EBADF): the loop is closing its map
        pass
    thread.join(timeout=5)
    if thread.is_alive():  # the trigger closed and the loop still waits: close from here
        wasyncore.close_all(server._map)
        thread.join(timeout=5)
    assert not thread.is_alive(), "waitress did not stop"
