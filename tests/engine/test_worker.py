"""The worker: timers fire when their time comes (time is moved, not waited for), and a
worker killed in the middle of its work loses nothing and applies nothing twice."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import create_engine, func, select, update

from engine import accounts, audit, clock, tasks, worker
from engine.models import AuditEvent, Dossier, Outbox, Timer
from tests.engine.factories import reception_task, submit
from tests.scenario import check_round_trip


def accepted_dossier(p) -> str:
    code = submit(p)
    tasks.complete(p, accounts.find_user(p, "motcua"), reception_task(p, code),
                   {"reception_decision": "accept"})
    return code


def count(p, model, *where) -> int:
    with p.db.transaction() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def test_timers_fire_only_when_due(platform):
    code = accepted_dossier(platform)
    assert worker.tick(platform)["timers"] == 0
    clock.travel(timedelta(days=30))
    assert count(platform, Timer, Timer.status == "fired") == 0
    worker.tick(platform)  # both are due: the warning and the late path fire in one step
    assert count(platform, Timer, Timer.status == "fired") == 2
    # the warning, then the notice that the dossier is late (to the handler and the head)
    assert count(platform, Outbox, Outbox.recipient == "chuyenvien@example.vn") == 2
    assert worker.tick(platform)["timers"] == 0
    check_round_trip(platform, code)


def test_a_killed_worker_loses_nothing_and_applies_nothing_twice(platform, tmp_path):
    """Eight dossiers' warning timers come due; a real worker process is killed with
    SIGKILL again and again while it fires them. In the end each timer fired exactly once:
    one audit event, one e-mail to the handler, consistent task rows, an intact chain."""
    codes = [accepted_dossier(platform) for _ in range(8)]
    with platform.db.transaction() as session:
        session.execute(update(Timer).where(Timer.spec_name == "Timer_WarnDue")
                        .values(due_at=clock.now() - timedelta(minutes=1)))
    env = dict(os.environ, MOTCUA_DATABASE_URL=platform.settings.database_url,
               MOTCUA_DATA_DIR=str(platform.settings.data_dir),
               MOTCUA_SMTP_URL="", PYTHONPATH=os.getcwd())
    program = ("from engine.platform import Platform; from engine import worker; "
               "worker.run(Platform(), interval=0.05)")
    # Watch progress on a plain connection: it reads without queueing for the write lock.
    watcher = create_engine(platform.settings.database_url)

    def fired_now() -> int:
        with watcher.connect() as conn:
            return conn.execute(select(func.count()).select_from(Timer)
                                .where(Timer.status == "fired")).scalar()

    kills = fired = 0
    deadline = time.monotonic() + 120
    while fired < len(codes) and time.monotonic() < deadline:
        proc = subprocess.Popen([sys.executable, "-c", program], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        before = fired
        while fired == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
            fired = fired_now()
        time.sleep(0.005)  # land the kill inside the next step
        proc.send_signal(signal.SIGKILL)
        _, errors = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, errors.decode()[-2000:]
        kills += 1
        fired = fired_now()
    watcher.dispose()
    assert fired == len(codes), f"only {fired} fired after {kills} kills"
    assert kills >= 2
    assert count(platform, AuditEvent, AuditEvent.action == "timer") == len(codes)
    assert count(platform, Outbox, Outbox.recipient == "chuyenvien@example.vn") == len(codes)
    assert count(platform, Timer, Timer.spec_name == "Timer_WarnDue",
                 Timer.status == "waiting") == 0
    for code in codes:
        check_round_trip(platform, code)
    assert audit.verify_chain(platform)["ok"]


def test_a_failing_timer_is_parked_with_its_error_and_others_still_fire(platform, monkeypatch):
    first, second = accepted_dossier(platform), accepted_dossier(platform)
    with platform.db.transaction() as session:
        first_id = session.execute(select(Dossier.id).where(Dossier.code == first)).scalar()
    from engine import runtime

    real = runtime.fire_timer

    def broken(step, timer):
        if step.dossier.id == first_id:
            from engine.errors import ScriptError
            raise ScriptError("simulated failure")
        return real(step, timer)

    monkeypatch.setattr(runtime, "fire_timer", broken)
    clock.travel(timedelta(days=30))
    worker.tick(platform)
    assert count(platform, Timer, Timer.status == "fired") == 2  # the second dossier's
    # the first dossier's wait for their next try (engine.incidents: back-off, then error)
    assert count(platform, Timer, Timer.status == "waiting", Timer.attempts == 1,
                 Timer.next_attempt_at > clock.now()) == 2
    with platform.db.transaction() as session:
        errors = session.execute(select(Timer.last_error).where(Timer.attempts == 1)).scalars()
        assert all("simulated failure" in e for e in errors)
    check_round_trip(platform, first)
    check_round_trip(platform, second)
