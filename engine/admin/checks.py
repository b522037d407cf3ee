"""What every administration form shares: problems that name their field, and the
checks of text, e-mail addresses and check boxes."""

from __future__ import annotations

import re
import unicodedata

from .. import accounts
from ..errors import InvalidData

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
ADMIN_ROLE = accounts.STAFF_ROLES_ADMIN



def problem(field: str, en: str, vi: str) -> dict:
    return {"field": field, "message": en, "message_vi": vi}


def invalid(problems: list[dict]) -> InvalidData:
    return InvalidData(f"Please correct {len(problems)} problem(s) and submit again.",
                       vi=f"Vui lòng sửa {len(problems)} lỗi rồi gửi lại.", details=problems)


def clean_text(value, limit: int, field: str, problems: list[dict], *, required: bool = False,
          label_vi: str = "") -> str:
    """``value`` stripped and NFC-normalised; a problem if it is missing or too long."""
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if required and not text:
        problems.append(problem(field, f"{field} is required.",
                                f"Cần nhập {label_vi or field}."))
    elif len(text) > limit:
        problems.append(problem(field, f"{field} is longer than {limit} characters.",
                                f"{label_vi or field} dài quá {limit} ký tự."))
    return text


def clean_email(value, field: str, problems: list[dict]) -> str:
    text = clean_text(value, 255, field, problems)
    if text and not EMAIL.match(text):
        problems.append(problem(field, f"{text!r} is not an e-mail address.",
                                f"{text!r} không phải địa chỉ thư điện tử."))
    return text


def flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "on", "yes", "y", "có", "x")
