"""The engine's clock (:mod:`engine.clock`): moved by tests, simulated per thread by replays."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from engine import clock

NEW_YEAR = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)  # 07:30 in Vietnam


@pytest.fixture(autouse=True)
def _real_time():
    yield
    clock.reset()


def test_travel_moves_now_and_reset_brings_it_back():
    clock.travel_to(NEW_YEAR)
    assert abs(clock.now() - NEW_YEAR) < timedelta(minutes=1)
    clock.travel(timedelta(days=2))
    assert abs(clock.now() - (NEW_YEAR + timedelta(days=2))) < timedelta(minutes=1)
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_local_now_is_vietnam_time():
    clock.travel_to(NEW_YEAR)
    local = clock.local_now()
    assert local.utcoffset() == timedelta(hours=7)
    assert (local.date().isoformat(), local.hour) == ("2026-01-01", 7)


def test_a_simulated_time_is_seen_only_by_its_own_thread():
    seen_elsewhere = []
    with clock.simulated(NEW_YEAR) as simulation:
        assert clock.now() == NEW_YEAR
        simulation.moment += timedelta(hours=3)
        assert clock.now() == NEW_YEAR + timedelta(hours=3)
        other = threading.Thread(target=lambda: seen_elsewhere.append(clock.now()))
        other.start()
        other.join()
    assert abs(seen_elsewhere[0] - datetime.now(UTC)) < timedelta(minutes=1)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)  # over after the block
