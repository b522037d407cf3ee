"""Every scenario of every procedure in bpmn/, walked through the engine on each database."""

from pathlib import Path

import pytest
import yaml

from tests.scenario import run_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(REPO.glob("bpmn/*/scenarios/*.yaml"))


def test_every_procedure_has_scenarios():
    procedures = sorted(p.parent.name for p in REPO.glob("bpmn/*/procedure.yaml"))
    covered = sorted({s.parent.parent.name for s in SCENARIOS})
    assert procedures and covered == procedures


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda s: f"{s.parent.parent.name}/{s.stem}")
def test_scenario(platform, path):
    run_scenario(platform, yaml.safe_load(path.read_text(encoding="utf-8")))
