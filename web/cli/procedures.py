"""``motcua deploy``, ``conformance`` and ``scorecard-rule``: procedure bundles checked,
deployed and run, and the scorecard's rules."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .base import cli, fail, open_platform, problem_line


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
            fail(f"{path}: not a text file (expected a BPMN XML diagram).", code=1)
    with open_platform() as p:
        if not migrate.is_initialised(p.db):
            fail("the database has no tables yet: run `motcua init` first (it creates them "
                  "and loads the agencies and roles a procedure is checked against).", code=2)
        try:
            result = procedures.deploy_bundle(p, source, check_only=check, process=process)
        except InvalidBundle as error:
            click.echo(f"{path}: invalid ({len(error.details)} problem(s))", err=True)
            for problem in error.details:
                click.echo(problem_line(path, problem), err=True)
            sys.exit(1)
    for warning in result.get("warnings", []):
        click.echo("warning: " + problem_line(path, warning), err=True)
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

    with open_platform() as p:
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
