"""Vehicle tracking (giám sát hành trình): is a vehicle's GPS tracker transmitting?

Before issuing a vehicle badge the transport authority checks the vehicle's tracker data
(Decree 10/2020/NĐ-CP Art. 22; DOMAIN.md §5d). Trackers report to providers' servers, so
the portal asks a **provider** through :class:`TrackingProvider`. The implementation here
speaks a small JSON protocol over HTTP; a provider with another API gets an adapter that
serves this protocol (or a class of its own with the same method).

The protocol (version 1)::

    GET {base}/vehicles/{plate}            plate as on the registration, e.g. 36B-123.45,
    Authorization: Bearer {token}          percent-encoded in the path
    Accept: application/json

    200 {"plate": "36B-123.45",            the plate asked about
         "device_id": "GPS-1A2B3C4D",      the tracker's identifier at the provider
         "transmitting": true,             the device sends positions now
         "last_signal_at": "2026-12-03T08:58:00+07:00",   ISO 8601 with an offset
         "days_reporting_last_30": 29,     days with data among the last 30 (0–30)
         "provider": "…"}                  the provider's name
    404 {"error": "unknown_vehicle", "message": "…"}   no tracker registered for the plate
    401 {"error": "unauthorized", …}        wrong or missing token
    other statuses, a timeout, or a body that is not the above: the provider is unavailable

The portal's stand-in (``web/sandbox_gps.py``, ``/sandbox/gps/``) serves this protocol with
``"stand_in": true`` in every answer and data derived from the plate (see
:func:`stand_in_status`); ``MOTCUA_TRACKING_URL`` unset, the stand-in's data is read
in-process instead of over HTTP, so a step never calls its own server.

The operator :func:`check_vehicle_tracking` runs in a service task; the HTTP call is made
**outside the dossier's step transaction** (:mod:`engine.outside`: the step rolls back, the
provider is asked with nothing locked, the step runs again with the answer), with a short
timeout all the same (``MOTCUA_TRACKING_TIMEOUT``, 3 s by default). Its
business errors let a diagram route around it with an error boundary event:
``tracking_unavailable`` (no answer: check by hand) and ``tracking_failed`` (the answer shows
the tracker is not compliant, or the provider does not know the vehicle).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote, urlsplit

from . import audit, clock, outside
from .errors import OperatorError
from .operators import StepContext, operator

SANDBOX_PATH = "/sandbox/gps"
DEMO_TOKEN = "sandbox-gps-demo-token"  # the stand-in's token; a real provider issues its own
STAND_IN_PROVIDER = "Máy chủ giám sát hành trình thử nghiệm (stand-in, không phải nhà cung cấp thật)"
MAX_BODY = 64 * 1024
# Vietnamese plates: province code, series (1–2 letters, maybe a digit), number: 36B-123.45,
# 36LD-012.34, 29A1-234.56, or the older four-digit 36B-1234.
PLATE = re.compile(r"^[0-9]{2}[A-Z]{1,2}[0-9]?-(?:[0-9]{3}\.[0-9]{2}|[0-9]{4})$")


class TrackingUnavailable(Exception):
    """The provider gave no usable answer (down, slow, refused our token, or malformed)."""


class UnknownVehicle(Exception):
    """The provider has no tracker registered for the plate (HTTP 404)."""


class TrackingProvider(Protocol):
    """Where the tracker data of a vehicle comes from."""

    name: str

    def vehicle_status(self, plate: str) -> dict:
        """The protocol's answer for ``plate`` (keys as in the module docstring); raises
        :class:`UnknownVehicle` or :class:`TrackingUnavailable`."""
        ...


def normalize_plate(text: str) -> str:
    """``36b 123.45`` → ``36B-123.45``-style canonical text; ValueError if it is no plate."""
    plate = " ".join(str(text or "").split()).upper()
    plate = plate.replace(" ", "" if "-" in plate else "-", 1).replace(" ", "")
    if not PLATE.match(plate):
        raise ValueError(f"{text!r} is not a Vietnamese number plate (e.g. 36B-123.45)")
    return plate


def _checked(answer: object, plate: str) -> dict:
    """The protocol's 200 body, its types checked; TrackingUnavailable if it is not one."""
    if not isinstance(answer, dict):
        raise TrackingUnavailable("the answer is not a JSON object")
    days = answer.get("days_reporting_last_30")
    if not isinstance(answer.get("transmitting"), bool):
        raise TrackingUnavailable("'transmitting' is not true or false")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 30:
        raise TrackingUnavailable("'days_reporting_last_30' is not a number from 0 to 30")
    last = answer.get("last_signal_at")
    try:
        if last is not None and datetime.fromisoformat(str(last)).tzinfo is None:
            raise ValueError("no offset")
    except ValueError:
        raise TrackingUnavailable("'last_signal_at' is not an ISO 8601 moment with an offset") from None
    return {"plate": plate, "device_id": str(answer.get("device_id") or ""),
            "transmitting": answer["transmitting"], "last_signal_at": last,
            "days_reporting_last_30": days, "provider": str(answer.get("provider") or ""),
            "stand_in": answer.get("stand_in") is True}


class HttpTrackingProvider:
    """The JSON-over-HTTP protocol of the module docstring (urllib, one GET, a timeout)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 3.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.name = urlsplit(self.base_url).netloc or self.base_url

    def __repr__(self) -> str:  # never show the token
        return f"HttpTrackingProvider({self.base_url!r})"

    def vehicle_status(self, plate: str) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/vehicles/{quote(plate, safe='')}",
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                     "User-Agent": "motcua-tracking/1"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise UnknownVehicle(plate) from None
            raise TrackingUnavailable(f"HTTP {exc.code} from {self.name}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TrackingUnavailable(f"no answer from {self.name}: "
                                      f"{getattr(exc, 'reason', exc)}") from None
        if len(body) > MAX_BODY:
            raise TrackingUnavailable("the answer is too large")
        try:
            answer = json.loads(body)
        except ValueError:
            raise TrackingUnavailable("the answer is not JSON") from None
        return _checked(answer, plate)


# -- the stand-in -------------------------------------------------------------------------

def stand_in_status(plate: str) -> dict:
    """The stand-in's answer for ``plate``, derived from its last digit so that tests and
    the demo can take every path (and say so: ``stand_in`` is true):

    - ``…0``: unknown to the provider (:class:`UnknownVehicle`, HTTP 404);
    - ``…7``: the provider is unavailable (:class:`TrackingUnavailable`, HTTP 503);
    - ``…8``: transmitting, but data on only 20 of the last 30 days;
    - ``…9``: not transmitting, silent for 6 days;
    - anything else: transmitting, data on 29 or 30 of the last 30 days.
    """
    plate = normalize_plate(plate)
    last = plate[-1]
    if last == "0":
        raise UnknownVehicle(plate)
    if last == "7":
        raise TrackingUnavailable("the stand-in simulates an unavailable provider (plates ending in 7)")
    now = clock.now().astimezone(clock.VIETNAM).replace(microsecond=0)
    silent = {"8": timedelta(minutes=5), "9": timedelta(days=6)}.get(last, timedelta(minutes=2))
    days = {"8": 20, "9": 18}.get(last, 30 - int(last) % 2)
    device = hashlib.sha256(plate.encode()).hexdigest()[:8].upper()
    return {"plate": plate, "device_id": f"GPS-{device}", "transmitting": last != "9",
            "last_signal_at": (now - silent).isoformat(), "days_reporting_last_30": days,
            "provider": STAND_IN_PROVIDER, "stand_in": True}


class StandInProvider:
    """The stand-in's data read in-process (``MOTCUA_TRACKING_URL`` unset)."""

    name = "stand-in"

    def vehicle_status(self, plate: str) -> dict:
        return _checked(stand_in_status(plate), plate)


def is_sandbox_url(url: str) -> bool:
    """Whether ``url`` is the portal's own stand-in (whatever its host)."""
    return urlsplit(url).path.rstrip("/") == SANDBOX_PATH


def sandbox_enabled(settings) -> bool:
    """Whether web/ serves the stand-in: tracking goes to it (unset, or its URL)."""
    return not settings.tracking_url or is_sandbox_url(settings.tracking_url)


def provider_for(settings) -> TrackingProvider:
    """The configured provider: unset URL → the stand-in in-process; the stand-in's URL →
    over HTTP with its demo token unless one is set; any other URL needs a token."""
    url = settings.tracking_url
    if not url:
        return StandInProvider()
    token = settings.tracking_token or (DEMO_TOKEN if is_sandbox_url(url) else "")
    if not token:
        raise RuntimeError("MOTCUA_TRACKING_URL points at a real provider: set "
                           "MOTCUA_TRACKING_TOKEN too.")
    return HttpTrackingProvider(url, token, timeout=settings.tracking_timeout_seconds)


# -- the operator -------------------------------------------------------------------------

def _unavailable(plate: str, why: str) -> OperatorError:
    vi = (f"Không lấy được dữ liệu giám sát hành trình của xe {plate}; cần kiểm tra thủ "
          f"công ({why}).")
    return OperatorError("tracking_unavailable", f"{vi} (tracking data unavailable)", vi=vi,
                         details={"plate": plate, "reason": why})


def _failed(plate: str, vi: str, en: str, status: dict | None = None) -> OperatorError:
    return OperatorError("tracking_failed", f"{vi} ({en})", vi=vi,
                         details={"plate": plate, "status": status})


@operator
def check_vehicle_tracking(step: StepContext, task, plate: str, min_days: int = 25) -> dict:
    """Ask the tracking provider about ``plate``: compliant when its tracker transmits and
    reported on at least ``min_days`` of the last 30 days. Returns the provider's answer
    with ``compliant``, ``min_days`` and ``checked_at`` (give the task a ``resultVariable``
    for gateways). Errors ``tracking_unavailable`` (no usable answer within the timeout;
    the call is made with the dossier unlocked, :mod:`engine.outside`) and ``tracking_failed`` (not compliant,
    or unknown to the provider)."""
    try:
        plate = normalize_plate(plate)
    except ValueError:
        raise OperatorError("invalid_plate", f"Biển số không hợp lệ: {plate!r} "
                            f"(invalid number plate)", vi=f"Biển số không hợp lệ: {plate!r}.") from None
    min_days = int(min_days)
    try:
        provider = provider_for(step.platform.settings)
        status = outside.answer(f"tracking:{plate}", lambda: provider.vehicle_status(plate))
    except UnknownVehicle:
        raise _failed(plate, f"Xe {plate} chưa có thiết bị giám sát hành trình đăng ký trên "
                             "hệ thống của nhà cung cấp.",
                      f"no tracker is registered for {plate}") from None
    except TrackingUnavailable as exc:
        raise _unavailable(plate, str(exc)) from None
    result = {**status, "min_days": min_days, "checked_at": clock.now().isoformat()}
    compliant = status["transmitting"] and status["days_reporting_last_30"] >= min_days
    result["compliant"] = compliant
    audit.append(step.session, actor=step.actor, action="tracking_check",
                 dossier_id=step.dossier.id,
                 detail={k: result[k] for k in ("plate", "device_id", "transmitting",
                                                "days_reporting_last_30", "min_days",
                                                "compliant", "stand_in")})
    if not status["transmitting"]:
        raise _failed(plate, f"Thiết bị giám sát hành trình của xe {plate} không truyền dữ liệu "
                             f"(tín hiệu cuối: {status['last_signal_at'] or 'không có'}).",
                      f"the tracker of {plate} is not transmitting", result)
    if not compliant:
        raise _failed(plate, f"Thiết bị giám sát hành trình của xe {plate} chỉ truyền dữ liệu "
                             f"{status['days_reporting_last_30']}/30 ngày gần nhất "
                             f"(yêu cầu tối thiểu {min_days} ngày).",
                      f"the tracker of {plate} reported on {status['days_reporting_last_30']} of "
                      f"30 days, fewer than {min_days}", result)
    return result


OPERATORS = (check_vehicle_tracking,)
