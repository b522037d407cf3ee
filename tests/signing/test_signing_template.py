import datetime as dt
import unicodedata

from signing.template import fill

CONTEXT = {
    "name": "Hồng Đức",
    "application": {"company_name": "Công ty TNHH Vận tải Hồng Đức", "owner": {"age": 40}},
    "vehicles": ["36B-123.45", "36C-678.90"],
    "issued_on": dt.date(2026, 2, 5),
    "fee": 1500000,
}


def test_fills_plain_nested_and_indexed_keys():
    assert fill("{name}", CONTEXT) == "Hồng Đức"
    assert fill("{application[company_name]}", CONTEXT) == "Công ty TNHH Vận tải Hồng Đức"
    assert fill("{application[owner][age]}", CONTEXT) == "40"
    assert fill("{application.company_name}", CONTEXT) == "Công ty TNHH Vận tải Hồng Đức"
    assert fill("{vehicles[1]}", CONTEXT) == "36C-678.90"
    assert fill("{issued_on:%d/%m/%Y} {fee:,}", CONTEXT) == "05/02/2026 1,500,000"


def test_unknown_keys_stay_visible():
    assert fill("a {nope} b", CONTEXT) == "a {nope} b"
    assert fill("{application[nope]}", CONTEXT) == "{application[nope]}"
    assert fill("{nope[x][y]}", CONTEXT) == "{nope[x][y]}"
    assert fill("{vehicles[7]}", CONTEXT) == "{vehicles[7]}"
    assert fill("{nope:>5}", CONTEXT) == "{nope:>5}"


def test_invalid_templates_are_returned_as_written():
    assert fill("một { lẻ", CONTEXT) == "một { lẻ"
    assert fill("{name:%Q%}", {"name": 3}) == "{name:%Q%}"
    assert fill("{name:>99999999}", CONTEXT) == "{name:>99999999}"


def test_no_python_attribute_is_reachable():
    for template in ("{name.__class__}", "{application.__class__.__init__.__globals__}",
                     "{application[__class__]}"):
        assert fill(template, CONTEXT) == template


def test_output_is_nfc():
    decomposed = unicodedata.normalize("NFD", "Thường Xuân {name}")
    assert fill(decomposed, {"name": unicodedata.normalize("NFD", "Hồng Đức")}) == (
        "Thường Xuân Hồng Đức"
    )


def _formatter_fill(template, context):
    """What fill gave before templates were parsed once: the formatter's own walk."""
    from signing.template import _FORMATTER, nfc

    text = nfc(template)
    try:
        return nfc(_FORMATTER.vformat(text, (), context))
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return text


def test_a_template_parsed_once_fills_as_the_formatter_does():
    templates = [
        "{name}", "Kính gửi {name}, hồ sơ {application[company_name]} — {fee:,} đồng",
        "{application.owner.age:>5}", "{vehicles[0]}/{vehicles[9]}", "{issued_on}",
        "{issued_on!s}", "{name!r}", "{name!a}", "{name!z}", "{nope!z}", "{nope!r:>3}",
        "{}", "{0}", "{0[name]}", "{name}{}", "{name:{fee}}", "{nope:{fee}}", "{a[}",
        "{nope.x[}", "{name.x[}", "}{", "{name} }", "{{name}}", "a {{ b }} c", "",
        "{fee:x}", "{fee:>99999}", "{name:d}", "{_secret}", "{application[_x]}",
        "{vehicles[-1]}", "{vehicles[x]}", "Ngày {issued_on:%d/%m}",
        "{empty}|{day_text}|{spaced_day}|{moment}|{braces}|{arabic_digits}",
    ]
    context = {**CONTEXT, "_secret": "no", "0": "zero", "empty": "", "day_text": "2026-02-05",
               "spaced_day": " 2026-02-05", "moment": "2026-02-05T23:30:00+00:00",
               "braces": "{name}", "arabic_digits": "\u0662\u0660"}
    for template in templates:
        for _ in range(2):  # parsed, then from the cache
            assert fill(template, context) == _formatter_fill(template, context), template
