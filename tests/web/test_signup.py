"""Registering an account and resetting a password, with the links read from the e-mails
in the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from engine import clock
from engine.models import Outbox
from tests.web.test_pages import AuthActions, app, auth, client, text  # noqa: F401  (fixtures)

NEW = {"kind": "citizen", "full_name": "Lê Thị Hoa", "id_number": "038190000123",
       "email": "Hoa.Le@example.vn", "phone": "0912000111", "username": "lethihoa",
       "password": "hoa-2026-mat-khau", "password_again": "hoa-2026-mat-khau"}


def mails_to(platform, address: str) -> list[Outbox]:
    with platform.db.read() as session:
        return list(session.execute(select(Outbox).where(Outbox.recipient == address)
                                    .order_by(Outbox.id)).scalars())


def link_in(mail: Outbox, path: str) -> str:
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\?token=[\w-]+)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_register_confirm_by_e_mail_then_sign_in(auth, client, platform):  # noqa: F811
    page = client.get("/auth/login")
    assert 'href="/auth/dang-ky"' in text(page)
    response = auth.post("/auth/dang-ky", {**NEW, "password_again": "other", "id_number": "12",
                                           "username": "Lê"}, page="/auth/dang-ky")
    assert response.status_code == 422
    html = text(response)
    for message in ("Hai lần nhập mật khẩu không khớp.", "CCCD (12 chữ số)", "chữ thường"):
        assert message in html
    assert 'value="Lê Thị Hoa"' in html  # what was typed stays
    response = auth.post("/auth/dang-ky", NEW, page="/auth/dang-ky")
    assert response.status_code == 200 and "hoa.le@example.vn" in text(response)
    assert auth.login("lethihoa", NEW["password"]).status_code == 200  # not confirmed yet
    [mail] = mails_to(platform, "hoa.le@example.vn")
    assert mail.subject == "Xác nhận tài khoản Một Cửa" and "Lê Thị Hoa" in mail.body
    confirm = link_in(mail, "/auth/xac-nhan")
    response = client.get(confirm)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert client.get(confirm).status_code == 410  # single use
    assert auth.login("lethihoa", NEW["password"]).status_code == 302
    assert client.get("/ho-so").status_code == 200
    # the same address again: no second account, and its owner is told, not the stranger
    other = {**NEW, "username": "hoa2"}
    response = auth.post("/auth/dang-ky", other, page="/auth/dang-ky")
    assert response.status_code == 200
    reminder = mails_to(platform, "hoa.le@example.vn")[-1]
    assert "lethihoa" in reminder.body and "/auth/quen-mat-khau" in reminder.body


def test_an_unconfirmed_link_expires(auth, client, platform):  # noqa: F811
    auth.post("/auth/dang-ky", NEW, page="/auth/dang-ky")
    [mail] = mails_to(platform, "hoa.le@example.vn")
    clock.travel(timedelta(hours=49))
    assert client.get(link_in(mail, "/auth/xac-nhan")).status_code == 410
    assert auth.login("lethihoa", NEW["password"]).status_code == 200


def test_reset_a_forgotten_password_once(app, auth, client, platform):  # noqa: F811
    signed_in = app.test_client()
    AuthActions(signed_in).login("congdan")
    response = auth.post("/auth/quen-mat-khau", {"email": "nobody@example.vn"},
                         page="/auth/quen-mat-khau")
    assert response.status_code == 200 and not mails_to(platform, "nobody@example.vn")
    said_for_nobody = text(response).replace("nobody@example.vn", "")
    email = "congdan@example.vn"
    response = auth.post("/auth/quen-mat-khau", {"email": email.upper()},
                         page="/auth/quen-mat-khau")
    assert text(response).replace(email, "") == said_for_nobody  # no account enumeration
    [mail] = mails_to(platform, email)
    assert mail.subject == "Đặt lại mật khẩu Một Cửa" and "congdan" in mail.body
    reset = link_in(mail, "/auth/dat-lai-mat-khau")
    token = reset.split("token=")[1]
    page = client.get(reset)
    assert page.status_code == 200
    response = auth.post("/auth/dat-lai-mat-khau", {"token": token, "password": "short",
                                                    "password_again": "short"}, page=reset)
    assert response.status_code == 422 and "ít nhất 8 ký tự" in text(response)
    response = auth.post("/auth/dat-lai-mat-khau", {
        "token": token, "password": "mat-khau-moi-2026", "password_again": "mat-khau-moi-2026"},
        page=reset)
    assert response.status_code == 302
    assert signed_in.get("/ho-so").status_code == 302  # every session of the account ended
    assert auth.login("congdan", "demo").status_code == 200
    assert auth.login("congdan", "mat-khau-moi-2026").status_code == 302
    auth.logout()
    assert client.get(reset).status_code == 410  # used
    # a link not used within the hour expires
    auth.post("/auth/quen-mat-khau", {"email": email}, page="/auth/quen-mat-khau")
    later = link_in(mails_to(platform, email)[-1], "/auth/dat-lai-mat-khau")
    clock.travel(timedelta(minutes=61))
    assert client.get(later).status_code == 410


def test_the_account_forms_are_throttled(auth, client, platform):  # noqa: F811
    for _ in range(3):
        response = auth.post("/auth/quen-mat-khau", {"email": "congdan@example.vn"},
                             page="/auth/quen-mat-khau")
        assert response.status_code == 200
    response = auth.post("/auth/quen-mat-khau", {"email": "congdan@example.vn"},
                         page="/auth/quen-mat-khau")
    assert response.status_code == 429 and "Vui lòng chờ" in text(response)
    assert len(mails_to(platform, "congdan@example.vn")) == 3


def test_registering_and_setting_a_new_password_are_throttled_too(auth, platform):  # noqa: F811
    for n in range(3):  # the same address thrice: one account, two reminders
        response = auth.post("/auth/dang-ky", {**NEW, "username": f"hoa{n}"},
                             page="/auth/dang-ky")
        assert response.status_code == 200
    response = auth.post("/auth/dang-ky", {**NEW, "username": "hoa9"}, page="/auth/dang-ky")
    assert response.status_code == 429 and "Vui lòng chờ" in text(response)
    assert len(mails_to(platform, "hoa.le@example.vn")) == 3
    # new passwords sent with made-up links: refused, then no longer even read
    for _ in range(10):
        response = auth.post("/auth/dat-lai-mat-khau", {
            "token": "doan-bua", "password": "mat-khau-moi-2026",
            "password_again": "mat-khau-moi-2026"}, page="/auth/dang-ky")
        assert response.status_code in (400, 410, 422)
    response = auth.post("/auth/dat-lai-mat-khau", {
        "token": "doan-bua", "password": "mat-khau-moi-2026",
        "password_again": "mat-khau-moi-2026"}, page="/auth/dang-ky")
    assert response.status_code == 429
