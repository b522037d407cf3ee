"""A local stand-in of a vehicle-tracking (GPS) provider — not a real provider.

It serves the JSON protocol of :mod:`engine.tracking` at ``/sandbox/gps`` so that the demo,
a developer's ``curl`` and the tests can exercise the portal's HTTP client without a
provider's account. Its data comes from :func:`engine.tracking.stand_in_status` (derived
from the plate: some vehicles transmit, some do not, some are unknown); every answer says
it is a stand-in (``"stand_in": true`` and the ``X-Stand-In`` header) and the index page
says so in a banner. It is served only while tracking goes to it (``MOTCUA_TRACKING_URL``
unset, or pointing here).

- ``GET /sandbox/gps/``: what the stand-in is and which plates take which path.
- ``GET /sandbox/gps/vehicles/<plate>`` with ``Authorization: Bearer <token>``: the
  protocol's answer (200, 404 unknown vehicle, 401 wrong token, 503 simulated outage).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from engine import tracking

from . import platform
from .standins import answer, bearer_ok, unauthorized

bp = Blueprint("sandbox_gps", __name__)


@bp.route("/")
def index():
    """The banner page: a stand-in, its protocol, and the demo plates."""
    return render_template("sandbox_gps.html", token=tracking.DEMO_TOKEN,
                           provider=tracking.STAND_IN_PROVIDER)


@bp.route("/vehicles/<path:plate>")
def vehicle(plate: str):
    """The tracker status of ``plate``, as a provider answers it."""
    if not bearer_ok(platform().settings.tracking_token or tracking.DEMO_TOKEN):
        return unauthorized()
    try:
        return answer(tracking.stand_in_status(plate))
    except ValueError as exc:
        return answer({"error": "invalid_plate", "message": str(exc)}, 400)
    except tracking.UnknownVehicle:
        return answer({"error": "unknown_vehicle",
                        "message": f"Không có thiết bị giám sát hành trình nào đăng ký cho xe "
                                   f"{plate}."}, 404)
    except tracking.TrackingUnavailable as exc:
        return answer({"error": "unavailable", "message": str(exc)}, 503)


def init_app(app) -> None:
    """Serve the stand-in while tracking goes to it. Safe to call twice."""
    if (tracking.sandbox_enabled(app.extensions["motcua"].settings)
            and "sandbox_gps" not in app.blueprints):
        app.register_blueprint(bp, url_prefix=tracking.SANDBOX_PATH)
