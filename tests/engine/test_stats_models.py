"""The statistics tables (engine/stats_models.py): one rating per dossier, and scorecard
rules that start unconfirmed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import accounts
from engine.models import Dossier
from engine.stats_models import Rating, ScorecardRule
from tests.engine.factories import submit


def test_a_dossier_has_one_rating_given_online_by_default(platform):
    code = submit(platform)
    firm = accounts.find_user(platform, "doanhnghiep")
    with platform.db.transaction() as session:
        dossier_id = session.execute(select(Dossier.id).where(Dossier.code == code)).scalar()
        session.add(Rating(dossier_id=dossier_id, user_id=firm.id, scores={"time": 3}))
    with platform.db.read() as session:
        rating = session.get(Rating, dossier_id)
        assert (rating.place, rating.comment, rating.scores) == ("online", "", {"time": 3})
    with pytest.raises(IntegrityError), platform.db.transaction() as session:
        session.add(Rating(dossier_id=dossier_id, user_id=firm.id))
        session.flush()


def test_a_scorecard_rule_is_unconfirmed_until_someone_confirms_it(platform):
    with platform.db.transaction() as session:
        session.add(ScorecardRule(indicator="x", points=2.0, threshold=0.9))
    with platform.db.read() as session:
        rule = session.get(ScorecardRule, "x")
        assert (rule.confirmed, rule.updated_by, rule.note) == (False, "system", "")
