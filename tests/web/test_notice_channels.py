"""The applicant's choice of notice channels (e-mail, SMS or both) on the portal."""

# The tests take the portal fixtures imported from test_pages as parameters.
# ruff: noqa: F811

from __future__ import annotations

from engine import accounts, sms
from tests.web.test_pages import app, auth, client, text  # noqa: F401  (fixtures)

PAGE = "/tai-khoan/thong-bao"


def test_the_applicant_chooses_sms_with_a_mobile_number(auth, platform):
    auth.login("doanhnghiep")
    html = text(auth.client.get(PAGE))
    assert "Tin nhắn SMS" in html and 'href="/tai-khoan/thong-bao"' in html
    refused = auth.post(PAGE, {"channels": "sms", "phone": "123"}, page=PAGE)
    assert refused.status_code == 422 and "số điện thoại di động Việt Nam" in text(refused)
    done = auth.post(PAGE, {"channels": ["email", "sms"], "phone": "0912345678"}, page=PAGE,
                     follow_redirects=True)
    assert done.status_code == 200 and "Đã lưu cách nhận thông báo." in text(done)
    assert sms.choice_of(platform, accounts.find_user(platform, "doanhnghiep")) == {
        "channels": ["email", "sms"], "phone": "0912345678"}
