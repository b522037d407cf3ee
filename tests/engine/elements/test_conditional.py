"""A conditional catch event is evaluated after each step of its dossier, with the sandbox's
rules; every step is checked by a save/restore (kit.check)."""

from datetime import UTC, datetime, timedelta

from engine import clock
from tests.engine.elements.kit import complete, data, deploy, finished, open_tasks, submit


def test_a_condition_fires_at_the_first_step_after_it_holds(platform):
    clock.travel_to(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    target = (clock.now() + timedelta(days=1)).isoformat()
    code = submit(platform, deploy(platform, "conditional"), {"target": target})
    complete(platform, code, "note", {"more": True})  # a step before the moment: still waits
    assert "reached" not in data(platform, code) and open_tasks(platform, code) == ["note"]
    clock.travel(timedelta(days=1, minutes=1))
    complete(platform, code, "note", {"more": False})  # the first step after it: fires
    assert finished(platform, code)
    assert data(platform, code)["reached"] >= target
