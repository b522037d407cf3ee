"""One JSON request to an outside service (:mod:`engine.httpjson`), against a real HTTP
server on this machine."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.httpjson import NoAnswer, post_json

ANSWERS = {  # path -> (status, body)
    "/ok": (201, b'{"id": "R-1", "ghi_chu": "\xc4\x91\xc3\xa3 nh\xe1\xba\xadn"}'),
    "/broken": (500, b"database down"),
    "/html": (200, b"<html>maintenance</html>"),
    "/list": (200, b"[1, 2]"),
}


class _Provider(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # the name http.server calls
        length = int(self.headers["Content-Length"])
        _Provider.received.append((self.path, dict(self.headers),
                                   json.loads(self.rfile.read(length))))
        status, body = ANSWERS[self.path]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def call(url: str) -> dict:
    return post_json(url, {"ho_so": "H56-0001", "trang_thai": "đã tiếp nhận"}, token="tok-1",
                     key="outbox-7", timeout=5)


def test_the_answer_is_the_json_object_and_the_request_carries_token_and_key(provider):
    assert call(f"{provider}/ok") == {"id": "R-1", "ghi_chu": "đã nhận"}
    path, headers, body = _Provider.received[-1]
    assert (headers["Authorization"], headers["Idempotency-Key"]) == ("Bearer tok-1", "outbox-7")
    assert body == {"ho_so": "H56-0001", "trang_thai": "đã tiếp nhận"}


@pytest.mark.parametrize(("path", "why"), [("/broken", "HTTP 500: database down"),
                                           ("/html", "not JSON"), ("/list", "unexpected answer")])
def test_an_error_status_or_an_answer_that_is_no_json_object_is_no_answer(provider, path, why):
    with pytest.raises(NoAnswer, match=why):
        call(f"{provider}{path}")


def test_a_refused_connection_is_no_answer():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NoAnswer, match="no answer"):
        call(f"http://127.0.0.1:{port}/records")
