"""The reads behind a dossier's view (engine/dossier_rows.py): the dossier and every list it
shows, by code, from one statement; the applicant's own dossiers, newest first."""

from __future__ import annotations

from sqlalchemy import bindparam

from engine import accounts
from engine.dossier_rows import LOOKUP, LOOKUP_MINE, as_record, read_rows
from tests.engine.factories import PROCEDURE, submit


def test_one_statement_brings_the_dossier_and_its_lists(platform):
    code = submit(platform)
    with platform.db.read() as session:
        rows = read_rows(session, code)
        [dossier] = rows["dossier"]
        record = as_record(session, dossier)
    assert (record.code, record.procedure.code) == (code, PROCEDURE)
    assert record.applicant.full_name == accounts.find_user(platform, "doanhnghiep").full_name
    assert record.version.meta["code"] == PROCEDURE
    assert [e.action for e in rows["history"]][:1] == ["submit"]
    assert [s.title for s in rows["steps"]] and all(s.assignee is None for s in rows["steps"])
    assert rows["family"] == [] and rows["preparing"] == []
    assert {d.name for d in rows["documents"]}  # the uploaded files


def test_an_unknown_code_reads_nothing(platform):
    submit(platform)
    with platform.db.read() as session:
        rows = read_rows(session, "000.00.14.H56-261203-9999")
    assert all(found == [] for found in rows.values())


def test_the_applicants_dossiers_come_newest_first_and_no_one_elses(platform):
    first, second = submit(platform), submit(platform)
    firm = accounts.find_user(platform, "doanhnghiep")
    with platform.db.read() as session:
        mine = [r.code for r in session.execute(LOOKUP_MINE, {"user_id": firm.id})]
        other = accounts.find_user(platform, "congdan")
        assert session.execute(LOOKUP_MINE, {"user_id": other.id}).all() == []
        looked_up = session.execute(LOOKUP.where(
            LOOKUP.selected_columns.code == bindparam("c")), {"c": first}).one()
    assert mine == [second, first]
    assert looked_up.procedure_code == PROCEDURE
