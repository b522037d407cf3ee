"""The apology and extension form (form 04) on the dossier page: offered to the handler and
the head of the dossier's agency only, refused with the reason and date kept, done with
the new appointment shown."""

# The tests take the portal fixtures imported from test_pages as parameters.
# ruff: noqa: F811

from __future__ import annotations

from tests.web.test_pages import (  # noqa: F401  (fixtures)
    app,
    auth,
    client,
    submit_application,
    text,
)

ACTION = "/xin-loi-gia-han"
REASON = "Cần xác minh thêm với Cục Đăng kiểm."


def test_the_head_apologises_and_extends_from_the_dossier_page(auth):
    auth.login("doanhnghiep")
    code = submit_application(auth)
    page = f"/ho-so/{code}"
    assert ACTION not in text(auth.client.get(page))  # not for the applicant
    auth.logout()
    auth.login("lanhdao")
    html = text(auth.client.get(page))
    assert f"/workspace/ho-so/{code}{ACTION}" in html and "Ngày hẹn trả kết quả mới" in html

    refused = auth.post(f"/workspace/ho-so/{code}{ACTION}",
                        {"reason": REASON, "new_date": "2099-13-45"}, page=page)
    html = text(refused)
    assert refused.status_code == 422 and "Hãy nhập ngày hẹn trả mới" in html
    assert f">{REASON}</textarea>" in html and "<details open>" in html

    done = auth.post(f"/workspace/ho-so/{code}{ACTION}",
                     {"reason": REASON, "new_date": "2099-12-31"}, page=page,
                     follow_redirects=True)
    assert done.status_code == 200 and "Đã ban hành văn bản xin lỗi và gia hạn" in text(done)


def test_the_api_apologises_and_refuses_a_bad_date(platform):
    from tests.web.test_api import Api, submit_licence
    from web import create_app

    api = Api(create_app({"MOTCUA_PLATFORM": platform, "TESTING": True}).test_client())
    code = submit_licence(api)
    bad = api.post(f"/dossiers/{code}/apology", "chuyenvien",
                   json={"reason": REASON, "new_date": "2099-12-26"})  # a Saturday
    assert bad.status_code == 422 and bad.json["details"][0]["field"] == "new_date"
    assert api.post(f"/dossiers/{code}/apology", "motcua",
                    json={"reason": REASON, "new_date": "2099-12-31"}).status_code == 403
    done = api.post(f"/dossiers/{code}/apology", "chuyenvien",
                    json={"reason": REASON, "new_date": "2099-12-31"})
    assert done.status_code == 200 and done.json["due_at"].startswith("2099-12-31T")
    assert api.get(f"/dossiers/{code}", "doanhnghiep").json["due_at"] == done.json["due_at"]
