"""Fixtures of the web layer's tests shared across files. (The portal's ``app``, ``client``
and ``auth`` live in test_pages, because several files define their own of those names.)"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from web.cli import cli


@pytest.fixture
def run(platform, monkeypatch):
    """Run ``motcua ARGS…`` against the test platform's database and data directory,
    configured through the environment like in production."""
    settings = platform.settings
    monkeypatch.setenv("MOTCUA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MOTCUA_BPMN_DIR", str(settings.bpmn_dir))
    monkeypatch.setenv("MOTCUA_SECRET_KEY", "test-secret")

    def invoke(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], prog_name="motcua")

    return invoke
