"""Withdrawing a dossier (rút hồ sơ) from the portal and the API, stopping it (dừng xử lý)
from the workspace: buttons shown to the right people, confirmations, kept input, 409s."""

# The tests take the portal fixtures imported from test_pages as parameters.
# ruff: noqa: F811

from __future__ import annotations

import re

from tests.web.test_pages import (  # noqa: F401  (fixtures)
    app,
    auth,
    client,
    submit_application,
    text,
)

REASON = "Doanh nghiệp thay đổi phương án kinh doanh."


def withdraw_form(html: str) -> bool:
    return bool(re.search(r'action="/ho-so/[^"]+/rut-ho-so"', html))


def stop_form(html: str) -> bool:
    return bool(re.search(r'action="/workspace/ho-so/[^"]+/dung-xu-ly"', html))


def test_the_applicant_withdraws_from_the_dossier_page(auth):
    auth.login("doanhnghiep")
    code = submit_application(auth)
    page = f"/ho-so/{code}"
    html = text(auth.client.get(page))
    assert withdraw_form(html) and not stop_form(html)
    assert "Lý do rút hồ sơ" in html and f"Tôi xác nhận rút hồ sơ {code}." in html

    # Without the ticked confirmation: the form opens again with the reason kept.
    refused = auth.post(f"{page}/rut-ho-so", {"reason": REASON}, page=page)
    assert refused.status_code == 422
    html = text(refused)
    assert "Hãy đánh dấu ô xác nhận." in html and f">{REASON}</textarea>" in html
    assert "<details open>" in html

    # Without a reason: the same, with the engine's message.
    refused = auth.post(f"{page}/rut-ho-so", {"reason": "  ", "confirm": "yes"}, page=page)
    assert refused.status_code == 422 and "Hãy nêu lý do." in text(refused)
    assert "Mới nộp" in text(auth.client.get(page))  # nothing changed

    done = auth.post(f"{page}/rut-ho-so", {"reason": REASON, "confirm": "yes"}, page=page,
                     follow_redirects=True)
    html = text(done)
    assert done.status_code == 200 and done.request.path == page
    assert f"Đã rút hồ sơ {code}. Các bước đang xử lý đã được hủy." in html
    assert "Đã rút hồ sơ" in html and f"Lý do: {REASON}" in html
    assert not withdraw_form(html)
    assert "Bước đang thực hiện" not in html  # the reception step is gone

    # A second withdrawal (an old tab): back to the page with why.
    again = auth.post(f"{page}/rut-ho-so", {"reason": REASON, "confirm": "yes"}, page="/",
                      follow_redirects=True)
    assert "đã kết thúc (Đã rút hồ sơ)" in text(again)

    # Reception no longer has the dossier in its inbox.
    auth.logout()
    auth.login("motcua")
    assert code not in text(auth.client.get("/workspace/"))


def test_the_head_stops_processing_from_the_dossier_page(auth):
    auth.login("doanhnghiep")
    code = submit_application(auth)
    page = f"/ho-so/{code}"
    auth.logout()

    auth.login("chuyenvien")  # a handler sees the dossier but may not stop it
    html = text(auth.client.get(page))
    assert not stop_form(html) and not withdraw_form(html)
    forbidden = auth.post(f"/workspace/ho-so/{code}/dung-xu-ly",
                          {"reason": "Dừng", "confirm": "yes"}, page=page)
    assert forbidden.status_code == 403
    auth.logout()

    auth.login("lanhdao")
    assert stop_form(text(auth.client.get(page)))
    done = auth.post(f"/workspace/ho-so/{code}/dung-xu-ly",
                     {"reason": "Doanh nghiệp đang bị thanh tra.", "confirm": "yes"},
                     page=page, follow_redirects=True)
    html = text(done)
    assert f"Đã dừng xử lý hồ sơ {code} và thông báo cho người nộp." in html
    assert "Cơ quan giải quyết đã dừng xử lý hồ sơ." in html and not stop_form(html)
    auth.logout()

    auth.login("doanhnghiep")
    html = text(auth.client.get(page))
    assert "Dừng xử lý" in html and "Lý do: Doanh nghiệp đang bị thanh tra." in html
    assert not withdraw_form(html)


def test_a_form_without_its_csrf_token_is_refused(auth):
    auth.login("doanhnghiep")
    code = submit_application(auth)
    response = auth.client.post(f"/ho-so/{code}/rut-ho-so",
                                data={"reason": REASON, "confirm": "yes"})
    assert response.status_code == 400
    assert "Mới nộp" in text(auth.client.get(f"/ho-so/{code}"))


def test_withdraw_through_the_api(client, auth):
    auth.login("doanhnghiep")
    code = submit_application(auth)

    def token(username: str) -> dict:
        response = client.post("/api/v1/auth/token", json={"username": username,
                                                           "password": "demo"})
        return {"Authorization": f"Bearer {response.json['token']}"}

    url = f"/api/v1/dossiers/{code}/withdraw"
    assert client.post(url, json={"reason": REASON}).status_code == 401
    assert client.post(url, json={"reason": REASON}, headers=token("congdan")).status_code == 404
    assert client.post(url, json={"reason": REASON}, headers=token("motcua")).status_code == 403
    blank = client.post(url, json={}, headers=token("doanhnghiep"))
    assert blank.status_code == 422 and blank.json["details"][0]["field"] == "reason"
    assert client.post(url, json={"reason": 3}, headers=token("doanhnghiep")).status_code == 400

    done = client.post(url, json={"reason": REASON}, headers=token("doanhnghiep"))
    assert done.status_code == 200
    assert (done.json["code"], done.json["status"]) == (code, "withdrawn")
    assert done.json["finished_at"]
    again = client.post(url, json={"reason": REASON}, headers=token("doanhnghiep"))
    assert again.status_code == 409 and again.json["error"] == "Conflict"
    assert "Đã rút hồ sơ" in again.json["message_vi"]

    stop = client.post(f"/api/v1/dossiers/{code}/stop", json={"reason": "Dừng"},
                       headers=token("lanhdao"))
    assert stop.status_code == 409

    spec = client.get("/api/v1/openapi.json").json
    assert spec["paths"]["/dossiers/{code}/withdraw"]["post"]["operationId"] == \
        "withdrawDossier"
