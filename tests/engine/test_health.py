"""Readiness's worker check (:mod:`engine.health`). The test database is built from the
models rather than by the migrations, so its migration check is not looked at here."""

from __future__ import annotations

from datetime import timedelta

from engine import clock, health


def worker_check(platform) -> dict:
    return health.readiness(platform)["checks"]["worker"]


def test_the_worker_check_wants_a_fresh_heartbeat(platform, monkeypatch):
    monkeypatch.setattr(platform.settings, "worker_stale_seconds", 60.0)
    assert worker_check(platform) == {"ok": False, "detail": "no worker has reported"}
    assert health.readiness(platform)["checks"]["database"]["ok"]
    health.beat(platform, "worker-a", force=True)
    assert worker_check(platform)["ok"]
    clock.travel(timedelta(seconds=61))
    stale = health.readiness(platform)
    assert not stale["ready"] and not stale["checks"]["worker"]["ok"]
    health.beat(platform, "worker-a", force=True)  # the same worker again: fresh
    assert worker_check(platform)["ok"]


def test_without_an_expected_worker_there_is_no_worker_check(platform):
    assert "worker" not in health.readiness(platform)["checks"]


def test_a_heartbeat_is_written_at_most_every_beat_every_seconds(platform, monkeypatch):
    monkeypatch.setattr(platform.settings, "worker_stale_seconds", 60.0)
    monkeypatch.setattr(health, "BEAT_EVERY", 3600.0)
    health.beat(platform, "worker-b", force=True)
    clock.travel(timedelta(seconds=61))
    health.beat(platform, "worker-b")  # within BEAT_EVERY of the last one: not written
    assert not worker_check(platform)["ok"]
