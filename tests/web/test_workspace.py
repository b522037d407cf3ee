"""The officers' workspace pages: the agency's dossier search, the inbox's filters kept in
its links and its colours, the reception checklist, and no text of the other language."""

# The tests take the portal fixtures imported from test_pages as parameters.
# ruff: noqa: F811

from __future__ import annotations

import re

import pytest

from tests.web.test_pages import (  # noqa: F401  (fixtures)
    app,
    auth,
    client,
    submit_application,
    task_id_for,
    text,
)


def test_officers_search_their_agencys_dossiers_and_citizens_may_not(auth, client):
    auth.login()
    first, second = submit_application(auth), submit_application(auth)
    assert client.get("/workspace/ho-so-co-quan").status_code == 403
    auth.logout()
    auth.login("chuyenvien")
    html = text(client.get("/workspace/ho-so-co-quan"))
    assert html.index(second) < html.index(first)  # newest first
    html = text(client.get(f"/workspace/ho-so-co-quan?q={first}"))
    assert first in html and second not in html
    assert "Không có hồ sơ nào khớp" in text(client.get("/workspace/ho-so-co-quan?q=zzz"))
    response = client.get("/workspace/ho-so-co-quan?q=" + "x" * 101)
    assert response.status_code == 422 and "tối đa 100 ký tự" in text(response)
    english = text(client.get("/workspace/ho-so-co-quan?lang=en"))
    assert "Find the agency&#39;s dossiers" in english or "Find the agency's dossiers" in english


def test_inbox_filters_stay_in_the_page_links_and_bad_values_are_ignored(auth, client, app):
    from tests.engine.factories import TaskRows

    auth.login()
    code = submit_application(auth)
    auth.logout()
    rows = TaskRows(app.extensions["motcua"])
    for d in range(52):
        rows.add(code, role="reception", due=-1 - d / 10)
    auth.login("motcua")
    html = text(client.get("/workspace/?due=overdue&show=waiting&q=H56"))
    assert 'id="mine-heading"' not in html and 'id="waiting-heading"' in html
    [next_page] = re.findall(r'<a href="([^"]+)" rel="next">', html)
    assert "due=overdue" in next_page and "show=waiting" in next_page and "q=H56" in next_page
    assert 'value="overdue" selected' in html and "Bỏ lọc" in html
    html = text(client.get("/workspace/?due=someday&show=everything"))
    assert 'id="mine-heading"' in html and "Bỏ lọc" not in html


def test_reception_sees_the_required_documents_with_their_files(auth, client):
    auth.login()
    code = submit_application(auth)
    auth.logout()
    auth.login("motcua")
    html = text(client.get(f"/workspace/tasks/{task_id_for(auth, code)}"))
    checklist = html.split('id="checklist-heading"')[1].split("</section>")[0]
    assert '<span class="count">4/4</span>' in checklist
    assert checklist.count("checklist-item--held") == 4
    assert "Giấy đề nghị cấp Giấy phép kinh doanh vận tải" in checklist


def test_a_due_today_step_and_an_overdue_one_have_their_colours(auth, client, app):
    from datetime import datetime

    from engine import clock
    from tests.engine.factories import TaskRows

    clock.travel_to(datetime(2026, 12, 7, 8, 0, tzinfo=clock.VIETNAM))  # a Monday morning
    auth.login()
    code = submit_application(auth)
    auth.logout()
    rows = TaskRows(app.extensions["motcua"])
    today = rows.add(code, role="reception", due=6 / 24)  # at two in the afternoon
    late = rows.add(code, role="reception", due=-1 / 24)
    later = rows.add(code, role="reception", due=2)
    auth.login("motcua")
    html = text(client.get("/workspace/"))

    def row_class(task_id: int) -> str:
        rows = re.findall(r'<tr class="([^"]*)">(?:(?!</tr>).)*?/workspace/tasks/(\d+)"', html,
                          re.S)
        return {int(i): c for c, i in rows}[task_id]

    assert row_class(today) == "row--today" and row_class(late) == "row--overdue"
    assert row_class(later) == ""
    assert "Đến hạn hôm nay" in html  # the legend says what the colours mean


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_catalogue_string_is_left_in_the_other_language_on_officers_pages(auth, client,
                                                                             lang):
    """The officers' pages (inbox, reception with its checklist, the handler's signing step
    with its preview, the head's signing step with the earlier steps, the agency's search,
    the staff's dossier page) in one language show no catalogue text of the other."""
    from tests.web.test_citizen_pages import translations, visible_text
    from tests.web.test_pages import complete, to_the_handlers_signature

    code, sign_task = to_the_handlers_signature(auth, "GP-56-0009")
    shown = []

    def read(*urls: str) -> None:
        client.get(f"/?lang={lang}")
        shown.extend(visible_text(text(client.get(url))) for url in urls)

    read("/workspace/", f"/workspace/tasks/{sign_task}", "/workspace/ho-so-co-quan",
         f"/workspace/ho-so-co-quan?q={code}", f"/ho-so/{code}")
    assert complete(auth, sign_task, {"confirm": "true", "passphrase": "demo"}).status_code == 302
    auth.logout()
    auth.login("lanhdao")
    read(f"/workspace/tasks/{task_id_for(auth, code)}")
    auth.logout()
    auth.login()
    other = submit_application(auth)
    auth.logout()
    auth.login("motcua")
    read("/workspace/", f"/workspace/tasks/{task_id_for(auth, other)}")
    page = " ".join(shown)
    assert page.count(code) >= 5 and "4/4" in page and "GP-56-0009" in page
    left = sorted({(vi if lang == "en" else en) for vi, en in translations()
                   if (vi if lang == "en" else en) in page})
    assert left == []
