"""Searching an agency's dossiers (engine.dossier_search): whose, in which order, a page at
a time, by text and status."""

from __future__ import annotations

import pytest

from engine import dossier_search
from engine.errors import InvalidData
from tests.engine.factories import submit
from tests.scenario import user


def codes(page):
    return [d["code"] for d in page.dossiers]


def test_officers_find_their_agencys_dossiers_newest_first(platform):
    firm = [submit(platform) for _ in range(3)]
    citizen = submit(platform, username="congdan")
    officer = user(platform, "chuyenvien")
    newest_first = [citizen, *reversed(firm)]

    def every_page(limit, **filters):
        found, after = [], None
        while True:
            page = dossier_search.search_dossiers(platform, officer, after=after, limit=limit,
                                                  **filters)
            assert len(page.dossiers) <= limit
            found += codes(page)
            if page.next is None:
                return found
            after = page.next

    assert every_page(50) == every_page(1) == newest_first
    assert every_page(2, search=citizen[-4:]) == [citizen]
    assert every_page(2, search=user(platform, "congdan").full_name.upper()) == [citizen]
    assert every_page(2, search="GIẤY PHÉP") == newest_first  # the procedure's name
    assert every_page(2, search="%") == []
    assert every_page(2, status="submitted") == newest_first
    assert every_page(2, status="returned") == []
    [row] = dossier_search.search_dossiers(platform, officer, search=citizen).dossiers
    assert row["applicant_name"] == user(platform, "congdan").full_name
    assert row["procedure"]["name_vi"] and row["status_vi"] == "Mới nộp"
    # another agency's officers, and citizens, find none of them
    assert codes(dossier_search.search_dossiers(platform, user(platform, "phongtc"))) == []
    assert codes(dossier_search.search_dossiers(platform, user(platform, "congdan"))) == []


def test_bad_filters_are_refused(platform):
    officer = user(platform, "chuyenvien")
    for kwargs, field in (({"status": "lost"}, "status"), ({"after": "nonsense"}, "after"),
                          ({"limit": 0}, "limit"), ({"search": "x" * 101}, "q")):
        with pytest.raises(InvalidData) as err:
            dossier_search.search_dossiers(platform, officer, **kwargs)
        assert err.value.details[0]["field"] == field
