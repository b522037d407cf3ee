"""The wired-up engine (engine/platform.py): a platform registers what diagrams may call and
what runs after a step, makes its data folder and opens its database."""

from sqlalchemy import text

from engine import jobs, national, operators, outbox, slips, sms
from engine.config import Settings
from engine.platform import Platform, install


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
