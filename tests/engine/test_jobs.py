"""Jobs (engine.jobs): work a step asks for runs after its commit — once per key, retried
with back-off, failed visibly, and produced exactly once even when a worker is killed
between the commit and the rendering or two runners race on one job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select

from engine import accounts, audit, clock, dossiers, jobs, tasks
from engine.models import AuditEvent, Document, Job, Outbox
from engine.slips import produce_slip
from tests.engine.factories import reception_task, submit

REPO = Path(__file__).resolve().parent.parent.parent


def accept(p) -> str:
    code = submit(p)
    tasks.complete(p, accounts.find_user(p, "motcua"), reception_task(p, code),
                   {"reception_decision": "accept"})
    return code


def count(p, model, *where) -> int:
    with p.db.read() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def the_job(p) -> Job:
    with p.db.read() as session:
        [job] = session.execute(select(Job)).scalars().all()
        return job


def produced_once(p, code: str) -> None:
    """One slip 01, one ``slip_issued`` event, one e-mail carrying it, the job done."""
    job = the_job(p)
    assert (job.kind, job.status, job.key.startswith(f"{code}:slip-01:")) == ("slip", "done", True)
    assert count(p, Document, Document.name == "slip-01") == 1
    assert count(p, AuditEvent, AuditEvent.action == "slip_issued") == 1
    with p.db.read() as session:
        [mail] = session.execute(select(Outbox).where(
            Outbox.idempotency_key.like(f"{code}:slip-01:%"))).scalars().all()
        doc_id = session.execute(select(Document.id).where(Document.name == "slip-01")).scalar()
        assert mail.attachments == [doc_id]
    assert audit.verify_chain(p)["ok"]


def test_accepting_writes_a_slip_job_that_runs_right_after_commit(platform):
    code = accept(platform)
    produced_once(platform, code)
    assert the_job(platform).attempts == 0
    assert jobs.run_due(platform) == 0  # nothing left for the worker


def test_a_job_asked_for_twice_is_one_job(platform, monkeypatch):
    ran = []
    monkeypatch.setitem(jobs.HANDLERS, "echo", lambda p, work: lambda session: ran.append(
        work.payload["n"]))
    for _ in range(2):
        with platform.db.transaction() as session:
            for n in (1, 2):
                jobs.enqueue(platform, session, kind="echo", key="echo:1", dossier_id=None,
                             payload={"n": n})
    assert count(platform, Job) == 1
    assert ran == [1]  # the first request's payload, run once
    assert the_job(platform).status == "done"


def test_a_failing_job_is_retried_with_back_off_then_failed_visibly(platform, monkeypatch):
    def broken(p, work):
        raise RuntimeError("the seal's token is not plugged in")

    monkeypatch.setitem(jobs.HANDLERS, "slip", broken)
    code = accept(platform)  # the in-process run after commit is the first attempt
    waits = []
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        job = the_job(platform)
        assert (job.status, job.attempts) == (
            ("pending", attempt) if attempt < jobs.MAX_ATTEMPTS else ("failed", attempt))
        assert "RuntimeError: the seal's token is not plugged in" in job.last_error
        if job.status == "failed":
            break
        waits.append((job.next_attempt_at - clock.now()).total_seconds())
        assert jobs.run_due(platform) == 0 and the_job(platform).attempts == attempt  # not due
        clock.travel(jobs.backoff(attempt) + timedelta(seconds=1))
        assert jobs.run_due(platform) == 0
    assert [round(w) for w in waits] == [15, 30, 60, 120, 240]
    assert count(platform, Document, Document.name == "slip-01") == 0
    clock.travel(timedelta(days=1))
    assert jobs.run_due(platform) == 0 and the_job(platform).attempts == jobs.MAX_ATTEMPTS

    staff = dossiers.get_dossier(platform, code, user=accounts.find_user(platform, "motcua"))
    [preparing] = staff["preparing"]
    assert (preparing["document"], preparing["status"]) == ("slip-01", "failed")
    assert "token is not plugged in" in preparing["error"]
    applicant = dossiers.get_dossier(platform, code,
                                     user=accounts.find_user(platform, "doanhnghiep"))
    assert [(j["document"], j["status"], j["error"]) for j in applicant["preparing"]] == [
        ("slip-01", "pending", "")]  # "being prepared"; why it failed is the agency's business


def test_the_dossier_shows_a_slip_being_prepared_until_it_exists(platform):
    platform.settings.run_jobs_after_commit = False
    code = accept(platform)
    view = dossiers.get_dossier(platform, code, user=accounts.find_user(platform, "doanhnghiep"))
    assert [(j["document"], j["status"]) for j in view["preparing"]] == [("slip-01", "pending")]
    assert "slip-01" not in [d["name"] for d in view["documents"]]
    assert jobs.run_due(platform) == 1
    view = dossiers.get_dossier(platform, code, user=accounts.find_user(platform, "doanhnghiep"))
    assert view["preparing"] == [] and "slip-01" in [d["name"] for d in view["documents"]]
    produced_once(platform, code)


def test_two_runners_racing_on_one_job_produce_one_document(platform, monkeypatch):
    """Both render (each waits for the other before finishing); one stores, the other
    finds the job done and drops its result."""
    platform.settings.run_jobs_after_commit = False
    code = accept(platform)
    both_rendered = threading.Barrier(2, timeout=60)

    def racing(p, work):
        finish = produce_slip(p, work)
        both_rendered.wait()
        return finish

    monkeypatch.setitem(jobs.HANDLERS, "slip", racing)
    job_id = the_job(platform).id
    results = []
    runners = [threading.Thread(target=lambda: results.append(jobs.run(platform, job_id)))
               for _ in range(2)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(timeout=120)
    assert sorted(results) == [False, True]
    produced_once(platform, code)


# -- real worker processes ---------------------------------------------------------------

def _worker(p, **env) -> subprocess.Popen:
    environ = {**os.environ, "MOTCUA_DATABASE_URL": p.settings.database_url,
               "MOTCUA_DATA_DIR": str(p.settings.data_dir), "MOTCUA_SECRET_KEY": "test-secret",
               "MOTCUA_SMTP_URL": "", **env}
    motcua = Path(sys.executable).with_name("motcua")
    return subprocess.Popen([str(motcua), "worker", "--interval", "0.2"], env=environ,
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(condition, *procs: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a worker exited: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)
    raise AssertionError("the worker did not get there in time")


def _stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    proc.wait(timeout=30)
    proc.stderr.close()


def test_a_slip_job_survives_a_worker_killed_before_rendering_and_is_made_once(platform):
    """The step commits in a process that does not run jobs (as if it died right after its
    commit); a worker claims the job and is killed with SIGKILL before it renders; a second
    worker, once the first one's lease has run out, produces the slip exactly once."""
    platform.settings.run_jobs_after_commit = False
    code = accept(platform)
    created = the_job(platform).created_at
    # Watch on a plain connection: it never queues for the write lock.
    watcher = create_engine(platform.settings.database_url)

    def job_row():
        with watcher.connect() as conn:
            return conn.execute(select(Job.status, Job.next_attempt_at)).one()

    first = _worker(platform, MOTCUA_JOB_LEASE_SECONDS="2",
                    MOTCUA_JOB_TEST_PAUSE_SECONDS="600")
    try:  # claimed: the lease moved its next attempt ahead; it now waits before rendering
        _wait_for(lambda: job_row().next_attempt_at > created + timedelta(seconds=1), first)
    finally:
        _stop(first, signal.SIGKILL)
    assert job_row().status == "pending"
    assert count(platform, Document, Document.name == "slip-01") == 0

    second = _worker(platform, MOTCUA_JOB_LEASE_SECONDS="2")
    try:
        _wait_for(lambda: job_row().status == "done", second)
    finally:
        _stop(second, signal.SIGTERM)
    watcher.dispose()
    produced_once(platform, code)
    assert the_job(platform).attempts == 0  # killed is not failed


def test_two_worker_processes_racing_on_one_job_produce_one_document(platform):
    """With no lease both workers take the job and hold it a moment before rendering, so
    both render it; one slip is stored and e-mailed."""
    platform.settings.run_jobs_after_commit = False
    code = accept(platform)
    env = {"MOTCUA_JOB_LEASE_SECONDS": "0", "MOTCUA_JOB_TEST_PAUSE_SECONDS": "2"}
    workers = [_worker(platform, **env), _worker(platform, **env)]
    try:
        _wait_for(lambda: the_job(platform).status == "done", *workers)
        time.sleep(3)  # let the slower one finish its run and find the job done
    finally:
        for proc in workers:
            _stop(proc, signal.SIGTERM)
    produced_once(platform, code)
