"""The ``motcua`` command line (the fixed contract in DESIGN.md).

A plain click group rather than Flask's ``FlaskGroup``: the commands are exactly the
contract's, with no ``run``/``shell``/``routes`` beside them, and the commands that do not
serve HTTP never build the web app. Configuration comes from the environment
(``MOTCUA_DATABASE_URL``, ``MOTCUA_DATA_DIR``, ``MOTCUA_SECRET_KEY``, ``MOTCUA_SMTP_URL``).

Exit codes: 0 success, 1 the thing checked is invalid (a bundle, a signature, the audit
chain), 2 the command was used wrongly (a missing file).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import click

from engine.config import DEMO_PASSPHRASE, Settings

#: Threads per gunicorn process: a request waits on the database part of its time.
GUNICORN_THREADS = 4
#: Threads of the single waitress process.
WAITRESS_THREADS = 8


def _settings(*, seal: bool = False, demo: bool = False) -> Settings:
    """The environment's settings. ``seal``: refuse (exit 2) when the agencies' seal keys
    would have no passphrase (outside the demo); ``demo``: the demo's passphrase unless one
    is set, and the time-stamping authority stand-in unless a TSA is set."""
    settings = Settings.from_env()
    if demo and not settings.agency_key_passphrase:
        settings.agency_key_passphrase = DEMO_PASSPHRASE
    if demo and not settings.tsa_url:
        settings.tsa_url = "standin"
    if seal and settings.seal_passphrase_missing():
        _fail(settings.seal_passphrase_missing(), code=2)
    return settings


@contextmanager
def _platform(*, seal: bool = False, demo: bool = False) -> Iterator:
    """A platform built from the environment (:func:`_settings`), closed when the command
    ends."""
    from engine.platform import Platform

    p = Platform(_settings(seal=seal, demo=demo))
    try:
        yield p
    finally:
        p.close()


def _installed_version() -> str:
    try:
        return metadata.version("motcua")
    except metadata.PackageNotFoundError:  # running from a checkout without `pip install -e`
        return "unknown (not installed)"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=_installed_version(), prog_name="motcua")
def cli() -> None:
    """Một Cửa: a BPMN-driven one-stop public-service portal."""


@cli.command(short_help="Create/upgrade the database, load every procedure.")
def init() -> None:
    """Create or upgrade the database, load agencies, roles and every procedure in bpmn/."""
    from engine import setup

    with _platform(seal=True) as p:
        failed = _print_init_result(setup.init(p), p.settings.bpmn_dir)
    if failed:
        sys.exit(1)


@cli.command(short_help="init + demo logins and PKI, then serve with the worker.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--history", default=None, metavar="6m",
              help="First run this many months of demo dossiers through the engine (e.g. 6m).")
def demo(host: str, port: int, history: str | None) -> None:
    """init + demo accounts and PKI, then serve with the worker in the same process."""
    from engine import demo as demo_data
    from engine import setup, worker

    with _platform(demo=True) as p:
        failed = _print_init_result(setup.init(p), p.settings.bpmn_dir)
        accounts = demo_data.create_accounts(p)
        _print_accounts(accounts)
        if history:
            _run_history(p, history)
        if failed:
            click.secho("Some procedures failed to load (above); the others run.", fg="yellow")
        click.echo(f"\nOpen http://{_display_host(host)}:{port}/  (Ctrl-C stops)\n")
        handle = worker.start_in_background(p)
        try:
            _serve(p, host, port, threads=8)
        finally:
            handle.stop()
    click.echo("Stopped.")


@cli.command("demo-history", short_help="Run months of demo dossiers through the engine.")
@click.option("--months", "length", default="6m", show_default=True, metavar="6m",
              help="How many months up to today.")
@click.option("--per-day", default=1.0, show_default=True, type=click.FloatRange(0.1, 50),
              help="Dossiers started per working day, on average.")
def demo_history(length: str, per_day: float) -> None:
    """Months of dossiers replaying the procedures' scenarios with the clock travelling
    (mostly online, some at the counter or by post), handed over and rated: demo data for
    the leaders' page. Run after `motcua demo` has created the demo accounts."""
    with _platform() as p:
        _run_history(p, length, per_day=per_day, option="--months")


def _run_history(p, length: str, per_day: float = 1.0, option: str = "--history") -> None:
    from engine import history

    try:
        months = history.parse_months(length)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    if history.has_history(p):
        click.echo("Lịch sử trình diễn đã có / the demo history is already there.")
        return
    with click.progressbar(length=1, label=f"Lịch sử {months} tháng / {months}-month history",
                           show_pos=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        tally = history.run(p, months=months, per_working_day=per_day, progress=progress)
    click.echo(f"{tally.dossiers} dossiers (online {tally.by_channel['online']}, counter "
               f"{tally.by_channel['counter']}, post {tally.by_channel['post']}), {tally.steps} "
               f"steps, {tally.failed} stopped early; marked as demo data.")


@cli.command("scorecard-rule", short_help="List or change the Decision 766 scorecard's rules.")
@click.argument("indicator", required=False)
@click.option("--points", type=float, help="The indicator's points.")
@click.option("--threshold", type=float, help="The share (0–1] that earns full points.")
@click.option("--confirmed/--unconfirmed", default=False, help="Checked against the Decision.")
@click.option("--note", default="", help="Where the value comes from.")
def scorecard_rule(indicator: str | None, points: float | None, threshold: float | None,
                   confirmed: bool, note: str) -> None:
    """Without INDICATOR, list every indicator's points, threshold and whether confirmed;
    with it, change them (administrators: the defaults are unconfirmed)."""
    from engine import scorecard
    from engine.errors import InvalidData

    with _platform() as p:
        if indicator:
            current = scorecard.rules(p).get(indicator, {})
            try:
                scorecard.set_rule(p, indicator, points=current.get("points", 0) if points is None
                                   else points,
                                   threshold=current.get("threshold", 1) if threshold is None
                                   else threshold, confirmed=confirmed, note=note, actor="cli")
            except InvalidData as exc:
                raise click.UsageError(f"{exc.message} / {exc.vi}") from None
        for key, rule in scorecard.rules(p).items():
            state = "confirmed" if rule["confirmed"] else "UNCONFIRMED"
            click.echo(f"{scorecard.BY_KEY[key].group:13} {key:24} {rule['points']:5g} points "
                       f"at >= {rule['threshold']:.0%}  {state}")


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
        _fail("gunicorn runs on POSIX systems only (and must be installed); "
              "use --server waitress.", code=2)
    if chosen == "waitress":
        if workers not in (None, 1):
            click.echo("waitress serves from one process: --workers is ignored.", err=True)
        with _platform(seal=True) as p:
            click.echo(f"Serving on http://{_display_host(host)}:{port}/ with waitress "
                       f"({threads or WAITRESS_THREADS} threads)  (Ctrl-C stops)")
            _serve(p, host, port, threads=threads or WAITRESS_THREADS)
        return
    workers = workers or os.cpu_count() or 1
    threads = threads or GUNICORN_THREADS
    _settings(seal=True)  # a configuration error shows here, once, not in every worker
    click.echo(f"Serving on http://{_display_host(host)}:{port}/ with gunicorn "
               f"({workers} process(es) × {threads} thread(s))  (Ctrl-C stops)")
    _serve_gunicorn(host, port, workers=workers, threads=threads)


@cli.command(short_help="Run the background worker: timers, messages, e-mail.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between polls for due timers, messages and outgoing mail.")
def worker(interval: float) -> None:
    """Fire due timers, deliver messages and send the outbox until stopped."""
    from engine import worker as engine_worker
    from web.ops import configure_logging

    with _platform(seal=True) as p:
        configure_logging(p.settings.log_format)
        click.echo(f"Worker polling every {interval:g} s (Ctrl-C stops)")
        _stop_on_sigterm()
        try:
            engine_worker.run(p, interval=interval)
        except KeyboardInterrupt:
            pass
    click.echo("Worker stopped.")


@cli.command(short_help="Validate (and deploy) a procedure folder or .bpmn file.")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Only validate; deploy nothing.")
@click.option("--process", default=None,
              help="The process to start, when the diagram has several and procedure.yaml "
                   "names none.")
def deploy(path: Path, check: bool, process: str | None) -> None:
    """Validate and deploy a procedure folder, or a lone .bpmn diagram.

    Prints "OK <code> version N (new|unchanged)", or every problem as
    `file: element: message`; exits 1 if the bundle is invalid.
    """
    from engine import migrate, procedures
    from engine.errors import InvalidBundle

    if path.is_dir():
        source: Path | dict[str, str] = path
    else:
        try:
            source = {"process.bpmn": path.read_text(encoding="utf-8")}
        except UnicodeDecodeError:
            _fail(f"{path}: not a text file (expected a BPMN XML diagram).", code=1)
    with _platform() as p:
        if not migrate.is_initialised(p.db):
            _fail("the database has no tables yet: run `motcua init` first (it creates them "
                  "and loads the agencies and roles a procedure is checked against).", code=2)
        try:
            result = procedures.deploy_bundle(p, source, check_only=check, process=process)
        except InvalidBundle as error:
            click.echo(f"{path}: invalid ({len(error.details)} problem(s))", err=True)
            for problem in error.details:
                click.echo(_problem_line(path, problem), err=True)
            sys.exit(1)
    for warning in result.get("warnings", []):
        click.echo("warning: " + _problem_line(path, warning), err=True)
    if check:
        click.echo(f"OK {result.get('code') or path.name}: valid (checked only, nothing deployed)")
    else:
        state = "new" if result.get("created") else "unchanged"
        click.echo(f"OK {result.get('code')} version {result.get('version')} ({state})")


@cli.command(short_help="Check and run every diagram of a folder.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-run", is_flag=True, help="Only check; run nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def conformance(folder: Path, no_run: bool, as_json: bool) -> None:
    """Check every .bpmn file under FOLDER as `deploy --check` would (each with the .dmn
    files beside it), and run the accepted ones to their end where no person or outside
    service is needed. One line per file, then the totals and the reasons for refusals."""
    import json

    from engine import conformance as conf

    results = conf.run_folder(folder, run=not no_run)
    totals = conf.summary(results)
    if as_json:
        click.echo(json.dumps({"files": [r.as_dict() for r in results], "summary": totals},
                              ensure_ascii=False, indent=1))
        return
    for r in results:
        if r.accepted:
            note = f" ({len(r.warnings)} warning(s))" if r.warnings else ""
            click.echo(f"ACCEPTED {r.file}{note}" + (f" — run: {r.run}" if r.run else ""))
        else:
            click.echo(f"REFUSED  {r.file}")
            for problem in r.problems:
                click.echo(f"    {problem.get('element') or '-'}: {problem.get('message')}")
    click.echo(f"\n{totals['accepted']} of {totals['files']} accepted, "
               f"{totals['refused']} refused.")
    if totals["runs"]:
        click.echo("Runs: " + ", ".join(f"{k} {v}" for k, v in sorted(totals["runs"].items())))
    for reason, count in totals["reasons"].items():
        click.echo(f"  {count:4d}  {reason}")


@cli.command(short_help="Report every signature of a PDF.")
@click.argument("file", metavar="FILE.pdf", type=click.Path(path_type=Path))
def verify(file: Path) -> None:
    """Report every signature of a PDF: signer, time, timestamp, PAdES level, intact,
    trusted, modified after."""
    from signing import pki
    from signing import verify as signing_verify

    if not file.is_file():
        _fail(f"{file}: no such file.", code=2)
    settings = Settings.from_env()
    report = signing_verify.verify_pdf(file.read_bytes(),
                                       pki.trust_roots(settings.data_dir / "pki"))
    click.echo(signing_verify.format_report(report))
    sys.exit(0 if report.ok else 1)


@cli.command("audit-verify", short_help="Check the audit log against its chain and anchors.")
def audit_verify() -> None:
    """Check every signed anchor, recompute the audit log's hash chain and compare it with
    the anchored hashes; exit 1 naming the first bad event."""
    from engine import anchors

    with _platform() as p:
        result = anchors.verify(p)
    if result.get("ok"):
        click.echo(f"Audit chain OK: {result.get('events', 0)} events, "
                   f"{result.get('anchors', 0)} anchor(s), anchored up to event "
                   f"#{result.get('anchored_to', 0)}")
        return
    where = (f"at event #{result['first_bad_id']}" if result.get("first_bad_id") is not None
             else "in its anchors")
    click.echo(f"Audit chain BROKEN {where}: {result.get('reason')} "
               f"({result.get('events', 0)} events before it verified)", err=True)
    sys.exit(1)


@cli.command("audit-anchor", short_help="Sign the audit chain's head and keep it outside.")
def audit_anchor() -> None:
    """Sign the hashes of the audit events since the last anchor with the province's key
    and write them to the anchor directory (MOTCUA_AUDIT_ANCHOR_DIR)."""
    from engine import anchors
    from engine.errors import EngineError

    with _platform() as p:
        try:
            made = anchors.anchor(p)
        except EngineError as exc:
            _fail(f"{exc.vi} / {exc.message}", code=1)
    if not made["events"]:
        click.echo(f"Nothing new to anchor: the last anchor covers event #{made['last_id']}")
        return
    click.echo(f"Anchored {made['events']} event(s) up to #{made['last_id']} "
               f"({made['last_hash']}) in {made['path']} "
               f"(SHA-256 {anchors.fingerprint(made['path'])})")


@cli.command("import-agencies", short_help="Create or update agencies from a CSV file.")
@click.argument("file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path))
@click.option("--actor", default="cli", show_default=True,
              help="Who the audit log records as having imported.")
def import_agencies(file: Path, actor: str) -> None:
    """Upsert agencies by code from FILE.csv (columns code,name_vi,name_en,kind,parent_code,
    email,address). Every row is checked first: one bad row and nothing is written (exit 1).
    """
    from engine.admin import imports

    _import(file, lambda p, data: imports.import_agencies(p, data, actor=actor))


@cli.command("import-users", short_help="Create or update users from a CSV file.")
@click.argument("file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path))
@click.option("--actor", default="cli", show_default=True,
              help="Who the audit log records as having imported.")
def import_users(file: Path, actor: str) -> None:
    """Upsert users by username from FILE.csv (columns username,full_name,kind,email,phone,
    id_number,title,agency_code,roles[,password]; roles as reception@000.00.14.H56;head@…).
    New users without a password get a one-time one, printed once. Every row is checked
    first: one bad row and nothing is written (exit 1).
    """
    from engine.admin import imports

    _import(file, lambda p, data: imports.import_users(p, data, actor=actor))


def _import(file: Path, run) -> None:
    """Run an all-or-nothing import; print the summary and any one-time passwords, or every
    problem as ``FILE:line: column: message`` (English, then Vietnamese) and exit 1."""
    from engine.errors import InvalidData

    with _platform() as p:
        try:
            result = run(p, file.read_bytes())
        except InvalidData as error:
            click.echo(f"{file}: not imported, nothing was written "
                       f"({len(error.details)} problem(s))", err=True)
            for item in error.details:
                click.echo(f"{file}:{item.get('line')}: {item.get('message')}", err=True)
                click.echo(f"{' ' * len(str(file))}  {item.get('message_vi')}", err=True)
            sys.exit(1)
    click.echo(f"Imported {file}: {result['rows']} row(s): {result['created']} created, "
               f"{result['updated']} updated, {result['unchanged']} unchanged.")
    passwords = result.get("passwords") or []
    if passwords:
        click.echo("\nOne-time passwords (shown only now; hand them over safely):")
        width = max(len(row["username"]) for row in passwords)
        for row in passwords:
            click.echo(f"  {row['username']:<{width}}  {row['password']}")


def main() -> None:
    """Entry point of the ``motcua`` console script."""
    cli(prog_name="motcua")


def _serve(p, host: str, port: int, *, threads: int) -> None:
    """Serve the app for ``p`` with waitress until Ctrl-C or SIGTERM."""
    from waitress import create_server

    from web import create_app

    app = create_app({"MOTCUA_PLATFORM": p})
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
                       "worker_exit": _worker_exit}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from web import create_app

            return create_app()

    Server().run()


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


def _print_init_result(result: dict, bpmn_dir: Path) -> bool:
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
            click.echo("    " + _problem_line(bpmn_dir / folder, problem), err=True)
    return bool(failures)


def _print_accounts(accounts: list[dict]) -> None:
    rows = [("username", "password", "who")] + [
        (a.get("username", ""), a.get("password", ""), a.get("description", "")) for a in accounts]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    click.echo("\nDemo logins:")
    for i, (username, password, who) in enumerate(rows):
        click.echo(f"  {username:<{widths[0]}}  {password:<{widths[1]}}  {who}")
        if i == 0:
            click.echo(f"  {'-' * widths[0]}  {'-' * widths[1]}  {'-' * 3}")


def _problem_line(base: Path | None, problem: dict) -> str:
    """``file: element: message``, the file resolved against the folder or lone diagram."""
    filename = problem.get("file") or ""
    if base is not None:
        if base.is_dir():
            filename = str(base / filename) if filename else str(base)
        elif filename in ("", "process.bpmn"):
            filename = str(base)  # a lone diagram stands in for the bundle's process.bpmn
    element = problem.get("element") or "-"
    return f"{filename}: {element}: {problem.get('message', '')}"


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def _fail(message: str, *, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()


@cli.command("system-account", short_help="Create a system account that posts messages.")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="The other system's name.")
def system_account(username: str, full_name: str) -> None:
    """Create the account another system uses for POST /api/v1/messages (kind ``system``, no
    roles), or give it a new password; the password is printed once."""
    from engine import inbound
    from engine.errors import InvalidData

    with _platform() as p:
        try:
            password = inbound.create_system_account(p, username.strip(), full_name)
        except InvalidData as error:
            click.echo(f"{error}\n{error.vi}", err=True)
            sys.exit(1)
    click.echo(f"System account {username}: password (shown only now): {password}")
