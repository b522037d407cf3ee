"""``motcua init``, ``serve`` and ``worker``: the database, the web app (gunicorn with one
process per core on POSIX, else waitress) and the background worker."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from .base import cli, env_settings, fail, open_platform, problem_line

#: Threads per gunicorn process: a request waits on the database part of its time.
GUNICORN_THREADS = 4


#: Threads of the single waitress process.
WAITRESS_THREADS = 8


@cli.command(short_help="Create/upgrade the database, load every procedure.")
def init() -> None:
    """Create or upgrade the database, load agencies, roles and every procedure in bpmn/."""
    from engine import setup

    with open_platform(seal=True) as p:
        failed = print_init_result(setup.init(p), p.settings.bpmn_dir)
    if failed:
        sys.exit(1)


@cli.command(short_help="Serve the web app and API (gunicorn, every core; else waitress).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=None, type=click.IntRange(1),
              help="Server processes (gunicorn). Default: the number of CPUs.")
@click.option("--threads", default=None, type=click.IntRange(1),
              help=f"Threads per server process. Default: {GUNICORN_THREADS} under gunicorn, "
                   f"{WAITRESS_THREADS} under waitress.")
@click.option("--server", "server_name", type=click.Choice(["auto", "gunicorn", "waitress"]),
              default="auto", show_default=True,
              help="auto: gunicorn where it runs (POSIX), else one waitress process.")
def serve(host: str, port: int, workers: int | None, threads: int | None,
          server_name: str) -> None:
    """Serve the web app and API (run `motcua worker` beside it).

    On Linux and other POSIX systems: gunicorn, one process per CPU (--workers), each
    with --threads threads and its own database connections, so the reads of every
    core run in parallel. Elsewhere, or with --server waitress: one waitress process.
    """
    chosen = server_name
    if chosen == "auto":
        chosen = "gunicorn" if _gunicorn_available() else "waitress"
    elif chosen == "gunicorn" and not _gunicorn_available():
        fail("gunicorn runs on POSIX systems only (and must be installed); "
              "use --server waitress.", code=2)
    if chosen == "waitress":
        if workers not in (None, 1):
            click.echo("waitress serves from one process: --workers is ignored.", err=True)
        with open_platform(seal=True) as p:
            click.echo(f"Serving on http://{display_host(host)}:{port}/ with waitress "
                       f"({threads or WAITRESS_THREADS} threads)  (Ctrl-C stops)")
            serve_app(p, host, port, threads=threads or WAITRESS_THREADS)
        return
    workers = workers or os.cpu_count() or 1
    threads = threads or GUNICORN_THREADS
    env_settings(seal=True)  # a configuration error shows here, once, not in every worker
    click.echo(f"Serving on http://{display_host(host)}:{port}/ with gunicorn "
               f"({workers} process(es) × {threads} thread(s))  (Ctrl-C stops)")
    _serve_gunicorn(host, port, workers=workers, threads=threads)


@cli.command(short_help="Run the background worker: timers, messages, e-mail.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between polls for due timers, messages and outgoing mail.")
def worker(interval: float) -> None:
    """Fire due timers, deliver messages and send the outbox until stopped."""
    from engine import worker as engine_worker
    from engine.platform import freeze_start_up
    from web.ops import configure_logging

    with open_platform(seal=True) as p:
        configure_logging(p.settings.log_format)
        freeze_start_up()
        click.echo(f"Worker polling every {interval:g} s (Ctrl-C stops)")
        _stop_on_sigterm()
        try:
            engine_worker.run(p, interval=interval)
        except KeyboardInterrupt:
            pass
    click.echo("Worker stopped.")


def serve_app(p, host: str, port: int, *, threads: int) -> None:
    """Serve the app for ``p`` with waitress until Ctrl-C or SIGTERM."""
    from waitress import create_server

    from engine.platform import freeze_start_up
    from web import create_app

    app = create_app({"MOTCUA_PLATFORM": p})
    freeze_start_up()
    server = create_server(app, host=host, port=port, threads=threads)
    _stop_on_sigterm()
    try:
        server.run()  # returns after Ctrl-C (waitress catches KeyboardInterrupt)
    finally:
        server.close()


def _gunicorn_available() -> bool:
    if os.name != "posix":
        return False
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        return False
    return True


def _serve_gunicorn(host: str, port: int, *, workers: int, threads: int) -> None:
    """Serve with gunicorn until SIGINT/SIGTERM: ``workers`` forked processes, each
    building its own app and :class:`~engine.platform.Platform` (its own connection pool:
    nothing is shared across a fork), each with ``threads`` threads (gunicorn's threaded
    worker, even with one thread: it keeps HTTP connections alive, the sync worker closes
    each one)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            address = f"[{host}]" if ":" in host and not host.startswith("[") else host
            options = {"bind": f"{address}:{port}", "workers": workers, "threads": threads,
                       "worker_class": "gthread",
                       # A step that signs and renders may take a while: no early kills.
                       "timeout": 120, "graceful_timeout": 30, "keepalive": 5,
                       "proc_name": "motcua-serve", "errorlog": "-", "loglevel": "info",
                       "post_worker_init": _worker_ready, "worker_exit": _worker_exit}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from web import create_app

            return create_app()

    Server().run()


def _worker_ready(_worker) -> None:
    """A server process has made its app: what it built is left out of the collector's
    passes (:func:`engine.platform.freeze_start_up`)."""
    from engine.platform import freeze_start_up

    freeze_start_up()


def _worker_exit(_server, worker) -> None:
    app = getattr(worker, "wsgi", None)
    platform = getattr(app, "extensions", {}).get("motcua") if app is not None else None
    if platform is not None:
        platform.close()


def _stop_on_sigterm() -> None:
    """Make SIGTERM stop like Ctrl-C, so the worker and server shut down cleanly."""
    def _interrupt(_signum, _frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread (e.g. under a test runner)
        pass


def print_init_result(result: dict, bpmn_dir: Path) -> bool:
    """Print what ``engine.setup.init`` did; True if any bundle failed."""
    click.echo(f"Database ready: {result.get('roles', 0)} roles, "
               f"{result.get('agencies_created', 0)} agencies created.")
    for item in result.get("procedures", []):
        state = "new" if item.get("created") else "unchanged"
        click.echo(f"  deployed {item.get('code')} version {item.get('version')} ({state})")
    failures = result.get("errors", [])
    for failure in failures:
        folder = failure.get("folder", "")
        click.secho(f"  FAILED {folder}: {failure.get('message', '')}", fg="red", err=True)
        for problem in failure.get("details", []):
            click.echo("    " + problem_line(bpmn_dir / folder, problem), err=True)
    return bool(failures)


def display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host
