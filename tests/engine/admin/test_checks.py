"""What every administration form shares (engine/admin/checks.py): text trimmed and NFC,
problems naming their field in both languages, e-mail addresses and check boxes."""

import unicodedata

from engine.admin.checks import clean_email, clean_text, flag, invalid, problem


def test_text_is_trimmed_to_nfc_and_missing_or_long_text_is_a_problem():
    problems: list[dict] = []
    decomposed = unicodedata.normalize("NFD", "  Sở Giao thông  ")
    assert clean_text(decomposed, 40, "name_vi", problems) == "Sở Giao thông"
    assert problems == []
    clean_text("", 40, "name_vi", problems, required=True, label_vi="tên cơ quan")
    clean_text("x" * 41, 40, "email", problems)
    assert [(p["field"], p["message_vi"]) for p in problems] == [
        ("name_vi", "Cần nhập tên cơ quan."), ("email", "email dài quá 40 ký tự.")]


def test_an_e_mail_address_needs_a_name_an_at_and_a_domain():
    problems: list[dict] = []
    assert clean_email(" an@so.gov.vn ", "email", problems) == "an@so.gov.vn"
    assert clean_email("", "email", problems) == ""  # optional
    clean_email("an@localhost", "email", problems)
    assert [p["field"] for p in problems] == ["email"]


def test_check_boxes_read_yes_in_both_languages():
    assert all(flag(v) for v in ("1", "true", "on", "Yes", "có", "x", True))
    assert not any(flag(v) for v in ("", "0", "false", "không", None))


def test_the_refusal_counts_the_problems_and_carries_them():
    error = invalid([problem("a", "A.", "A."), problem("b", "B.", "B.")])
    assert "2 problem(s)" in error.message and "2 lỗi" in error.vi
    assert [d["field"] for d in error.details] == ["a", "b"]
