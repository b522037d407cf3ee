"""The officers' workspace pages: the agency's dossier search, the inbox's filters kept in
its links, the reception checklist, the signing form's pinned revision."""

# The tests take the portal fixtures imported from test_pages as parameters.
# ruff: noqa: F811

from __future__ import annotations

import re

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
