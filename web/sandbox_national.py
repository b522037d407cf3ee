"""A local stand-in of the national public-service portal's synchronisation API — not the
real portal.

It serves the JSON protocol of :mod:`engine.national` at ``/sandbox/national`` over the
same store as the in-process stand-in (:class:`engine.national.StandInPortal`: records kept
under the data directory, duplicate keys answered as the first time, out-of-order records
refused with 409), so that the demo, a developer's ``curl`` and the tests can exercise the
portal's HTTP client. Every answer says it is a stand-in (``"stand_in": true`` and the
``X-Stand-In`` header); the index page says so in a banner and lists what it holds.

- ``GET /sandbox/national/``: what the stand-in is, and the records it holds.
- ``POST /sandbox/national/records`` with ``Authorization: Bearer <token>`` and
  ``Idempotency-Key``: the protocol's answer (200, 409 out of order, 422, 401).
- ``GET /sandbox/national/records``: the records it holds, as JSON, oldest first.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine import national

from . import platform
from .standins import answer, bearer_ok, unauthorized

bp = Blueprint("sandbox_national", __name__)


@bp.route("/")
def index():
    """The banner page: a stand-in, its protocol, what it holds (newest first)."""
    held = national.stand_in(platform()).records()
    return render_template("sandbox_national.html", records=list(reversed(held))[:200],
                           total=len(held), token=national.DEMO_TOKEN,
                           portal=national.STAND_IN_NAME)


@bp.route("/records", methods=("GET", "POST"))
def records():
    """POST: receive one record as the national portal would; GET: what it holds."""
    if not bearer_ok(platform().settings.national_sync_token or national.DEMO_TOKEN):
        return unauthorized()
    store = national.stand_in(platform())
    if request.method == "GET":
        return answer({"records": [line["record"] for line in store.records()]})
    body = request.get_json(silent=True)
    try:
        return answer(store.receive(body, request.headers.get("Idempotency-Key", "")))
    except national.StandInRefusal as exc:
        return answer(exc.body, exc.status)


def init_app(app) -> None:
    """Serve the stand-in while synchronisation goes to it (no URL set, or this one)."""
    url = app.extensions["motcua"].settings.national_sync_url
    if (not url or national.SANDBOX_PATH in url) and "sandbox_national" not in app.blueprints:
        app.register_blueprint(bp, url_prefix=national.SANDBOX_PATH)
