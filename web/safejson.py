"""Reading JSON from outside: whatever the bytes, a value the rest of the system can store,
or a :class:`JsonInputError` saying what is wrong (a 400, never a 500).

Python's :func:`json.loads` accepts what PostgreSQL, the workflow serializer or the
recursion limit then refuse: ``NaN`` and ``Infinity``, numbers of thousands of digits,
lone surrogates (``"\\ud800"``), NUL characters and nesting deep enough to raise
``RecursionError``. This reader refuses each of them with a message in both languages.
"""

from __future__ import annotations

import json

#: Deeper than any form (a form's data is an object of fields, some of them lists of
#: objects); deep enough that nothing legitimate is refused.
MAX_DEPTH = 64
#: Digits of an integer: beyond 64-bit ids and money, short of anything that costs time.
MAX_DIGITS = 40


class JsonInputError(ValueError):
    """The text is not JSON this system accepts; ``message`` / ``vi`` say why."""

    def __init__(self, message: str, vi: str):
        super().__init__(message)
        self.message = message
        self.vi = vi


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise JsonInputError(f"A number has more than {MAX_DIGITS} digits.",
                             f"Có số dài quá {MAX_DIGITS} chữ số.")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_DIGITS * 2:
        raise JsonInputError(f"A number is written with more than {MAX_DIGITS * 2} characters.",
                             f"Có số được viết dài quá {MAX_DIGITS * 2} ký tự.")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonInputError("A number is too large.", "Có số quá lớn.")
    return value


def _parse_constant(name: str):
    raise JsonInputError(f"{name} is not a JSON number.", f"{name} không phải số JSON hợp lệ.")


def loads(text: str | bytes):
    """Parse ``text`` (UTF-8 if bytes) and check the result; :class:`JsonInputError` if
    it is not acceptable, with :class:`json.JSONDecodeError` (also a ``ValueError``) for
    plain syntax errors."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonInputError("The JSON is not valid UTF-8.",
                                 "JSON không phải UTF-8 hợp lệ.") from None
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=_parse_constant)
    except RecursionError:
        raise _too_deep() from None
    check(value)
    return value


def _too_deep() -> JsonInputError:
    return JsonInputError(f"The JSON is nested more than {MAX_DEPTH} levels deep.",
                          f"JSON lồng nhau quá {MAX_DEPTH} cấp.")


def check(value) -> None:
    """Refuse a parsed value nested too deeply or holding a string with NUL or a lone
    surrogate (neither can be stored as text). Iterative: no recursion to exhaust."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise JsonInputError("A text contains the NUL character (\\u0000).",
                             "Có chuỗi chứa ký tự NUL (\\u0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonInputError("A text contains a lone surrogate (e.g. \\ud800): it is not "
                             "valid Unicode.",
                             "Có chuỗi chứa ký tự thay thế đơn lẻ (ví dụ \\ud800): không "
                             "phải Unicode hợp lệ.") from None
