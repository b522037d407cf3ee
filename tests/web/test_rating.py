"""The rating page: the applicant rates an ended dossier; an unfinished one says why."""

from __future__ import annotations

from engine import clock
from tests.engine.test_ratings import _codes
from tests.engine.test_stats import at
from tests.web.test_pages import app, auth, client, text  # noqa: F401  (fixtures)


def test_the_applicant_rates_on_the_page(platform, auth, client):  # noqa: F811
    done, running = _codes(platform)
    clock.travel_to(at(2026, 12, 5, 9))
    auth.login("congdan")
    url = f"/danh-gia/{done}"
    assert 'name="overall"' in text(client.get(url))
    answer = auth.post(url, {"overall": "satisfied", "timeliness": "dissatisfied"}, page=url)
    assert answer.status_code == 302
    assert "Bạn đã đánh giá hồ sơ này" in text(client.get(url))
    unfinished = auth.post(f"/danh-gia/{running}", {"overall": "satisfied"}, page=url)
    assert unfinished.status_code == 409 and "chưa giải quyết xong" in text(unfinished)
    auth.logout()
    assert client.get(url).status_code == 404  # nobody else reads or rates it
    assert 'name="overall"' in text(client.get(url, query_string={"id_number": "038190001234"}))
