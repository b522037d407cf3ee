"""The ``motcua`` command line, configured through the environment like in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from engine.config import DEMO_MARKER
from web.cli import cli

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "bpmn" / "transport-business-licence"


def test_help_lists_the_contract_commands():
    result = CliRunner().invoke(cli, ["--help"], prog_name="motcua")
    assert result.exit_code == 0
    for command in ("init", "demo", "serve", "worker", "deploy", "verify", "audit-verify",
                    "audit-anchor"):
        assert command in result.output


def test_deploy_check_accepts_a_good_folder(run):
    result = run("deploy", BUNDLE, "--check")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK transport-business-licence")


def test_deploying_an_unchanged_folder_reports_unchanged(run):
    result = run("deploy", BUNDLE)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("(unchanged)")


def test_deploy_check_refuses_a_malformed_diagram_naming_the_file(run, tmp_path):
    diagram = tmp_path / "broken.bpmn"
    diagram.write_text((BUNDLE / "process.bpmn").read_text(encoding="utf-8")
                       .replace("</bpmn:process>", "", 1), encoding="utf-8")
    result = run("deploy", diagram, "--check")
    assert result.exit_code == 1
    assert f"{diagram}: " in result.output


def test_deploy_check_of_a_lone_diagram_says_which_defaults_it_took(run):
    diagram = Path(__file__).resolve().parents[1] / "engine/elements/diagrams/no_lane.bpmn"
    result = run("deploy", diagram, "--check")
    assert result.exit_code == 0, result.output
    assert f"warning: {diagram}: review: not in a lane: given to role 'handler'" in result.output
    assert "starting 'no_lane'" in result.output
    named = run("deploy", diagram, "--check", "--process", "no_lane_helper")
    assert named.exit_code == 0 and "starting" not in named.output


def test_deploy_of_a_missing_path_is_a_usage_error(run, tmp_path):
    assert run("deploy", tmp_path / "nowhere").exit_code == 2


def test_verify_rejects_a_file_that_is_not_a_pdf(run, tmp_path):
    text = tmp_path / "note.pdf"
    text.write_text("not a PDF at all", encoding="utf-8")
    result = run("verify", text)
    assert result.exit_code in (1, 2)
    assert result.output.strip()


def test_verify_of_a_missing_file_exits_2(run, tmp_path):
    result = run("verify", tmp_path / "missing.pdf")
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_audit_verify_on_a_fresh_platform(run):
    result = run("audit-verify")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Audit chain OK: ")


def test_audit_anchor_then_a_rehashed_rewrite_is_named_by_audit_verify(run, platform):
    from sqlalchemy import select

    from engine.models import AuditEvent
    from tests.engine.test_anchors import rewrite_and_rehash

    result = run("audit-anchor")
    assert result.exit_code == 0 and result.output.startswith("Anchored "), result.output
    with platform.db.read() as session:
        first = session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars().first()
    rewrite_and_rehash(platform, first, action="nothing_happened")
    result = run("audit-verify")
    assert result.exit_code == 1
    assert f"Audit chain BROKEN at event #{first}: " in result.output


def _bare_environment(monkeypatch, tmp_path) -> dict[str, str]:
    """A data directory and database nobody has used, configured like production but
    without the seal passphrase."""
    (tmp_path / "procedures").mkdir()
    env = {"MOTCUA_DATA_DIR": str(tmp_path / "data"),
           "MOTCUA_DATABASE_URL": f"sqlite:///{tmp_path / 'motcua.sqlite3'}",
           "MOTCUA_BPMN_DIR": str(tmp_path / "procedures"), "MOTCUA_SECRET_KEY": "test-secret"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MOTCUA_AGENCY_KEY_PASSPHRASE", raising=False)
    return env


def test_serve_worker_and_init_refuse_to_start_without_the_seal_passphrase(monkeypatch, tmp_path):
    env = _bare_environment(monkeypatch, tmp_path)
    result = CliRunner().invoke(cli, ["init"], prog_name="motcua")
    assert result.exit_code == 2
    assert "MOTCUA_AGENCY_KEY_PASSPHRASE is not set" in result.output
    assert "Chưa đặt MOTCUA_AGENCY_KEY_PASSPHRASE" in result.output
    assert not (tmp_path / "motcua.sqlite3").exists()  # refused before touching anything
    for command in (["worker"], ["serve", "--server", "waitress"], ["serve"]):
        # Run for real (a server that started would not return: the timeout fails the test).
        process = subprocess.run([sys.executable, "-m", "web.cli", *command], cwd=REPO,
                                 env={**os.environ, **env}, capture_output=True, text=True,
                                 timeout=120)
        assert process.returncode == 2, (command, process.stderr)
        assert "MOTCUA_AGENCY_KEY_PASSPHRASE is not set" in process.stderr


def test_init_runs_with_the_passphrase_set_or_on_the_demo_data(monkeypatch, tmp_path):
    env = _bare_environment(monkeypatch, tmp_path)
    marker = Path(env["MOTCUA_DATA_DIR"]) / DEMO_MARKER
    marker.parent.mkdir(parents=True)
    marker.write_text("demo\n", encoding="utf-8")  # as `motcua demo` leaves its data
    result = CliRunner().invoke(cli, ["init"], prog_name="motcua")
    assert result.exit_code == 0, result.output
    marker.unlink()
    monkeypatch.setenv("MOTCUA_AGENCY_KEY_PASSPHRASE", "a passphrase of the province's")
    result = CliRunner().invoke(cli, ["init"], prog_name="motcua")
    assert result.exit_code == 0, result.output
