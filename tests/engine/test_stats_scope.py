"""Who may read which statistics (:mod:`engine.stats_scope`), with the demo's officers and
the province's agency tree."""

from __future__ import annotations

import pytest

from engine import accounts, stats_scope
from engine.errors import PermissionDenied

PROVINCE, FINANCE, TRANSPORT = "000.00.00.H56", "000.00.13.H56", "000.00.14.H56"
DISTRICT, DISTRICT_FINANCE = "000.00.20.H56", "000.10.20.H56"


def user(platform, username):
    return accounts.find_user(platform, username)


def test_the_provinces_leader_reads_everything_and_starts_at_the_province(platform):
    leader = user(platform, "lanhdaotinh")
    assert stats_scope.resolve(platform, leader, None) == PROVINCE
    assert stats_scope.resolve(platform, leader, DISTRICT_FINANCE) == DISTRICT_FINANCE
    codes = {a["code"] for a in stats_scope.visible_agencies(platform, leader)}
    assert {PROVINCE, FINANCE, TRANSPORT, DISTRICT, DISTRICT_FINANCE} <= codes


def test_a_head_of_department_reads_their_own_department_only(platform):
    head = user(platform, "stc_lanhdao")
    assert stats_scope.resolve(platform, head, None) == FINANCE
    assert [a["code"] for a in stats_scope.visible_agencies(platform, head)] == [FINANCE]
    for other in (TRANSPORT, PROVINCE):
        with pytest.raises(PermissionDenied) as raised:
            stats_scope.resolve(platform, head, other)
        assert other in raised.value.message and other in raised.value.vi


def test_officers_without_a_statistics_role_and_applicants_read_none(platform):
    for username in ("motcua", "chuyenvien", "doanhnghiep"):
        person = user(platform, username)
        assert not stats_scope.may_read(person)
        assert stats_scope.visible_agencies(platform, person) == []
        with pytest.raises(PermissionDenied, match="leaders and heads"):
            stats_scope.resolve(platform, person, None)
    assert not stats_scope.may_read(None)
