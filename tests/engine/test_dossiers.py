"""engine.dossiers: a dossier's code and receiving agency, a refused submission that
leaves nothing behind (not even a used number), one run again that is written once, and
the writes of a submission: its number, row and files at once, distinct numbers for
concurrent submissions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, select

from engine import accounts, audit, clock, dossiers, outside
from engine.errors import InvalidData, NotFound, PermissionDenied
from engine.models import (
    Agency,
    AuditEvent,
    Document,
    Dossier,
    DossierSequence,
    Instance,
    Procedure,
)
from engine.storage import Upload
from tests.engine.factories import APPLICATION, PROCEDURE, sample_files, submit
from tests.engine.test_documents import with_object
from tests.engine.test_registry import run_together

TRANSPORT = "000.00.14.H56"


def count(p) -> int:
    with p.db.read() as session:
        return session.execute(select(func.count()).select_from(Dossier)).scalar()


def test_codes_follow_the_agency_and_the_day_in_vietnam(platform):
    clock.travel_to(datetime(2026, 12, 7, 16, 0, tzinfo=UTC))  # 23:00 on 7/12 in Vietnam
    first, second = submit(platform), submit(platform)
    assert (first, second) == (f"{TRANSPORT}-261207-0001", f"{TRANSPORT}-261207-0002")
    clock.travel_to(datetime(2026, 12, 7, 17, 30, tzinfo=UTC))  # 00:30 on 8/12 in Vietnam
    assert submit(platform) == f"{TRANSPORT}-261208-0001"


def test_a_refused_submission_keeps_nothing_and_uses_no_number(platform):
    clock.travel_to(datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
    before = count(platform)
    with pytest.raises(InvalidData) as err:
        submit(platform, data={"vehicle_count": "ba"})
    assert any(d.get("field") == "vehicle_count" for d in err.value.details)
    assert count(platform) == before
    assert submit(platform) == f"{TRANSPORT}-261208-0001"


def test_an_unknown_procedure_and_an_anonymous_applicant_are_refused(platform):
    firm = accounts.find_user(platform, "doanhnghiep")
    with pytest.raises(NotFound):
        dossiers.submit(platform, firm, "no-such-procedure", APPLICATION, {})
    with pytest.raises(PermissionDenied):
        dossiers.submit(platform, None, PROCEDURE, APPLICATION, {})


def test_a_procedure_received_by_several_agencies_needs_a_choice_among_them(platform):
    with platform.db.read() as session:
        procedure = session.execute(select(Procedure).where(
            Procedure.code == "budget-unit-code")).scalar_one()
        agencies = dossiers.receiving_agencies(session, procedure)
        assert len(agencies) == 27  # the district finance offices
        with pytest.raises(InvalidData) as err:
            dossiers.receiving_agency(session, procedure, None)
        assert err.value.details[0]["field"] == "agency"
        with pytest.raises(InvalidData, match=TRANSPORT):
            dossiers.receiving_agency(session, procedure, TRANSPORT)
        chosen = agencies[3]
        assert dossiers.receiving_agency(session, procedure, f" {chosen.code} ") is chosen


def test_a_refused_file_keeps_nothing_and_uses_no_number(platform):
    """A PDF with scripts among the files: the submission is refused naming that file, and
    neither the dossier, nor its other files' rows, nor its number are kept."""
    clock.travel_to(datetime(2026, 12, 9, 2, 0, tzinfo=UTC))
    files = sample_files(platform, PROCEDURE)
    bad = sorted(files)[0]
    files[bad] = Upload("don.pdf", "application/pdf",
                        with_object(b"<< /S /JavaScript /JS (app.alert(1)) >>"))
    before = count(platform)
    with platform.db.read() as session:
        documents = session.execute(select(func.count()).select_from(Document)).scalar()
    with pytest.raises(InvalidData) as err:
        submit(platform, files=files)
    assert [d["field"] for d in err.value.details] == [bad]
    assert "JavaScript" in err.value.details[0]["message"]
    assert count(platform) == before
    with platform.db.read() as session:
        assert session.execute(select(func.count()).select_from(Document)).scalar() == documents
    assert submit(platform) == f"{TRANSPORT}-261209-0001"


def test_a_submission_run_again_is_written_once(platform, monkeypatch):
    """A submission that rolls back to ask an outside service (engine.outside) and runs
    again leaves one dossier: one number, one row per file, one saved process, one audit
    event, the appointment it answered with."""
    clock.travel_to(datetime(2026, 12, 10, 2, 0, tzinfo=UTC))
    asked = []
    start_process = dossiers.start_process

    def asking_first(*args, **kwargs):
        outside.answer("test:asked", lambda: asked.append(1))
        return start_process(*args, **kwargs)

    monkeypatch.setattr(dossiers, "start_process", asking_first)
    before = count(platform)
    result = dossiers.submit(platform, accounts.find_user(platform, "doanhnghiep"), PROCEDURE,
                             APPLICATION, sample_files_of(platform))
    assert asked == [1] and count(platform) == before + 1
    assert result["code"] == f"{TRANSPORT}-261210-0001"
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == result["code"])
                                  ).scalar_one()
        names = session.execute(select(Document.name, Document.revision)
                                .where(Document.dossier_id == dossier.id)).all()
        states = session.execute(select(func.count()).select_from(Instance)
                                 .where(Instance.dossier_id == dossier.id)).scalar()
        events = session.execute(select(AuditEvent.action)
                                 .where(AuditEvent.dossier_id == dossier.id)).scalars().all()
        assert dossier.due_at.isoformat() == result["due_at"]
        assert dossier.received_at.isoformat() == result["received_at"]
        assert (dossier.status, dossier.paused_working_days, dossier.supplement_count) == (
            "submitted", 0, 0)
        assert {name: str(doc_id) for name, doc_id in session.execute(
            select(Document.name, Document.id).where(Document.dossier_id == dossier.id))} == {
            name: dossier.data[name] for name, _ in names}
    assert sorted(names) == sorted((name, 1) for name in sample_files_of(platform))
    assert states == 1 and events.count("submit") == 1
    assert audit.verify_chain(platform)["ok"]


def sample_files_of(p) -> dict[str, Upload]:
    return sample_files(p, PROCEDURE)


def test_a_submission_takes_its_number_and_writes_its_dossier_and_files_at_once(platform):
    """On PostgreSQL the number of the day, the dossier's row and its files' rows go in one
    statement: a submission sends three (the procedure with the calendar's revision and what
    the first national record needs, those writes, the step's writes; the calendar is kept
    by the process) and commits. SQLite, which has no data-modifying CTEs, sends the three
    writes one by one."""
    clock.travel_to(datetime(2026, 12, 11, 2, 0, tzinfo=UTC))
    files, firm = sample_files_of(platform), accounts.find_user(platform, "doanhnghiep")
    dossiers.submit(platform, firm, PROCEDURE, APPLICATION, files)  # the version now cached
    sent: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        sent.append(statement)

    event.listen(platform.db.engine, "before_cursor_execute", seen)
    try:
        code = dossiers.submit(platform, firm, PROCEDURE, APPLICATION, files)["code"]
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", seen)
    writes = [s for s in sent if any(f"INSERT INTO {table} " in s for table in
                                     ("dossier_sequence", "dossier", "document"))]
    if platform.db.is_postgres:
        assert len(sent) == 3
        assert len(writes) == 1
    else:
        assert len(writes) == 3
    assert code == f"{TRANSPORT}-261211-0002"
    with platform.db.read() as session:
        dossier = session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()
        docs = session.execute(select(Document.name, Document.id, Document.revision,
                                      Document.filename, Document.created_by_id)
                               .where(Document.dossier_id == dossier.id)).all()
    assert sorted((name, revision, filename) for name, _, revision, filename, _ in docs) == \
        sorted((name, 1, upload.filename) for name, upload in files.items())
    assert {name: str(doc_id) for name, doc_id, *_ in docs} == {
        name: dossier.data[name] for name in files}
    assert {by for *_, by in docs} == {dossier.applicant_id}


def test_numbers_past_four_digits_keep_all_their_digits(platform):
    """The code pads the number to four digits, never cuts it: the 10 000th dossier of a
    day is ``…-10000``."""
    clock.travel_to(datetime(2026, 12, 12, 2, 0, tzinfo=UTC))
    with platform.db.transaction() as session:
        agency = session.execute(select(Agency).where(Agency.code == TRANSPORT)).scalar_one()
        session.add(DossierSequence(agency_id=agency.id, day=date(2026, 12, 12), last=9998))
    assert submit(platform) == f"{TRANSPORT}-261212-9999"
    assert submit(platform) == f"{TRANSPORT}-261212-10000"


def test_concurrent_submissions_get_distinct_gap_free_numbers(platform):
    """Twelve applicants' submissions at the same moment to one agency: none fails, none
    shares a number, none is skipped, each dossier with its own files."""
    clock.travel_to(datetime(2026, 12, 13, 2, 0, tzinfo=UTC))
    files = sample_files_of(platform)
    firm = accounts.find_user(platform, "doanhnghiep")
    results = run_together([lambda: dossiers.submit(platform, firm, PROCEDURE, APPLICATION,
                                                    files)] * 12)
    assert [r for r in results if isinstance(r, Exception)] == []
    codes = sorted(r["code"] for r in results)
    assert codes == [f"{TRANSPORT}-261213-{n:04d}" for n in range(1, 13)]
    with platform.db.read() as session:
        per_dossier = session.execute(
            select(Dossier.code, func.count(Document.id)).join(
                Document, Document.dossier_id == Dossier.id)
            .where(Dossier.code.in_(codes)).group_by(Dossier.code)).all()
        last = session.execute(select(DossierSequence.last).where(
            DossierSequence.day == date(2026, 12, 13))).scalar_one()
    assert sorted(per_dossier) == [(code, len(files)) for code in codes]
    assert last == 12
