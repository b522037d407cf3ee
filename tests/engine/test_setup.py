"""Setting a database up (engine/setup.py): roles and agencies from the seed, then every
procedure folder deployed; a folder that fails is reported and the others still deploy."""

import shutil
from pathlib import Path

from sqlalchemy import func, select

from engine import setup
from engine.models import Agency, Role

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def test_procedure_folders_are_the_folders_with_a_procedure_yaml(tmp_path):
    (tmp_path / "b-second").mkdir()
    (tmp_path / "b-second" / "procedure.yaml").write_text("code: b\n")
    (tmp_path / "a-first").mkdir()
    (tmp_path / "a-first" / "procedure.yaml").write_text("code: a\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "README.md").write_text("")
    assert [f.name for f in setup.procedure_folders(tmp_path)] == ["a-first", "b-second"]


def test_init_again_keeps_reference_data_and_reports_a_broken_bundle_by_folder(platform,
                                                                               tmp_path):
    shutil.copytree(BPMN / "transport-business-licence", tmp_path / "transport-business-licence")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "procedure.yaml").write_text("code: broken\n")
    platform.settings.bpmn_dir = tmp_path
    with platform.db.read() as session:
        before = (session.scalar(select(func.count()).select_from(Role)),
                  session.scalar(select(func.count()).select_from(Agency)))
    report = setup.init(platform, migrate=False)
    assert report["agencies_created"] == 0 and report["roles"] == before[0]
    assert [(d["code"], d["created"]) for d in report["procedures"]] == [
        ("transport-business-licence", False)]  # unchanged: already deployed
    [error] = report["errors"]
    assert error["folder"] == "broken" and error["details"]
    with platform.db.read() as session:
        assert (session.scalar(select(func.count()).select_from(Role)),
                session.scalar(select(func.count()).select_from(Agency))) == before
