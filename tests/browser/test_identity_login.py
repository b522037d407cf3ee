"""Signing in with the national identity in a real browser, against the portal's stand-in
identity provider (OpenID Connect over HTTP): a new citizen presses the VNeID button,
picks a demo person on the stand-in's page and consents, comes back signed in to an
account made from the identity, and finds the application form filled from it; signing
out and in again with the same identity opens the same account."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine.identity_models import IdentityLink
from tests.browser.conftest import open_application_form

BUTTON = "Đăng nhập bằng VNeID / Cổng DVC quốc gia"


@pytest.fixture
def portal(identity_portal):
    """The portal with the stand-in identity provider on (tests/conftest.py)."""
    return identity_portal


def sign_in_with_identity(page, base: str) -> None:
    page.goto(base + "/auth/login")
    page.get_by_role("button", name=BUTTON).click()
    expect(page.locator("h1")).to_have_text("Máy chủ định danh mô phỏng — không phải VNeID")
    page.get_by_label("Trần Thị Minh Anh").check()
    page.get_by_role("button", name="Đồng ý và đăng nhập").click()
    expect(page.locator(".user-name")).to_have_text("Trần Thị Minh Anh")


def test_a_citizen_signs_in_with_the_national_identity_and_the_form_is_prefilled(
        platform, portal, browser):
    page = browser.new_context(locale="vi-VN").new_page()
    sign_in_with_identity(page, portal)
    expect(page.locator("body")).to_contain_text("Đã tạo tài khoản từ định danh điện tử")

    open_application_form(page, portal, "Cấp Giấy phép kinh doanh vận tải bằng xe ô tô")
    expect(page.locator("[name=company_name]")).to_have_value("Trần Thị Minh Anh")
    expect(page.locator("[name=enterprise_code]")).to_have_value("038190001234")
    expect(page.locator("[name=head_office_address]")).to_have_value(
        "Số 5 Phan Chu Trinh, phường Điện Biên, TP Thanh Hóa")
    expect(page.locator("[name=phone]")).to_have_value("0912000111")
    expect(page.locator("[name=email]")).to_have_value("minhanh.dinhdanh@example.vn")

    page.get_by_role("link", name="Định danh điện tử").click()
    expect(page.locator("body")).to_contain_text("Tài khoản đã được xác thực bằng ứng dụng")
    expect(page.locator("body")).to_contain_text("12/04/1990")

    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator(".user-name")).to_have_count(0)
    sign_in_with_identity(page, portal)
    expect(page.locator("body")).not_to_contain_text("Đã tạo tài khoản")
    with platform.db.read() as session:
        links = session.execute(select(IdentityLink.user_id)).scalars().all()
    assert len(links) == 1  # the second sign-in found the account the first one made
