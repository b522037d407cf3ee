"""``motcua verify``, ``audit-verify``, ``audit-anchor``, ``import-agencies``,
``import-users`` and ``system-account``: signatures, the audit chain, bulk imports and
accounts for other systems."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.config import Settings

from .base import cli, fail, open_platform


@cli.command(short_help="Report every signature of a PDF.")
@click.argument("file", metavar="FILE.pdf", type=click.Path(path_type=Path))
def verify(file: Path) -> None:
    """Report every signature of a PDF: signer, time, timestamp, PAdES level, intact,
    trusted, modified after."""
    from signing import pki
    from signing import verify as signing_verify

    if not file.is_file():
        fail(f"{file}: no such file.", code=2)
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

    with open_platform() as p:
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

    with open_platform() as p:
        try:
            made = anchors.anchor(p)
        except EngineError as exc:
            fail(f"{exc.vi} / {exc.message}", code=1)
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

    with open_platform() as p:
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


@cli.command("system-account", short_help="Create a system account that posts messages.")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="The other system's name.")
def system_account(username: str, full_name: str) -> None:
    """Create the account another system uses for POST /api/v1/messages (kind ``system``, no
    roles), or give it a new password; the password is printed once."""
    from engine import inbound
    from engine.errors import InvalidData

    with open_platform() as p:
        try:
            password = inbound.create_system_account(p, username.strip(), full_name)
        except InvalidData as error:
            click.echo(f"{error}\n{error.vi}", err=True)
            sys.exit(1)
    click.echo(f"System account {username}: password (shown only now): {password}")
