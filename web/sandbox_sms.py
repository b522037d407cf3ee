"""A local stand-in of an SMS provider — it sends no message.

It serves the JSON protocol of :mod:`engine.sms` at ``/sandbox/sms`` over the same store as
the in-process stand-in (:class:`engine.sms.StandInSms`: every message kept under the data
directory, a repeated key answered as the first time), so that the demo, a developer's
``curl`` and the tests exercise the portal's HTTP client. Every answer says it is a
stand-in (``"stand_in": true``, ``X-Stand-In``); the index page lists what it was sent.

- ``GET /sandbox/sms/``: the banner page and the messages it holds, newest first.
- ``POST /sandbox/sms/messages`` with ``Authorization: Bearer <token>`` and
  ``Idempotency-Key``: the protocol's answer (200, 422, 401).
- ``GET /sandbox/sms/messages``: what it was sent, as JSON, oldest first.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine import sms

from . import platform
from .standins import answer, bearer_ok, unauthorized

bp = Blueprint("sandbox_sms", __name__)


@bp.route("/")
def index():
    held = sms.stand_in(platform()).messages()
    return render_template("sandbox_sms.html", messages=list(reversed(held))[:200],
                           total=len(held), token=sms.DEMO_TOKEN, provider=sms.STAND_IN_NAME)


@bp.route("/messages", methods=("GET", "POST"))
def messages():
    """POST: take one message as a provider would; GET: what it was sent."""
    if not bearer_ok(platform().settings.sms_token or sms.DEMO_TOKEN):
        return unauthorized()
    store = sms.stand_in(platform())
    if request.method == "GET":
        return answer({"messages": [line["message"] for line in store.messages()]})
    status, body = store.receive(request.get_json(silent=True),
                                 request.headers.get("Idempotency-Key", ""))
    return answer(body, status)


def init_app(app) -> None:
    """Serve the stand-in while SMS go to it (no URL set, or this one)."""
    url = app.extensions["motcua"].settings.sms_url
    if (not url or sms.SANDBOX_PATH in url) and "sandbox_sms" not in app.blueprints:
        app.register_blueprint(bp, url_prefix=sms.SANDBOX_PATH)
