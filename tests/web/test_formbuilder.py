"""The form builder: the transport licence's forms built field by field, as an analyst
would in the builder, give schemas equal to the hand-written ones; conditions made in the
builder validate as hand-written ones do; what it cannot express is refused with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel

from engine import forms
from engine.errors import InvalidData
from web.studio import formbuilder

FORMS = Path(__file__).resolve().parents[2] / "bpmn"
LICENCE = FORMS / "transport-business-licence" / "forms"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
PDF_IMAGES = [".pdf", ".jpg", ".jpeg", ".png"]
TEN_MB = 10 * 1048576


@pytest.fixture(autouse=True)
def _babel():
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context("/?lang=vi"):
        yield


def field(name, kind, title, title_en, *, required=False, when=None, **settings) -> dict:
    """One field as the builder's card holds it."""
    return {"name": name, "type": kind, "title": title, "title_en": title_en, "help": "",
            "help_en": "", "required": required, "required_when": when, **settings}


def text(name, title, title_en, **kw) -> dict:
    return field(name, "text", title, title_en, **kw)


def long_text(name, title, title_en, **kw) -> dict:
    return field(name, "longtext", title, title_en, **kw)


def choice(name, title, title_en, options, **kw) -> dict:
    return field(name, "choice", title, title_en, multiple=False, options=[
        {"value": v, "title": t, "title_en": e} for v, t, e in options], **kw)


def document(name, title, title_en) -> dict:
    return field(name, "document", title, title_en, accept=PDF_IMAGES, max_bytes=TEN_MB,
                 required=True)


def when(on, *values, pattern=r"\S") -> dict:
    return {"field": on, "values": list(values), "pattern": pattern}


def form(title, title_en, fields, **kw) -> dict:
    return {"title": title, "title_en": title_en, "schema_uri": DRAFT, "closed": True,
            "fields": fields, **kw}


NAME_RULES = {"min_length": 1, "max_length": 255, "pattern": r"\S"}
PHONE_HINTS = {
    "examples": ["0912345678"],
    "error": "Số điện thoại gồm 10 chữ số, bắt đầu bằng 0 (hoặc +84), ví dụ 0912345678.",
    "error_en": "A phone number of 10 digits starting with 0 (or +84), for example 0912345678."}
# the reason of a refusal or a supplement request: the applicant and the officers see it
SEEN_BY_APPLICANT = ["applicant", "reception", "handler", "head"]
DOCS = [
    ("application_letter",
     "Giấy đề nghị cấp Giấy phép kinh doanh vận tải bằng xe ô tô (Phụ lục I)",
     "Application for a road transport business licence (Appendix I)"),
    ("manager_qualification",
     "Văn bằng, chứng chỉ của người trực tiếp điều hành hoạt động vận tải",
     "Diploma or certificate of the person in charge of transport operations"),
    ("safety_unit_decision",
     "Quyết định thành lập bộ phận quản lý, theo dõi các điều kiện về an toàn giao thông",
     "Decision establishing the traffic-safety unit"),
    ("manager_appointment", "Quyết định bổ nhiệm người trực tiếp điều hành hoạt động vận tải",
     "Decision appointing the person in charge of transport operations"),
]
KINDS = [
    ("fixed_route", "Kinh doanh vận tải hành khách theo tuyến cố định",
     "Passenger transport on fixed routes"),
    ("bus", "Kinh doanh vận tải hành khách bằng xe buýt theo tuyến cố định",
     "Bus passenger transport on fixed routes"),
    ("taxi", "Kinh doanh vận tải hành khách bằng xe taxi", "Taxi passenger transport"),
    ("contract", "Kinh doanh vận tải hành khách theo hợp đồng", "Contract passenger transport"),
    ("tourist", "Kinh doanh vận tải khách du lịch bằng xe ô tô", "Tourist transport by car"),
    ("truck", "Kinh doanh vận tải hàng hóa bằng xe ô tô", "Freight transport by truck"),
    ("container", "Kinh doanh vận tải hàng hóa bằng công-ten-nơ", "Container freight transport"),
]

BUILT = {
    "application.json": form(
        "Đề nghị cấp Giấy phép kinh doanh vận tải bằng xe ô tô",
        "Application for a road transport business licence", [
            text("company_name", "Tên doanh nghiệp, hợp tác xã", "Company or cooperative name",
                 required=True, prefill="full_name", **NAME_RULES),
            text("enterprise_code", "Mã số doanh nghiệp", "Enterprise code", required=True,
                 pattern="^[0-9]{10}(-?[0-9]{3})?$", prefill="id_number",
                 examples=["0101234567"],
                 error="Mã số doanh nghiệp (mã số thuế) gồm 10 chữ số, hoặc 13 chữ số với mã "
                       "chi nhánh, ví dụ 0101234567 hoặc 0101234567-001.",
                 error_en="The enterprise code (tax code) has 10 digits, or 13 with a branch "
                          "code, for example 0101234567 or 0101234567-001."),
            text("head_office_address", "Địa chỉ trụ sở chính", "Head-office address",
                 required=True, min_length=1, max_length=500, pattern=r"\S", prefill="address"),
            text("legal_representative", "Người đại diện theo pháp luật", "Legal representative",
                 required=True, **NAME_RULES),
            text("phone", "Số điện thoại", "Phone number", required=True,
                 pattern="^(\\+84|0)[1-9][0-9]{8,9}$", prefill="phone", **PHONE_HINTS),
            text("email", "Thư điện tử", "E-mail", required=True, format="email",
                 max_length=255, prefill="email"),
            field("transport_kinds", "choice", "Loại hình kinh doanh vận tải đề nghị cấp phép",
                  "Kinds of transport business applied for", required=True, multiple=True,
                  min_items=1, options=[{"value": v, "title": t, "title_en": e}
                                        for v, t, e in KINDS]),
            field("vehicle_count", "number", "Số lượng phương tiện", "Number of vehicles",
                  required=True, integer=True, minimum=1, maximum=100000),
            *[document(n, t, e) for n, t, e in DOCS],
        ]),
    "appraise.json": form("Thẩm định hồ sơ", "Appraise the dossier", [
        choice("recommendation", "Đề xuất", "Recommendation", [
            ("approve", "Đề xuất cấp giấy phép", "Recommend issuing the licence"),
            ("refuse", "Đề xuất từ chối cấp giấy phép", "Recommend refusing the licence")],
            required=True),
        long_text("appraisal_notes", "Ý kiến thẩm định", "Appraisal notes", required=True,
                  max_length=4000, pattern=r"\S"),
        text("licence_number", "Số giấy phép", "Licence number", max_length=50,
             when=when("recommendation", "approve", pattern=r"^GP-\S+$")),
        long_text("valid_kinds", "Ghi chú về loại hình kinh doanh được cấp phép",
                  "Note on the kinds of business to be licensed", max_length=2000),
    ]),
    "approve.json": form(
        "Phê duyệt", "Approval", [
            choice("head_decision", "Ý kiến của lãnh đạo", "Decision", [
                ("approve", "Phê duyệt", "Approve"),
                ("return", "Trả lại chuyên viên thẩm định lại",
                 "Return to the handler for re-appraisal"),
                ("refuse", "Không phê duyệt, từ chối cấp giấy phép", "Refuse the licence")],
                required=True),
            long_text("head_comment", "Ý kiến, lý do", "Comment or reason", max_length=2000,
                      when=when("head_decision", "return", "refuse")),
        ],
        description="Chỉ cấp phép khi chuyên viên đề xuất cấp; nếu chuyên viên đề xuất từ chối "
                    "mà lãnh đạo chọn phê duyệt, hồ sơ được trả lại chuyên viên để thẩm định "
                    "lại và dự thảo giấy phép.",
        description_en="The licence is issued only on a recommendation to issue; approving a "
                       "recommendation to refuse sends the dossier back to the handler to "
                       "re-appraise and draft the licence."),
    "receive.json": form("Kiểm tra, tiếp nhận hồ sơ", "Check and receive the dossier", [
        choice("reception_decision", "Kết quả kiểm tra hồ sơ", "Result of the check", [
            ("accept", "Tiếp nhận hồ sơ", "Accept"),
            ("supplement", "Yêu cầu bổ sung, hoàn thiện hồ sơ", "Request a supplement"),
            ("refuse", "Từ chối tiếp nhận hồ sơ", "Refuse")], required=True),
        long_text("reason", "Lý do", "Reason", max_length=2000,
                  when=when("reception_decision", "supplement", "refuse"),
                  show_to=SEEN_BY_APPLICANT),
        long_text("supplement_items", "Nội dung cần bổ sung, hoàn thiện",
                  "Items to supplement or complete", max_length=4000,
                  when=when("reception_decision", "supplement"), show_to=SEEN_BY_APPLICANT),
    ]),
    "sign.json": form("Ký số văn bản", "Digitally sign the document", [
        field("confirm", "yesno", "Tôi xác nhận ký số văn bản này",
              "I confirm that I digitally sign this document", required=True, must_be_yes=True,
              show_to=[]),  # no later step sees the tick
    ]),
    "supplement.json": form("Bổ sung, hoàn thiện hồ sơ", "Supplement the dossier", [
        long_text("supplement_note", "Nội dung đã bổ sung, hoàn thiện", "What was supplemented",
                  required=True, max_length=4000, pattern=r"\S"),
        *[{**document(n, f"{t} (bản thay thế)", f"{e} (replacement)"), "required": False}
          for n, t, e in DOCS],
    ]),
}


@pytest.mark.parametrize("name", sorted(BUILT))
def test_the_licence_forms_built_in_the_builder_equal_the_hand_written_schemas(name):
    hand_written = json.loads((LICENCE / name).read_text(encoding="utf-8"))
    assert formbuilder.problems(BUILT[name]) == []
    assert formbuilder.write(BUILT[name]) == hand_written


def test_every_bundled_form_opens_in_the_builder_and_comes_back_unchanged():
    paths = sorted(FORMS.glob("*/forms/*.json"))
    assert len(paths) > 20
    for path in paths:
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert formbuilder.write(formbuilder.read(schema)) == schema, path


RECEIVE_CASES = [
    {"reception_decision": "accept"},
    {"reception_decision": "refuse"},
    {"reception_decision": "refuse", "reason": "   "},
    {"reception_decision": "refuse", "reason": "Thiếu giấy tờ"},
    {"reception_decision": "supplement", "reason": "Thiếu"},
    {"reception_decision": "supplement", "reason": "Thiếu", "supplement_items": "Phụ lục I"},
    {"reception_decision": "accept", "supplement_items": ""},
]


def _outcome(schema: dict, data: dict) -> list[str] | None:
    try:
        forms.validate(schema, data)
        return None
    except InvalidData as err:
        return sorted(e["field"] for e in err.details)


def test_a_condition_made_in_the_builder_validates_as_the_hand_written_one():
    hand_written = json.loads((LICENCE / "receive.json").read_text(encoding="utf-8"))
    built = formbuilder.write(BUILT["receive.json"])
    outcomes = [_outcome(built, data) for data in RECEIVE_CASES]
    assert outcomes == [_outcome(hand_written, data) for data in RECEIVE_CASES]
    # and the condition really bites: a refusal without a reason is refused, on "reason"
    assert outcomes[1] == ["reason"] and outcomes[2] == ["reason"]
    assert outcomes[4] == ["supplement_items"] and outcomes[5] is None


def test_prefill_and_shown_to_later_steps_are_written_as_the_portal_reads_them():
    built = formbuilder.write(form("Đơn", "Application", [
        text("applicant_name", "Họ và tên", "Full name", required=True, prefill="full_name",
             show_to=["handler", "head"]),
        field("birth_date", "date", "Ngày sinh", "Date of birth", help="Theo CCCD",
              help_en="As on the ID card")]))
    assert built["properties"]["applicant_name"]["x-prefill"] == "full_name"
    assert built["properties"]["applicant_name"]["x-show-to"] == ["handler", "head"]
    assert built["properties"]["birth_date"] == {
        "title": "Ngày sinh", "x-title-en": "Date of birth", "description": "Theo CCCD",
        "x-description-en": "As on the ID card", "type": "string", "format": "date"}
    assert formbuilder.read(built)["fields"][0]["show_to"] == ["handler", "head"]


def test_a_format_hint_and_no_later_step_are_written_as_the_portal_reads_them():
    built = formbuilder.write(form("Đơn", "Application", [
        text("tax_code", "Mã số thuế", "Tax code", required=True, pattern="^[0-9]{10}$",
             examples=["0101234567"]),
        text("plate", "Biển số", "Plate", required=True, pattern="^[0-9]{2}[A-Z]+-[0-9.]+$",
             error="Biển số viết hoa, ví dụ 36B-123.45.",
             error_en="The plate in capitals, for example 36B-123.45."),
        field("confirm", "yesno", "Tôi xác nhận", "I confirm", must_be_yes=True, show_to=[]),
        field("agree", "yesno", "Đồng ý", "Agree")], checklist=True))
    said = {e["field"]: (e["message_vi"], e["message"])
            for e in forms.problems(built, {"tax_code": "12", "plate": "36b 12345"})}
    assert said["tax_code"] == ("Hãy nhập theo mẫu, ví dụ: 0101234567.",
                                "Enter it as in this example: 0101234567.")
    assert said["plate"] == ("Biển số viết hoa, ví dụ 36B-123.45.",
                             "The plate in capitals, for example 36B-123.45.")
    # "[]" (no later step) and no key (every officer's later step) stay apart
    assert built["properties"]["confirm"]["x-show-to"] == []
    assert "x-show-to" not in built["properties"]["agree"]
    assert built["x-checklist"] is True
    again = formbuilder.read(built)
    assert [f.get("show_to") for f in again["fields"]] == [None, None, [], None]
    assert again["checklist"] is True and again["fields"][0]["examples"] == ["0101234567"]


@pytest.mark.parametrize("schema, words", [
    ({"type": "object", "properties": {"address": {"type": "object", "properties": {}}}},
     "address"),
    ({"type": "object", "properties": {"a": {"type": "string", "minLength": 1,
                                             "default": "x"}}}, "default"),
    ({"type": "object", "properties": {"a": {"type": "string", "examples": "0912345678"}},
      "required": []}, "examples"),
    ({"type": "object", "properties": {"a": {"type": "boolean", "x-show-to": "head"}},
      "required": []}, "x-show-to"),
    ({"type": "object", "properties": {}, "required": [], "x-checklist": "yes"},
     "x-checklist"),
    ({"type": "object", "properties": {"a": {"type": "string"}},
      "anyOf": [{"required": ["a"]}]}, "anyOf"),
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
      "allOf": [{"if": {"properties": {"a": {"minLength": 3}}}, "then": {"required": ["b"]}}]},
     "bắt buộc khi"),
])
def test_a_form_the_builder_cannot_express_is_refused_with_the_reason(schema, words):
    with pytest.raises(formbuilder.CannotBuild) as err:
        formbuilder.read(schema)
    assert words in str(err.value)


def test_builder_mistakes_are_named_in_vietnamese():
    broken = form("Đơn", "Form", [
        text("Họ tên", "Họ tên", "Name"),
        choice("kind", "Loại", "Kind", []),
        text("note", "Ghi chú", "Note", when=when("missing", "x"))])
    found = formbuilder.problems(broken)
    assert any("“Họ tên”: tên trường chỉ gồm chữ thường không dấu" in p for p in found)
    assert any("“kind”: thêm ít nhất một lựa chọn" in p for p in found)
    assert any("“note”: điều kiện bắt buộc phải dựa vào một trường khác" in p for p in found)
    hints = formbuilder.problems(form("Đơn", "Form", [
        text("phone", "Điện thoại", "Phone", error_en="Ten digits.", prefill="mobile")]))
    assert any("“phone”: lời nhắc khi nhập sai có tiếng Anh thì cần có cả tiếng Việt" in p
               for p in hints)
    assert any("“phone”: chỉ điền sẵn được từ full_name" in p for p in hints)
