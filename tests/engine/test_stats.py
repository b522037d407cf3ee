"""Statistics by the national definitions (DOMAIN.md §3–4): the bugs of the first version
walked through the real engine, then every indicator over a small varied set of dossier
rows whose expected values are worked out by hand below."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from engine import accounts, apologies, clock, scorecard, stats, tasks, worker
from engine.demo import DISTRICT_FINANCE, FINANCE, PROVINCE, TRANSPORT
from engine.errors import InvalidData, NotFound
from engine.models import Agency, ClockStop, Document, Dossier, Procedure, ProcedureVersion, User
from engine.payment_models import Payment
from engine.stats_models import Rating
from tests.engine.factories import reception_task, submit
from tests.scenario import open_task, run_scenario

REPO = Path(__file__).resolve().parents[2]
DECEMBER = {"start": date(2026, 12, 1), "end": date(2026, 12, 31)}


def at(*args) -> datetime:
    return datetime(*args, tzinfo=clock.VIETNAM)


def _dossier(p, code: str) -> Dossier:
    with p.db.read() as session:
        return session.execute(select(Dossier).where(Dossier.code == code)).scalar_one()


def _scenario(procedure: str, name: str, steps: int | None = None) -> dict:
    scenario = yaml.safe_load((REPO / "bpmn" / procedure / "scenarios" / f"{name}.yaml").read_text())
    if steps is not None:
        scenario["steps"] = scenario["steps"][:steps]
    return scenario


# -- the bugs, through the engine ----------------------------------------------------------

def test_a_receipt_slip_is_not_an_electronic_result(platform):
    clock.travel_to(at(2026, 12, 7, 9, 0))
    code = submit(platform)
    tasks.complete(platform, accounts.find_user(platform, "motcua"), reception_task(platform, code),
                   {"reception_decision": "accept"})
    with platform.db.read() as session:
        slips = session.execute(select(Document.signatures).join(Dossier).where(
            Dossier.code == code, Document.name == "slip-01")).scalars().all()
    assert slips and slips[0] > 0  # slip 01 is there, signed
    report = stats.indicators(platform, **DECEMBER)
    assert (report["received"], report["electronic_results"]) == (1, 0)
    assert report["share_online"] == 0.0


def test_an_apology_does_not_turn_a_late_dossier_on_time(platform):
    """Appointment Thu 10/12 17:00; the head apologises on 9/12 and moves it to 15/12; the
    licence is signed on Fri 11/12: on time for the new date, late for the national count."""
    scenario = _scenario("transport-business-licence", "approve-and-sign")
    code = run_scenario(platform, {**scenario, "steps": scenario["steps"][:2]})
    clock.travel_to(at(2026, 12, 9, 10, 0))
    apologies.apologise(platform, code, accounts.find_user(platform, "lanhdao"),
                        "Chờ ý kiến của cơ quan phối hợp", date(2026, 12, 15))
    clock.travel_to(at(2026, 12, 11, 10, 0))
    for step in scenario["steps"][2:]:
        tasks.complete(platform, accounts.find_user(platform, step["as"]),
                       open_task(platform, code, step["task"]).id, step["data"],
                       passphrase=step.get("passphrase"))
    dossier = _dossier(platform, code)
    assert dossier.due_at > dossier.original_due_at == at(2026, 12, 10, 17, 0)
    assert dossier.original_due_at < dossier.finished_at < dossier.due_at
    report = stats.indicators(platform, **DECEMBER)
    assert (report["processed"], report["processed_late"], report["late"]) == (1, 1, 1)
    assert report["share_on_time"] == 0.0


def test_a_cooperating_pair_counts_once_in_the_province_and_once_per_side(platform):
    code = run_scenario(platform, _scenario("budget-unit-code", "approve-and-sign", steps=1))
    with platform.db.read() as session:
        assert session.execute(select(Dossier.id).where(Dossier.parent_id.is_not(None))).scalar()
    assert stats.indicators(platform, **DECEMBER)["received"] == 1
    assert stats.indicators(platform, **DECEMBER, agency_code=PROVINCE)["received"] == 1
    assert stats.indicators(platform, **DECEMBER, agency_code=DISTRICT_FINANCE)["received"] == 1
    assert stats.indicators(platform, **DECEMBER, agency_code=FINANCE)["received"] == 1
    assert code


def test_a_dossier_received_before_the_period_and_processed_in_it_counts(platform):
    clock.travel_to(at(2026, 11, 27, 9, 0))
    code = submit(platform)
    clock.travel_to(at(2026, 12, 2, 10, 0))
    tasks.complete(platform, accounts.find_user(platform, "motcua"), reception_task(platform, code),
                   {"reception_decision": "refuse", "reason": "Chưa đủ điều kiện."})
    report = stats.indicators(platform, **DECEMBER)
    assert (report["received"], report["carried_over"], report["processed"]) == (1, 1, 1)
    assert stats.indicators(platform, start=date(2026, 11, 1), end=date(2026, 11, 30))[
        "in_progress"] == 1  # in November it was still open at the month's end


def test_bad_periods_and_unknown_agencies_are_refused(platform):
    with pytest.raises(InvalidData) as bad:
        stats.indicators(platform, start=date(2026, 12, 31), end=date(2026, 12, 1))
    assert "trước ngày bắt đầu" in bad.value.vi
    with pytest.raises(NotFound):
        stats.indicators(platform, **DECEMBER, agency_code="000.99.99.H56")
    with pytest.raises(NotFound):
        stats.indicators(platform, **DECEMBER, procedure_code="no-such-procedure")


# -- every indicator over rows built by hand -----------------------------------------------

class Rows:
    """Dossier rows with exactly the facts statistics read (no workflow behind them)."""

    def __init__(self, p):
        self.p = p
        with p.db.read() as session:
            self.agency = dict(session.execute(select(Agency.code, Agency.id)).all())
            self.procedure = {r.code: (r.id, r.active_version_id)
                              for r in session.execute(select(Procedure)).scalars()}
            self.user = session.execute(select(User.id).where(User.username == "congdan")).scalar()

    def add(self, received, due, finished=None, *, status="processed", channel="online",
            procedure="transport-business-licence", agency=TRANSPORT, apology_due=None,
            supplements=0, paused=0, parent=None, result=False, upload=False, paid=False,
            rating=None) -> int:
        procedure_id, version_id = self.procedure[procedure]
        with self.p.db.transaction() as session:
            d = Dossier(code=str(uuid.uuid4())[:20], procedure_id=procedure_id, version_id=version_id,
                        agency_id=self.agency[agency], applicant_id=self.user, status=status,
                        channel=channel, received_at=received, due_at=apology_due or due,
                        original_due_at=due, finished_at=finished, parent_id=parent,
                        supplement_count=supplements, paused_working_days=paused)
            session.add(d)
            session.flush()
            docs = [("slip-01", "generated", 1)] + ([("licence", "generated", 2)] if result else []) \
                + ([("scan", "upload", 0)] if upload else [])
            for name, kind, signatures in docs:
                session.add(Document(dossier_id=d.id, name=name, kind=kind, filename=f"{name}.pdf",
                                     media_type="application/pdf", size=1, sha256="0" * 64,
                                     storage_key=f"k/{uuid.uuid4()}", signatures=signatures))
            if paid:
                session.add(Payment(dossier_id=d.id, txn_ref=str(uuid.uuid4())[:30], amount=50000,
                                    status="paid", provider="vnpay", paid_at=finished))
            if rating:
                session.add(Rating(dossier_id=d.id, user_id=self.user, scores={"overall": rating}))
            return d.id


@pytest.fixture
def december(platform):
    """Thirteen dossiers in the province's December 2026 (and two outside it), by letter:

    ====  =======  ===========  ============  ==================  ===============================
    row   channel  received     appointment   finished            why it is here
    ====  =======  ===========  ============  ==================  ===============================
    A     online   Tue 1/12     8/12 17:00    4/12 processed      early, e-result, satisfied
    B     counter  2/12         9/12 17:00    9/12 15:00 returned on the day, paper, scanned
    C     post     3/12         10/12 17:00   14/12 processed     late, e-result, dissatisfied
    D     online   7/12         14/12 17:00   16/12 processed     late although the apology
                                (apology 18/12)                   moved it to 18/12
    E     online   8/12         17/12 17:00   17/12 09:00 refused one supplement (paused 2)
    F     online   9/12         22/12 17:00   15/12 processed     two supplements: late
    G     online   25/11        2/12 17:00    2/12 10:00          carried over, on the day
    H     counter  28/12        5/1 17:00     —                   in progress, on time
    I     online   10/12        17/12 17:00   —                   in progress, late
    J     online   14/12        16/12 17:00   16/12 15:00         district side of a pair
    J'    online   14/12        16/12 17:00   16/12 14:00         its Department side
    K     online   11/12        18/12         12/12 withdrawn     neither on time nor late
    M1    online   Mon 21/12    23/12 17:00   Tue 22/12 proc.     badge, fee paid online, early
    M2    counter  Tue 22/12    24/12 17:00   Thu 24/12 returned  badge, fee not paid online
    ====  =======  ===========  ============  ==================  ===============================
    """
    rows = Rows(platform)
    rows.add(at(2026, 12, 1, 9), at(2026, 12, 8, 17), at(2026, 12, 4, 10), result=True,
             rating="satisfied")
    rows.add(at(2026, 12, 2, 9), at(2026, 12, 9, 17), at(2026, 12, 9, 15), status="returned",
             channel="counter", upload=True)
    rows.add(at(2026, 12, 3, 9), at(2026, 12, 10, 17), at(2026, 12, 14, 10), channel="post",
             result=True, rating="dissatisfied")
    rows.add(at(2026, 12, 7, 9), at(2026, 12, 14, 17), at(2026, 12, 16, 10),
             apology_due=at(2026, 12, 18, 17), result=True)
    rows.add(at(2026, 12, 8, 9), at(2026, 12, 17, 17), at(2026, 12, 17, 9), status="refused",
             supplements=1, paused=2)
    rows.add(at(2026, 12, 9, 9), at(2026, 12, 22, 17), at(2026, 12, 15, 10), supplements=2,
             result=True)
    rows.add(at(2026, 11, 25, 9), at(2026, 12, 2, 17), at(2026, 12, 2, 10), result=True)
    rows.add(at(2026, 12, 28, 9), at(2027, 1, 5, 17), status="accepted", channel="counter")
    rows.add(at(2026, 12, 10, 9), at(2026, 12, 17, 17), status="in_progress")
    parent = rows.add(at(2026, 12, 14, 9), at(2026, 12, 16, 17), at(2026, 12, 16, 15),
                      procedure="budget-unit-code", agency=DISTRICT_FINANCE, result=True)
    rows.add(at(2026, 12, 14, 9, 5), at(2026, 12, 16, 17), at(2026, 12, 16, 14),
             procedure="budget-unit-code", agency=FINANCE, parent=parent, result=True)
    rows.add(at(2026, 12, 11, 9), at(2026, 12, 18, 17), at(2026, 12, 12, 9), status="withdrawn")
    rows.add(at(2026, 12, 21, 9), at(2026, 12, 23, 17), at(2026, 12, 22, 10),
             procedure="vehicle-badge", result=True, paid=True)
    rows.add(at(2026, 12, 22, 9), at(2026, 12, 24, 17), at(2026, 12, 24, 10), status="returned",
             procedure="vehicle-badge", channel="counter", upload=True)
    rows.add(at(2026, 11, 2, 9), at(2026, 11, 9, 17), at(2026, 11, 20, 9))  # before December
    rows.add(at(2027, 1, 4, 9), at(2027, 1, 11, 17))  # after it
    clock.travel_to(at(2027, 1, 6, 9))
    return platform


def test_province_figures_by_the_national_definitions(december):
    r = stats.indicators(december, **DECEMBER)
    # Everything but J' (its pair counts once) and the two outside December.
    assert (r["received"], r["carried_over"]) == (13, 1)
    assert r["by_channel"] == {"online": 9, "counter": 3, "post": 1}
    # Processed: A B C D E F G J M1 M2. Early: A, M1. Late: C, D (apology ignored), F (two
    # supplements). In progress at the end: H on time, I late. K withdrawn: in neither.
    assert (r["processed"], r["processed_early"], r["processed_on_time"], r["processed_late"]) \
        == (10, 2, 5, 3)
    assert (r["in_progress"], r["in_progress_on_time"], r["in_progress_late"]) == (2, 1, 1)
    assert (r["on_time"], r["late"], r["late_by_supplements"]) == (8, 4, 1)
    assert r["share_on_time"] == round(8 / 12, 4)
    # Results issued: the processed but E (refused) = 9; electronic: A C D F G J M1 = 7.
    assert (r["results"], r["electronic_results"]) == (9, 7)
    # Online = filed online and an electronic result: A D F G J M1 = 6 of 13.
    assert (r["online_with_electronic_result"], r["share_online"]) == (6, round(6 / 13, 4))
    assert (r["with_fee"], r["paid_online"], r["share_paid_online"]) == (2, 1, 0.5)
    assert r["digitised"] == 2
    # (12 judged − 1 dissatisfied − 0 complaints − 4 late) ÷ 12.
    assert r["share_satisfied"] == round(7 / 12, 4) and r["complaints"] is None


def test_each_agency_counts_its_own_side_of_a_pair(december):
    assert stats.indicators(december, **DECEMBER, agency_code=TRANSPORT)["received"] == 12
    assert stats.indicators(december, **DECEMBER, agency_code=FINANCE)["received"] == 1
    assert stats.indicators(december, **DECEMBER, agency_code=DISTRICT_FINANCE)["received"] == 1
    assert stats.indicators(december, **DECEMBER, agency_code=PROVINCE)["received"] == 13
    assert stats.indicators(december, **DECEMBER, agency_code=PROVINCE,
                            with_sub_agencies=False)["received"] == 0


def test_a_procedure_average_time_and_scorecard(december):
    r = stats.indicators(december, **DECEMBER, procedure_code="vehicle-badge")
    # M1 Mon 21 → Tue 22: 1 working day; M2 Tue 22 → Thu 24: 2. Deadline 2 working days.
    assert r["average_processing_time"] == {"vehicle-badge": {
        "average": 1.5, "unit": "working_days", "deadline": 2, "processed": 2}}
    assert r["scorecard"]["progress"] == 20  # all on time, average within the deadline
    detail = {i["indicator"]: i for g in r["scorecard_detail"] for i in g["indicators"]}
    assert detail["published"]["points"] is None and detail["published"]["unknown"]  # not 0
    # no record has reached the national portal yet (no worker ran): known, and nothing
    assert (detail["synced"]["value"], detail["synced"]["points"]) == (0.0, 0.0)
    assert r["scorecard"]["transparency"] == 0.0
    assert detail["paid_online"]["value"] == 0.5 and detail["paid_online"]["confirmed"] is False
    # 0.5 paid online under a threshold of 0.8 earns 0.5 × 5 ÷ 0.8.
    assert detail["paid_online"]["points"] == round(0.5 * 5 / 0.8, 2)


def test_an_administrator_changes_a_threshold(december):
    before = stats.indicators(december, **DECEMBER)["scorecard_detail"]
    on_time = next(i for g in before for i in g["indicators"] if i["indicator"] == "on_time")
    assert on_time["points"] == round(8 / 12 * 14, 2)
    scorecard.set_rule(december, "on_time", points=14, threshold=0.6, confirmed=True, actor="quantri")
    after = stats.indicators(december, **DECEMBER)["scorecard_detail"]
    on_time = next(i for g in after for i in g["indicators"] if i["indicator"] == "on_time")
    assert (on_time["points"], on_time["confirmed"]) == (14, True)
    with pytest.raises(InvalidData):
        scorecard.set_rule(december, "on_time", points=14, threshold=1.5)


def test_a_dossier_the_national_portal_answered_counts_as_synchronised(platform):
    clock.travel_to(at(2026, 12, 7, 9, 0))
    first, second = submit(platform), submit(platform)
    assert stats.indicators(platform, **DECEMBER)["synchronised"] == 0
    worker.tick(platform)  # sends both records; the portal's stand-in answers each
    with platform.db.read() as session:
        answered = session.execute(select(Dossier.code).where(
            Dossier.national_code.is_not(None))).scalars().all()
    assert sorted(answered) == sorted([first, second])
    report = stats.indicators(platform, **DECEMBER)
    assert (report["synchronised"], report["share_synchronised"]) == (2, 1.0)
    detail = {i["indicator"]: i for g in report["scorecard_detail"] for i in g["indicators"]}
    assert detail["synced"]["points"] == detail["synced"]["max_points"]


def _offer_at_level(p, levels: dict[str, int]) -> None:
    """Change the level in the active version's meta of each procedure in ``levels``."""
    with p.db.transaction() as session:
        for code, level in levels.items():
            procedure = session.execute(select(Procedure).where(Procedure.code == code)).scalar_one()
            version = session.get(ProcedureVersion, procedure.active_version_id)
            version.meta = {**version.meta, "level": level}


def test_procedures_offered_and_payable_online_and_what_cannot_be_known(december):
    """Investment codes offered at level 2 (information only), badges at level 3 (filed
    online, the fee paid at the desk): 3 of the 4 procedures online, the one with a fee not
    payable online. Re-use of the citizen's data store is unknown, not 0."""
    _offer_at_level(december, {"investment-project-code": 2, "vehicle-badge": 3})
    r = stats.indicators(december, **DECEMBER)
    assert r["procedures"] == {"total": 4, "online": 3, "share_online": 0.75, "with_fee": 1,
                               "payable_online": 0, "share_payable_online": 0.0}
    assert r["share_by_channel"] == {"online": round(9 / 13, 4), "counter": round(3 / 13, 4),
                                     "post": round(1 / 13, 4)}
    detail = {i["indicator"]: i for g in r["scorecard_detail"] for i in g["indicators"]}
    assert detail["procedures_online"]["points"] == round(0.75 * 6 / 0.8, 2)
    assert (detail["procedures_payable"]["value"], detail["procedures_payable"]["points"]) == (0.0, 0.0)
    # Filed online 9 of 13 (≥ 0.5): full points.
    assert detail["filed_online"]["points"] == detail["filed_online"]["max_points"] == 6
    assert detail["reused"]["value"] is None and detail["reused"]["points"] is None
    assert "not recorded" in detail["reused"]["unknown"]
    groups = {g["group"]: g for g in r["scorecard_detail"]}
    # Digitisation is scored from what is known (results, scans), out of those 15 points.
    assert groups["digitisation"]["max_known"] == 15 and groups["digitisation"]["points"] is not None
    # The Department of Transport offers the licence (level 4) and the badge (level 3).
    transport = stats.indicators(december, **DECEMBER, agency_code=TRANSPORT)["procedures"]
    assert (transport["total"], transport["online"], transport["payable_online"]) == (2, 2, 0)


def test_an_average_in_hours_leaves_the_stopped_clock_out(december):
    """Badges counted in hours (48): M1 Mon 21/12 09:00 → Tue 22/12 10:00 is 25 hours, less
    a 5-hour supplement pause = 20; M2 Tue 22/12 09:00 → Thu 24/12 10:00 is 49. Average 34.5,
    within the 48 hours."""
    with december.db.transaction() as session:
        procedure = session.execute(select(Procedure).where(
            Procedure.code == "vehicle-badge")).scalar_one()
        version = session.get(ProcedureVersion, procedure.active_version_id)
        version.meta = {**version.meta, "deadline": {"value": 48, "unit": "hours"}}
        m1 = session.execute(select(Dossier.id).where(Dossier.procedure_id == procedure.id,
                                                      Dossier.channel == "online")).scalar_one()
        session.add(ClockStop(dossier_id=m1, started_at=at(2026, 12, 21, 11),
                              ended_at=at(2026, 12, 21, 16)))
    r = stats.indicators(december, **DECEMBER, procedure_code="vehicle-badge")
    assert r["average_processing_time"] == {"vehicle-badge": {
        "average": 34.5, "unit": "hours", "deadline": 48, "processed": 2}}
    assert r["average_processing_working_days"] is None  # no procedure counted in working days
    detail = {i["indicator"]: i for g in r["scorecard_detail"] for i in g["indicators"]}
    assert detail["processing_time"]["value"] == 1.0
