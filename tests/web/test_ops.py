"""What operators watch: health, readiness, metrics and JSON logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from engine import clock, health, migrate
from engine.config import Settings
from engine.models import Job
from engine.platform import Platform
from tests.engine.factories import submit
from web import create_app


def stamp_current(platform) -> None:
    """The test schema is built from the models: mark it as at the newest migration."""
    from alembic import command

    with platform.db.engine.begin() as connection:
        config = migrate.alembic_config(platform.db)
        config.attributes["connection"] = connection
        command.stamp(config, "head")


def test_ready_needs_the_database_the_migrations_and_a_live_worker(platform):
    platform.settings.worker_stale_seconds = 60
    client = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"]["ok"] and not checks["migrations"]["ok"]
    assert not checks["worker"]["ok"] and "no worker" in checks["worker"]["detail"]
    stamp_current(platform)
    health.beat(platform, "worker-1", force=True)
    assert client.get("/readyz").status_code == 200
    clock.travel_to(clock.now() + timedelta(seconds=61))  # the worker went quiet
    response = client.get("/readyz")
    assert response.status_code == 503 and not response.json["checks"]["worker"]["ok"]


def test_readiness_goes_false_when_the_database_stops(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="x",
                        database_url="postgresql+psycopg://postgres@127.0.0.1:9/none")
    p = Platform(settings)
    try:
        client = create_app({"MOTCUA_PLATFORM": p, "TESTING": True}).test_client()
        assert client.get("/healthz").status_code == 200  # the process itself is fine
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["database"]["ok"] is False
    finally:
        p.close()


def test_readiness_goes_false_when_a_running_database_stops_and_back_when_it_returns(
        platform):
    if not platform.db.is_postgres:
        pytest.skip("SQLite is a file opened in this process: it does not stop")
    stamp_current(platform)
    platform.settings.worker_stale_seconds = 0
    client = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    assert client.get("/readyz").status_code == 200
    name = platform.db.engine.url.database
    server = create_engine(platform.db.engine.url.set(database="postgres"),
                           isolation_level="AUTOCOMMIT")
    try:  # the database stops taking connections and drops those it has
        with server.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"),
                               {"name": name})
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["database"]["ok"] is False
        assert client.get("/healthz").status_code == 200
    finally:
        with server.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        server.dispose()
    assert client.get("/readyz").status_code == 200  # the same process, ready again


def test_metrics_count_steps_queues_failures_and_latency(platform):
    client = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client()
    before = health.STEPS._value.get()
    submit(platform)  # starts a process: one step
    with platform.db.transaction() as session:
        session.add(Job(key="slip:test", kind="slip", payload={}, status="failed", attempts=5,
                        next_attempt_at=clock.now(), last_error="the font is missing"))
    client.get("/")
    text = client.get("/metrics").get_data(as_text=True)
    assert health.STEPS._value.get() > before
    assert "motcua_steps_total" in text
    assert 'motcua_queue_depth{queue="timer"}' in text
    failed_jobs = next(line for line in text.splitlines()
                       if line.startswith('motcua_failures{queue="job"}'))
    assert float(failed_jobs.split()[-1]) >= 1
    assert 'motcua_request_seconds_count{endpoint="portal.catalogue",method="GET",status="2xx"}' \
        in text


def test_logs_are_json_lines_when_asked(platform, capsys):
    platform.settings.log_format = "json"
    root = logging.getLogger()
    saved = [(h, h.formatter) for h in root.handlers]
    spiff_level = logging.getLogger("spiff").level  # JSON logs set it (restored below)
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})

        @app.get("/boom")
        def boom():
            raise RuntimeError("kaboom")

        response = app.test_client().get("/boom", headers={"Accept": "application/json"})
        assert response.status_code == 500
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
                 if line.startswith("{")]
        entry = next(e for e in lines if response.json["incident"] in e["message"])
        assert entry["level"] == "ERROR" and "kaboom" in entry["traceback"]
    finally:
        root.removeHandler(handler)
        logging.getLogger("spiff").setLevel(spiff_level)
        for h, formatter in saved:
            h.setFormatter(formatter)


def test_json_logs_leave_out_the_engine_library_task_records(platform, capsys):
    platform.settings.log_format = "json"
    root, spiff = logging.getLogger(), logging.getLogger("spiff")
    saved = [(h, h.formatter) for h in root.handlers]
    saved_levels = root.level, spiff.level
    handler = logging.StreamHandler()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})
        # SpiffWorkflow's task logger says INFO for every state change: not written
        assert not logging.getLogger("spiff.task").isEnabledFor(logging.INFO)
        assert logging.getLogger("spiff.task").isEnabledFor(logging.WARNING)
        logging.getLogger("motcua.test").info("still written")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
                 if line.startswith("{")]
        assert any(entry["message"] == "still written" for entry in lines)

        spiff.setLevel(logging.DEBUG)  # an operator's own level is kept
        create_app({"MOTCUA_PLATFORM": platform, "TESTING": True})
        assert logging.getLogger("spiff.task").isEnabledFor(logging.DEBUG)
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_levels[0])
        spiff.setLevel(saved_levels[1])
        for h, formatter in saved:
            h.setFormatter(formatter)
