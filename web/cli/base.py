"""What every ``motcua`` command shares: the click group, the settings and platform built
from the environment, and how a command fails."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import click

from engine.config import DEMO_PASSPHRASE, Settings


def env_settings(*, seal: bool = False, demo: bool = False) -> Settings:
    """The environment's settings. ``seal``: refuse (exit 2) when the agencies' seal keys
    would have no passphrase (outside the demo); ``demo``: the demo's passphrase unless one
    is set, and the time-stamping authority stand-in unless a TSA is set."""
    settings = Settings.from_env()
    if demo and not settings.agency_key_passphrase:
        settings.agency_key_passphrase = DEMO_PASSPHRASE
    if demo and not settings.tsa_url:
        settings.tsa_url = "standin"
    if demo and "MOTCUA_OIDC_STAND_IN" not in os.environ and not settings.oidc_issuer:
        settings.oidc_stand_in = True  # sign in with the stand-in national identity provider
    if seal and settings.seal_passphrase_missing():
        fail(settings.seal_passphrase_missing(), code=2)
    return settings


@contextmanager
def open_platform(*, seal: bool = False, demo: bool = False) -> Iterator:
    """A platform built from the environment (:func:`env_settings`), closed when the command
    ends."""
    from engine.platform import Platform
    from signing.errors import SigningError

    try:
        p = Platform(env_settings(seal=seal, demo=demo))
    except SigningError as exc:  # e.g. MOTCUA_SIGNER names no key provider
        raise click.ClickException(str(exc)) from exc
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


def fail(message: str, *, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def problem_line(base: Path | None, problem: dict) -> str:
    """``file: element: message``, the file resolved against the folder or lone diagram."""
    filename = problem.get("file") or ""
    if base is not None:
        if base.is_dir():
            filename = str(base / filename) if filename else str(base)
        elif filename in ("", "process.bpmn"):
            filename = str(base)  # a lone diagram stands in for the bundle's process.bpmn
    element = problem.get("element") or "-"
    return f"{filename}: {element}: {problem.get('message', '')}"
