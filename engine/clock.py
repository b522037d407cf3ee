"""The engine's notion of "now".

Everything time-dependent (appointment dates, timers, audit stamps) reads
:func:`now`. Tests and the benchmark move time by setting an offset instead of
waiting; production never touches it. A replay of past dossiers (:mod:`engine.whatif`)
runs on a simulated time of its own, :func:`simulated`, seen only by the thread that
replays (a context variable), never by the steps other threads run meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

_offset = timedelta(0)


@dataclass
class Simulation:
    """The simulated time of a replay; move it by setting ``moment``."""

    moment: datetime


_simulation: ContextVar[Simulation | None] = ContextVar("motcua_simulated_time", default=None)


def now() -> datetime:
    """The current time, timezone-aware UTC (the simulated one inside :func:`simulated`)."""
    simulation = _simulation.get()
    if simulation is not None:
        return simulation.moment
    return datetime.now(UTC) + _offset


@contextmanager
def simulated(moment: datetime) -> Iterator[Simulation]:
    """Run the block at simulated time ``moment`` (this thread only)."""
    simulation = Simulation(moment)
    token = _simulation.set(simulation)
    try:
        yield simulation
    finally:
        _simulation.reset(token)


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
