"""The JSON Schema form renderer and parser: every field kind, round trips, escaping."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from io import BytesIO

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from engine.errors import InvalidData
from engine.storage import Upload
from web.formrender import (
    error_summary,
    field_errors,
    form_values,
    parse_form,
    render_form,
    render_values,
)

SCHEMA = {
    "type": "object",
    "required": ["company", "vehicles", "kind", "documents"],
    "properties": {
        "company": {"type": "string", "title": "Tên doanh nghiệp", "x-title-en": "Company name",
                    "maxLength": 200},
        "enterprise_code": {"type": "string", "title": "Mã số doanh nghiệp",
                            "pattern": "^[0-9]{10}$", "description": "10 chữ số"},
        "email": {"type": "string", "format": "email", "title": "Thư điện tử"},
        "founded": {"type": "string", "format": "date", "title": "Ngày thành lập"},
        "address": {"type": "string", "x-widget": "textarea", "title": "Địa chỉ"},
        "vehicles": {"type": "integer", "minimum": 1, "maximum": 500, "title": "Số xe"},
        "capital": {"type": "number", "title": "Vốn (tỷ đồng)"},
        "commit": {"type": "boolean", "const": True, "title": "Tôi cam đoan"},
        "newsletter": {"type": "boolean", "title": "Nhận tin"},
        "kind": {"type": "string", "title": "Loại hình", "oneOf": [
            {"const": "bus", "title": "Xe buýt", "x-title-en": "Bus"},
            {"const": "taxi", "title": "Taxi"},
        ]},
        "province": {"type": "string", "title": "Tỉnh", "enum": ["H56", "H01", "H79", "H48", "H31"],
                     "x-enum-titles": ["Thanh Hóa", "Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng",
                                       "Hải Phòng"]},
        "seats": {"type": "integer", "title": "Số chỗ", "oneOf": [
            {"const": n, "title": f"{n} chỗ"} for n in (4, 7, 16, 29, 45)]},
        "services": {"type": "array", "title": "Dịch vụ", "items": {
            "type": "string", "enum": ["route", "contract", "tourist"],
            "x-enum-titles": ["Tuyến cố định", "Hợp đồng", "Du lịch"]}},
        "documents": {"type": "string", "format": "document", "title": "Đơn đề nghị",
                      "x-accept": [".pdf", "application/pdf"]},
        "owner": {"type": "object", "title": "Người đại diện", "required": ["name"],
                  "properties": {"name": {"type": "string", "title": "Họ và tên"},
                                 "age": {"type": "integer", "title": "Tuổi"}}},
    },
}

VALUES = {
    "company": "Công ty TNHH Vận tải Hồng Hà",
    "enterprise_code": "2801234567",
    "email": "hongha@example.vn",
    "founded": "2015-04-30",
    "address": "12 Lê Lợi\nTP. Thanh Hóa",
    "vehicles": 12,
    "capital": 2.5,
    "commit": True,
    "newsletter": False,
    "kind": "taxi",
    "province": "H48",
    "seats": 16,
    "services": ["route", "tourist"],
    "owner": {"name": "Lê Văn Tám", "age": 40},
}


class _Browser(HTMLParser):
    """What a browser would submit for a rendered form: the successful controls."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.select: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") not in ("file",):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("value") or a.get("type") not in ("checkbox", "radio"):
                self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.pairs.append((self.select, a["value"]))
        elif tag == "textarea":
            self.textarea, self.text = a["name"], ""

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.pairs.append((self.textarea, self.text))
            self.textarea = None


def submitted(html: str) -> MultiDict:
    browser = _Browser()
    browser.feed(str(html))
    return MultiDict(browser.pairs)


def test_round_trip_every_field_kind():
    html = render_form(SCHEMA, VALUES)
    data, files = parse_form(SCHEMA, submitted(html), MultiDict())
    assert data == VALUES
    assert files == {}


def test_each_kind_renders_its_control():
    html = str(render_form(SCHEMA, VALUES))
    assert 'type="text" name="company"' in html
    assert 'pattern="^[0-9]{10}$"' in html
    assert 'type="email" name="email"' in html
    assert 'type="date" name="founded" value="2015-04-30"' in html
    assert '<textarea name="address"' in html
    assert 'type="number" name="vehicles" value="12"' in html and 'min="1"' in html
    assert 'max="500"' in html and 'step="1"' in html
    assert 'type="checkbox" name="commit" value="true" checked' in html
    assert 'type="radio" name="kind" value="taxi" id="f-kind-1" checked' in html
    assert '<select name="province"' in html and '<option value="H48" selected>Đà Nẵng' in html
    assert '<option value="16" selected>16 chỗ</option>' in html
    assert html.count('type="checkbox" name="services"') == 3
    assert 'type="file" name="documents" accept=".pdf,application/pdf"' in html
    assert 'name="owner.name"' in html and "<legend>Người đại diện</legend>" in html


def opening_tag(html: str, name: str) -> str:
    """The first tag of the control named ``name``."""
    return re.search(r'<(?:input|select|textarea)[^>]*name="' + re.escape(name) + '"[^>]*>',
                     str(html)).group(0)


def test_required_fields_are_marked():
    html = str(render_form(SCHEMA))
    assert 'Tên doanh nghiệp <span class="req" aria-hidden="true">*</span>' in html
    assert " required" in opening_tag(html, "company")
    assert " required" not in opening_tag(html, "email")
    assert " required" in opening_tag(html, "kind")  # radio buttons
    # A box must be ticked only when the schema says it must be true.
    assert " required" in opening_tag(html, "commit")
    assert " required" not in opening_tag(html, "newsletter")
    assert " required" in opening_tag(html, "owner.name")


def test_english_titles_and_choice_labels():
    html = str(render_form(SCHEMA, lang="en"))
    assert "Company name" in html and "Tên doanh nghiệp" not in html
    assert ">Bus</label>" in html
    assert "— Choose —" in html


def test_errors_are_shown_under_their_field_and_described():
    errors = {"enterprise_code": "Mã số doanh nghiệp gồm 10 chữ số."}
    html = str(render_form(SCHEMA, {"enterprise_code": "12ab"}, errors))
    field = html.split('<div class="field field--error">')[1].split("</div>")[0]
    assert 'id="f-enterprise_code-error"' in field and "gồm 10 chữ số" in field
    assert 'aria-describedby="f-enterprise_code-hint f-enterprise_code-error"' in field
    assert 'aria-invalid="true"' in field and 'value="12ab"' in field
    summary = str(error_summary(SCHEMA, errors))
    assert '<a href="#f-enterprise_code">Mã số doanh nghiệp: Mã số doanh nghiệp gồm' in summary


def test_file_fields_show_the_current_or_kept_file_and_ask_for_a_missing_one_after_errors():
    html = str(render_form(SCHEMA, {"documents": 7}, documents={7: "don-de-nghi.pdf"}))
    assert "don-de-nghi.pdf" in html
    assert " required" not in opening_tag(html, "documents")
    html = str(render_form(SCHEMA, {"company": "X"}, {"company": "Sai"}))
    assert "Hãy chọn tệp: tệp này chưa có" in html
    kept = {"filename": "don.pdf", "token": "t0k3n"}
    html = str(render_form(SCHEMA, {"company": "X", "documents": kept}, {"company": "Sai"}))
    assert "Tệp đã đính kèm: <strong>don.pdf</strong>" in html
    assert '<input type="hidden" name="documents__kept" value="t0k3n">' in html
    assert "Hãy chọn tệp: tệp này chưa có" not in html


def test_a_blank_form_is_prefilled_and_shows_the_example_as_a_hint():
    schema = {"type": "object", "properties": {
        "phone": {"type": "string", "title": "Số điện thoại", "x-prefill": "phone",
                  "examples": ["0912345678"]}}}
    html = str(render_form(schema, prefill={"phone": "0987654321"}))
    assert 'value="0987654321"' in html and "Ví dụ: 0912345678" in html
    assert 'value="0987654321"' not in str(render_form(schema, {}, prefill={"phone": "0987"}))


def test_malicious_titles_and_values_are_escaped():
    evil = '<script>alert("x")</script>'
    schema = {"type": "object", "properties": {
        "a": {"type": "string", "title": evil, "description": evil},
        "b": {"type": "string", "title": "B", "oneOf": [{"const": '"><img src=x>', "title": evil}]},
    }}
    html = str(render_form(schema, {"a": '"><img src=x onerror=alert(1)>'}, {"a": evil}))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&#34;&gt;&lt;img" in html
    assert "<script>" not in str(render_values(schema, {"a": evil, "b": evil}))
    assert "<script>" not in str(error_summary(schema, {"a": evil, "zz": evil}))


def test_parse_leaves_out_empty_optional_values_and_coerces_types():
    form = MultiDict([("company", "  Hồng Hà "), ("email", ""), ("vehicles", "3"),
                      ("capital", "2,5"), ("seats", "29"), ("owner.name", ""), ("kind", "bus")])
    data, files = parse_form(SCHEMA, form, MultiDict())
    assert data == {"company": "Hồng Hà", "vehicles": 3, "capital": 2.5, "seats": 29,
                    "kind": "bus", "commit": False, "newsletter": False}


def test_parse_normalises_vietnamese_to_nfc():
    decomposed = "Thanh Ho\u0301a"
    data, _ = parse_form(SCHEMA, MultiDict([("company", decomposed)]), MultiDict())
    assert data["company"] == "Thanh Hóa"


@pytest.mark.parametrize("field, text", [("vehicles", "mười"), ("vehicles", "2.5"),
                                         ("capital", "nhiều"), ("capital", "nan"),
                                         ("owner.age", "4x")])
def test_bad_numbers_become_field_errors(field, text):
    with pytest.raises(InvalidData) as caught:
        parse_form(SCHEMA, MultiDict([(field, text), ("company", "X")]), MultiDict())
    errors = field_errors(caught.value, "vi")
    assert list(errors) == [field]
    assert errors[field].startswith("Hãy nhập một số")
    assert field_errors(caught.value, "en")[field].startswith("Enter a")


def test_files_become_uploads_and_empty_file_inputs_are_skipped():
    files = MultiDict([("documents", FileStorage(BytesIO(b"%PDF-1.7"), filename="C:\\scan\\đơn.pdf",
                                                 content_type="application/octet-stream"))])
    _, uploads = parse_form(SCHEMA, MultiDict(), files)
    assert uploads == {"documents": Upload("đơn.pdf", "application/pdf", b"%PDF-1.7")}
    empty = MultiDict([("documents", FileStorage(BytesIO(b""), filename=""))])
    assert parse_form(SCHEMA, MultiDict(), empty)[1] == {}


def test_form_values_keep_what_was_typed():
    form = MultiDict([("vehicles", "mười"), ("services", "route"), ("newsletter", "true"),
                      ("owner.name", "Tám")])
    values = form_values(SCHEMA, form)
    assert values["vehicles"] == "mười" and values["services"] == ["route"]
    assert values["newsletter"] is True and values["owner"] == {"name": "Tám"}
    assert 'value="mười"' in str(render_form(SCHEMA, values))


def test_field_errors_from_engine_details():
    error = InvalidData("bad", vi="sai", details=[
        {"field": "company", "message": "is required"},
        {"field": "/owner/name", "message": "too short", "message_vi": "quá ngắn"},
        {"message": "Thiếu tài liệu"}])
    assert field_errors(error, "vi") == {"company": "is required", "owner.name": "quá ngắn",
                                         "": "Thiếu tài liệu"}
    assert field_errors(InvalidData("bad", vi="sai"), "vi") == {"": "sai"}
    # A lone English-only detail borrows the error's Vietnamese message.
    lone = InvalidData("Enter the passphrase.", vi="Nhập mật khẩu.",
                       details=[{"field": "passphrase", "message": "Required to sign."}])
    assert field_errors(lone, "vi") == {"passphrase": "Nhập mật khẩu."}
    assert field_errors(lone, "en") == {"passphrase": "Required to sign."}


def test_render_values_labels_data_from_the_form():
    html = str(render_values(SCHEMA, {**VALUES, "documents": "7", "extra": "x"},
                             documents={7: "đơn.pdf"}, document_url=lambda i: f"/tai-lieu/{i}"))
    assert "<dt>Loại hình</dt><dd>Taxi</dd>" in html
    assert "<dt>Dịch vụ</dt><dd>Tuyến cố định, Du lịch</dd>" in html
    assert '<a href="/tai-lieu/7">đơn.pdf</a>' in html
    assert "<dt>Nhận tin</dt><dd>Không</dd>" in html
    assert "<dt>extra</dt><dd>x</dd>" in html
