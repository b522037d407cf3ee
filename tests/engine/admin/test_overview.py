"""The administrator's start page (engine/admin/overview.py): how many of each thing."""

from sqlalchemy import func, select

from engine.admin.agencies import save_agency
from engine.admin.overview import counts
from engine.models import Agency, Procedure


def test_the_counts_follow_what_is_added(platform):
    before = counts(platform)
    with platform.db.read() as session:
        assert before["agencies"] == session.scalar(select(func.count()).select_from(Agency))
        assert before["procedures"] == session.scalar(select(func.count()).select_from(Procedure))
    assert before["users"] > 0 and before["roles"] > 0
    save_agency(platform, {"code": "000.00.90.H56", "name_vi": "Sở Thử nghiệm",
                           "kind": "department"}, actor="quantri")
    assert counts(platform) == {**before, "agencies": before["agencies"] + 1}
