"""The demo history: its length, how a scenario's application is made each dossier's own,
a fee payable online paid at the stand-in gateway, and a short run through the engine."""

from __future__ import annotations

import random
import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from engine import clock, history, payments, stats, worker
from engine.models import AuditEvent, Dossier
from engine.payment_models import Payment
from tests.scenario import run_scenario

REPO = Path(__file__).resolve().parents[2]


def test_the_length_is_months():
    assert history.parse_months("6m") == history.parse_months("6") == 6
    for bad in ("", "0m", "25m", "six", "6w"):
        with pytest.raises(ValueError):
            history.parse_months(bad)


def test_an_application_is_varied_within_its_form():
    form = {"properties": {
        "plate": {"type": "string", "pattern": r"^\d{2}[A-Z]-\d{3}\.\d{2}$"},
        "unit_name": {"type": "string"}, "phone": {"type": "string"},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "decided_on": {"type": "string", "format": "date"}}}
    data = {"plate": "36B-123.45", "unit_name": "Trường Tiểu học Điện Biên", "phone": "0912345678",
            "kind": "a", "decided_on": "2026-09-01"}
    varied = history.vary(form, data, random.Random(1), 41)
    assert re.search(form["properties"]["plate"]["pattern"], varied["plate"])
    assert varied["plate"].endswith("5")  # the last digit stays (stand-in providers read it)
    assert varied["unit_name"] == "Trường Tiểu học Điện Biên 42"
    assert {k: varied[k] for k in ("phone", "kind", "decided_on")} == {
        "phone": "0912345678", "kind": "a", "decided_on": "2026-09-01"}


def _status(p, code: str) -> str:
    with p.db.read() as session:
        return session.execute(select(Dossier.status).where(Dossier.code == code)).scalar_one()


def test_a_fee_payable_online_is_paid_at_the_stand_in_and_releases_the_result(platform):
    """The vehicle badge waits for its fee once signed; the history pays it as the
    stand-in's Pay button would, and the diagram gives the result."""
    scenario = yaml.safe_load((REPO / "bpmn" / "vehicle-badge" / "scenarios" /
                               "approve-and-sign.yaml").read_text("utf-8"))
    code = run_scenario(platform, scenario)
    assert _status(platform, code) == "approved" and history.fee_due(platform, code)
    assert history.pay_at_stand_in(platform, code)
    worker.tick(platform)  # delivers payment_confirmed
    assert _status(platform, code) == "processed" and not history.fee_due(platform, code)
    with platform.db.read() as session:
        paid = session.execute(select(Payment.status, Payment.amount).join(Dossier).where(
            Dossier.code == code)).all()
    assert [tuple(row) for row in paid] == [("paid", 50000)]


def test_nothing_is_paid_at_a_real_gateway(platform):
    scenario = yaml.safe_load((REPO / "bpmn" / "vehicle-badge" / "scenarios" /
                               "approve-and-sign.yaml").read_text("utf-8"))
    code = run_scenario(platform, scenario)
    platform.settings.vnpay_url = "https://pay.vnpay.vn/vpcpay.html"
    platform.settings.vnpay_tmn_code, platform.settings.vnpay_hash_secret = "REAL0001", "s" * 32
    assert not payments.sandbox_enabled(platform)
    assert history.pay_at_stand_in(platform, code) is False
    with platform.db.read() as session:
        assert session.execute(select(func.count()).select_from(Payment)).scalar() == 0
    assert _status(platform, code) == "approved"


def test_a_short_history_runs_once_through_the_engine(platform):
    clock.travel_to(datetime(2026, 12, 21, 8, 0, tzinfo=clock.VIETNAM))
    seen = []
    tally = history.run(platform, months=1, per_working_day=0.5, seed=9,
                        progress=lambda done, total: seen.append((done, total)))
    assert tally.dossiers >= 3 and tally.failed == 0, tally.errors
    assert sum(tally.by_channel.values()) == tally.dossiers
    assert seen and seen[-1][0] == seen[-1][1] == tally.dossiers  # the progress bar's last
    with platform.db.read() as session:
        started = session.execute(select(Dossier).where(Dossier.parent_id.is_(None))).scalars().all()
        marked = session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "demo_history")).scalar()
    assert len(started) == marked == tally.dossiers
    assert all(d.data.get("_demo") for d in started)  # marked as demo data
    assert {d.received_at.astimezone(clock.VIETNAM).month for d in started} == {12}
    report = stats.indicators(platform, start=datetime(2026, 12, 1).date(),
                              end=datetime(2026, 12, 21).date())
    assert report["received"] == tally.dossiers and report["processed"] >= 1
    # Run again: the history is there already, nothing more is made.
    assert history.run(platform, months=1, per_working_day=0.5).dossiers == 0
