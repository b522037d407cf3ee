"""The engine's notion of "now".

Everything time-dependent (appointment dates, timers, audit stamps) reads
:func:`now`. Tests and the benchmark move time by setting an offset instead of
waiting; production never touches it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

_offset = timedelta(0)


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC) + _offset


def local_now() -> datetime:
    """The current time in Vietnam (UTC+7), for dates a person reads."""
    return now().astimezone(VIETNAM)


def travel(delta: timedelta) -> None:
    """Move the clock forward by ``delta`` (tests and benchmarks only)."""
    global _offset
    _offset += delta


def travel_to(moment: datetime) -> None:
    """Make :func:`now` return ``moment`` from here on (tests only)."""
    global _offset
    _offset = moment - datetime.now(UTC)


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def offset() -> timedelta:
    return _offset
