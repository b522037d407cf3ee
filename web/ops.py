"""For those who run the portal: ``GET /healthz`` (the process answers), ``GET /readyz``
(it can work: database, migrations, a live worker; 503 otherwise, for a load balancer to
take it out), ``GET /metrics`` (Prometheus text: steps, queue depths and failures,
request latency, objects frozen at start-up) and JSON logs (``MOTCUA_LOG_FORMAT=json``).

None of them needs a session or says anything about a dossier or a person.
"""

from __future__ import annotations

import gc
import json
import logging
import time

from flask import Blueprint, Flask, Response, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY

from engine import health

from . import platform

bp = Blueprint("ops", __name__)

#: Request durations by endpoint (the route's name, never the raw path: codes and ids would
#: make a series per dossier), method and status class.
REQUEST_SECONDS = Histogram("motcua_request_seconds", "Time to answer an HTTP request",
                            ["endpoint", "method", "status"],
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


@bp.get("/healthz")
def healthz():
    """The process is up and answering."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 when the database answers, its schema is current and a worker reported lately;
    503 with the failing checks otherwise."""
    report = health.readiness(platform())
    return jsonify(report), 200 if report["ready"] else 503


@bp.get("/metrics")
def metrics():
    """This process's counters and the database's queue depths, in Prometheus text."""
    registry = CollectorRegistry()
    registry.register(_Queues(platform()))
    registry.register(_Frozen())
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store"})


class _Queues:
    """Queue depths and failures, counted in the database when scraped."""

    def __init__(self, p):
        self.p = p

    def collect(self):
        depths = health.queue_depths(self.p)
        queued = GaugeMetricFamily("motcua_queue_depth", "Rows waiting in a background queue",
                                   labels=["queue"])
        failed = GaugeMetricFamily("motcua_failures", "Rows that failed and wait for a "
                                   "person (/admin/su-co)", labels=["queue"])
        for queue in ("timer", "message", "job", "outbox"):
            queued.add_metric([queue], sum(n for (q, s), n in depths.items()
                                           if q == queue and s not in health.FAILED_STATUSES))
            failed.add_metric([queue], sum(n for (q, s), n in depths.items()
                                           if q == queue and s in health.FAILED_STATUSES))
        yield queued
        yield failed


class _Frozen:
    """How many objects this process froze at start-up (0: none, e.g. under the Flask
    development server), which the collector's passes leave out."""

    def collect(self):
        yield GaugeMetricFamily("motcua_gc_frozen_objects", "Objects built at start-up that "
                                "the garbage collector no longer walks", value=gc.get_freeze_count())


def _start_timer() -> None:
    g.motcua_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("motcua_started")
    if started is not None and request.endpoint not in ("ops.metrics", "static"):
        REQUEST_SECONDS.labels(request.endpoint or "unknown", request.method,
                               f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)
    return response


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str) -> None:
    """With ``json``, every handler of the root logger (one to stderr if none) writes
    :class:`JsonFormatter` lines; Flask's own logger passes its records up to it.

    SpiffWorkflow logs every task's every state change at INFO (``spiff.*``): a dozen
    lines a step, which the audit chain already tells better, and a dictionary of extras
    built for each (``engine.spiff_task`` skips that work only for records no logger
    emits). Unless the ``spiff`` logger has a level of its own, it is set to WARNING."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.setLevel(logging.INFO)
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    spiff = logging.getLogger("spiff")
    if spiff.level == logging.NOTSET:
        spiff.setLevel(logging.WARNING)


def init_app(app: Flask, log_format: str = "text") -> None:
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)
    configure_logging(log_format)
    if log_format == "json":
        from flask.logging import default_handler

        app.logger.removeHandler(default_handler)  # its records reach the root's handlers
