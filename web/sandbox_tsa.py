"""The time-stamping authority stand-in over the portal's own HTTP (``/sandbox/tsa``).

The same RFC 3161 stand-in as :mod:`signing.tsa_standin` (which the signer starts on
127.0.0.1 when ``MOTCUA_TSA_URL=standin``), mounted in the app so that a deployment of the
demo can also point ``MOTCUA_TSA_URL`` at ``https://<portal>/sandbox/tsa``, and so that
anyone can see it answer: POST a DER ``TimeStampReq`` as ``application/timestamp-query``,
get a DER ``TimeStampResp`` (``application/timestamp-reply``, ``X-Stand-In: true``) signed
with the stand-in's certificate "Một Cửa TSA (stand-in)" of the demo CA. Served only
while timestamps go to a stand-in (``standin`` or this path).
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Response, request

from . import platform

bp = Blueprint("sandbox_tsa", __name__)
PATH = "/sandbox/tsa"
log = logging.getLogger("motcua.sandbox_tsa")
_tsa = {}
_lock = threading.Lock()


def _standin():
    from signing.tsa_standin import StandinTsa

    pki_dir = platform().pki_dir
    with _lock:
        if pki_dir not in _tsa:
            _tsa[pki_dir] = StandinTsa(pki_dir)
            log.warning("RFC 3161 time-stamping authority STAND-IN served at %s", PATH)
        return _tsa[pki_dir]


@bp.post("")
def timestamp():
    """Answer a TimeStampReq (RFC 3161 over HTTP)."""
    from signing.timestamps import QUERY_TYPE, REPLY_TYPE

    headers = {"X-Stand-In": "true", "Cache-Control": "no-store"}
    if (request.content_type or "").split(";")[0].strip() != QUERY_TYPE:
        return Response(f"TSA stand-in: send {QUERY_TYPE}\n", 415, headers=headers,
                        mimetype="text/plain")
    body = request.get_data(cache=False)[: 64 * 1024]
    return Response(_standin().respond(body), 200, headers=headers, mimetype=REPLY_TYPE)


def init_app(app) -> None:
    """Serve the stand-in while timestamps go to a stand-in (``standin`` or this path)."""
    url = getattr(app.extensions["motcua"].settings, "tsa_url", "")
    if (url == "standin" or url.rstrip("/").endswith(PATH)) and "sandbox_tsa" not in \
            app.blueprints:
        app.register_blueprint(bp, url_prefix=PATH)
