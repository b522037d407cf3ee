"""The ``motcua`` command line, configured through the environment like in production."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

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
