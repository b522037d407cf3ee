"""``motcua demo`` and ``demo-history``: a ready demo with its logins, and months of demo
dossiers run through the engine."""

from __future__ import annotations

import click

from .base import cli, open_platform
from .serving import display_host, print_init_result, serve_app


@cli.command(short_help="init + demo logins and PKI, then serve with the worker.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--history", default=None, metavar="6m",
              help="First run this many months of demo dossiers through the engine (e.g. 6m).")
def demo(host: str, port: int, history: str | None) -> None:
    """init + demo accounts and PKI, then serve with the worker in the same process."""
    from engine import demo as demo_data
    from engine import setup, worker

    with open_platform(demo=True) as p:
        failed = print_init_result(setup.init(p), p.settings.bpmn_dir)
        accounts = demo_data.create_accounts(p)
        _print_accounts(accounts)
        if history:
            _run_history(p, history)
        if failed:
            click.secho("Some procedures failed to load (above); the others run.", fg="yellow")
        click.echo(f"\nOpen http://{display_host(host)}:{port}/  (Ctrl-C stops)\n")
        handle = worker.start_in_background(p)
        try:
            serve_app(p, host, port, threads=8)
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
    with open_platform() as p:
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


def _print_accounts(accounts: list[dict]) -> None:
    rows = [("username", "password", "who")] + [
        (a.get("username", ""), a.get("password", ""), a.get("description", "")) for a in accounts]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    click.echo("\nDemo logins:")
    for i, (username, password, who) in enumerate(rows):
        click.echo(f"  {username:<{widths[0]}}  {password:<{widths[1]}}  {who}")
        if i == 0:
            click.echo(f"  {'-' * widths[0]}  {'-' * widths[1]}  {'-' * 3}")
