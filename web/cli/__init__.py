"""The ``motcua`` command line (the fixed contract in DESIGN.md).

A plain click group rather than Flask's ``FlaskGroup``: the commands are exactly the
contract's, with no ``run``/``shell``/``routes`` beside them, and the commands that do not
serve HTTP never build the web app. Configuration comes from the environment
(``MOTCUA_DATABASE_URL``, ``MOTCUA_DATA_DIR``, ``MOTCUA_SECRET_KEY``, ``MOTCUA_SMTP_URL``).

Exit codes: 0 success, 1 the thing checked is invalid (a bundle, a signature, the audit
chain), 2 the command was used wrongly (a missing file).

The commands are grouped by module: :mod:`web.cli.serving` (init, serve, worker),
:mod:`web.cli.demo`, :mod:`web.cli.procedures` (deploy, conformance, scorecard-rule) and
:mod:`web.cli.records` (verify, audit, imports, system accounts); :mod:`web.cli.base` holds
the group they join.
"""

from __future__ import annotations

from . import demo, procedures, records, serving  # noqa: F401  (each registers its commands)
from .base import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Entry point of the ``motcua`` console script."""
    cli(prog_name="motcua")
