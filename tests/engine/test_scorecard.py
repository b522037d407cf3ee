"""The Decision 766 scorecard's rules (engine/scorecard.py): points for a share against the
indicator's threshold, and the rules an administrator changes over the defaults."""

import pytest

from engine import scorecard
from engine.errors import InvalidData


def test_points_are_full_at_the_threshold_and_in_proportion_below_it():
    assert scorecard.points_for(0.95, 2.0, 0.9) == 2.0
    assert scorecard.points_for(0.9, 2.0, 0.9) == 2.0
    assert scorecard.points_for(0.45, 2.0, 0.9) == 1.0
    assert scorecard.points_for(0.0, 2.0, 0.9) == 0.0
    assert scorecard.points_for(None, 2.0, 0.9) is None  # no data: no points, not zero


def test_an_administrator_changes_a_rule_over_the_default_and_confirms_it(platform):
    key = scorecard.INDICATORS[0].key
    default = scorecard.rules(platform)[key]
    assert default["confirmed"] is False
    scorecard.set_rule(platform, key, points=default["points"] + 1, threshold=0.5,
                       confirmed=True, note="Quyết định 766/QĐ-TTg, Phụ lục", actor="quantri")
    changed = scorecard.rules(platform)[key]
    assert changed == {"points": default["points"] + 1, "threshold": 0.5, "confirmed": True}
    others = [i.key for i in scorecard.INDICATORS[1:]]
    assert all(not scorecard.rules(platform)[k]["confirmed"] for k in others)


@pytest.mark.parametrize("indicator, points, threshold", [
    ("no_such_indicator", 1.0, 0.5), (None, -1.0, 0.5), (None, 1.0, 0.0), (None, 1.0, 1.5)])
def test_unknown_indicators_and_impossible_values_are_refused(platform, indicator, points,
                                                              threshold):
    key = indicator or scorecard.INDICATORS[0].key
    before = scorecard.rules(platform)
    with pytest.raises(InvalidData):
        scorecard.set_rule(platform, key, points=points, threshold=threshold)
    assert scorecard.rules(platform) == before
