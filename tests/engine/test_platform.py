"""The wired-up engine (engine/platform.py): a platform registers what diagrams may call and
what runs after a step, makes its data folder and opens its database."""

import gc

from sqlalchemy import text

from engine import jobs, national, operators, outbox, slips, sms
from engine.config import Settings
from engine.platform import Platform, freeze_start_up, install


def test_a_platform_makes_its_data_folder_and_opens_its_database(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", secret_key="test",
                        database_url=f"sqlite:///{tmp_path / 'p.sqlite3'}")
    p = Platform(settings)
    try:
        assert (tmp_path / "data").is_dir()
        assert p.pki_dir == tmp_path / "data" / "pki"
        with p.db.read() as session:
            assert session.execute(text("select 1")).scalar() == 1
    finally:
        p.close()


def test_install_registers_the_operators_and_job_kinds_once():
    install()
    install()  # idempotent
    for name in ("issue_slip", "issue_apology"):
        assert name in operators.REGISTRY
    assert jobs.HANDLERS["slip"] is slips.produce_slip
    assert {national.KIND, sms.KIND} <= set(outbox.SENDERS)
    assert national.KIND in outbox.ORDERED  # the national portal gets a dossier's records in order


def test_what_start_up_built_is_left_out_of_later_collections(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", secret_key="test",
                        database_url=f"sqlite:///{tmp_path / 'p.sqlite3'}")
    p = Platform(settings)
    try:
        frozen = freeze_start_up()
        made_later = [p.settings]  # a list: always tracked by the collector
        walked = {id(o) for o in gc.get_objects()}  # what a full collection walks
        assert frozen == gc.get_freeze_count() > 1000
        assert id(p) not in walked and id(p.settings) not in walked
        assert id(made_later) in walked
    finally:
        gc.unfreeze()  # this test process goes on making and dropping platforms
        p.close()
