"""The Vietnamese of the libraries' messages that deploy passes on to the analyst.

Most problems are written by the portal's own validators (:mod:`engine.problem_texts`).
Some come from the libraries that read a bundle, worded by them:

- SpiffWorkflow's BPMN and DMN parsers (a flow with no condition out of an exclusive
  gateway, a process not marked executable, a timer without its time…);
- the BPMN XML Schema, checked by libxml2 before parsing (an attribute the standard does
  not know, a duplicate or malformed id, a required attribute missing…);
- the XML reader itself (a tag not closed, a bare ``&``…), after "malformed XML: ";
- the YAML reader (procedure.yaml), after "not valid YAML: ";
- jsonschema's format checks (a form's ``pattern`` that is no regular expression);
- Python's parser, reading an expression or a script, after the sandbox's "Syntax error: ".

This table gives each its Vietnamese, saying what to change where the message allows.
Element names are written with their usual prefix (``bpmn:userTask``, see :func:`short`),
so the English is readable too. :mod:`engine.problem_texts` consults this table after its
own; a test reads SpiffWorkflow's parsers and checks that each of their messages is here.
"""

from __future__ import annotations

import re

NAMESPACES = {
    "http://www.omg.org/spec/BPMN/20100524/MODEL": "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow",
    "http://www.w3.org/2001/XMLSchema": "xs",
}
_CLARK = re.compile(r"\{([^{}\s]+)\}(?=[A-Za-z_])")


def short(message: str) -> str:
    """``{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask`` → ``bpmn:userTask``."""
    return _CLARK.sub(lambda m: f"{NAMESPACES[m.group(1)]}:" if m.group(1) in NAMESPACES
                      else m.group(0), message)


# (English pattern, Vietnamese template), as in engine.problem_texts; a trailing "." is
# optional, as the libraries put one or not.
CATALOGUE: list[tuple[str, str]] = [
    # --- SpiffWorkflow's BPMN parser
    (r"Non-default exclusive outgoing sequence flow without condition\.?",
     "luồng ra của cổng loại trừ không có điều kiện và không phải luồng mặc định: ghi điều "
     "kiện cho luồng, hoặc đặt nó làm luồng mặc định của cổng"),
    (r"Multiple outgoing flows are not supported for tasks of type",
     "phần tử loại này không được có nhiều luồng ra: rẽ nhánh bằng một cổng"),
    (r"When looking for a task spec, we found two items, perhaps a form has the same ID\? "
     r"\((?P<a>.+)\)\.?",
     "luồng dẫn tới '{a}', không phải một phần tử của quy trình này (hoặc mã của nó bị "
     "trùng): nối luồng tới một bước của quy trình"),
    (r"Process (?P<a>.+) is not executable\.?",
     'quy trình {a} không được đánh dấu thực thi: đặt isExecutable="true" cho quy trình'),
    (r"No start event found\.?", "quy trình không có sự kiện bắt đầu: vẽ một sự kiện bắt đầu"),
    (r"There is no support implemented for this task type\.?",
     "chưa hỗ trợ loại phần tử này: dùng một loại tác vụ khác"),
    (r"Sequential ordering for ad hoc subprocesses not supported\.?",
     "chưa hỗ trợ thứ tự tuần tự cho quy trình con tùy biến"),
    (r"Ad hoc subprocesses may not contain start or end events\.?",
     "quy trình con tùy biến không được có sự kiện bắt đầu hoặc kết thúc"),
    (r"Could not find messageRef from message event definition: (?P<a>.+?)\.?",
     "sự kiện thông điệp {a} trỏ tới một thông điệp không có: chọn thông điệp cho sự kiện"),
    (r"Duplicate process ID: (?P<a>.+?)\.?",
     "mã quy trình {a} bị trùng: mỗi quy trình cần một mã riêng"),
    (r"The process '(?P<a>.+?)' was not found\. Did you mean one of the following: "
     r"(?P<b>.*)\?\.?",
     "không có quy trình '{a}'; các quy trình có: {b}"),
    (r"Message identifier is missing from bpmn xml\.?",
     "một thông điệp (bpmn:message) thiếu mã id"),
    (r"Signal identifier is missing from bpmn xml\.?", "một tín hiệu (bpmn:signal) thiếu mã id"),
    (r"Error identifier is missing from bpmn xml\.?", "một lỗi (bpmn:error) thiếu mã id"),
    (r"Escalation identifier is missing from bpmn xml\.?",
     "một leo thang (bpmn:escalation) thiếu mã id"),
    (r"Correlation identifier is missing from bpmn xml\.?",
     "một thuộc tính tương quan (bpmn:correlationProperty) thiếu mã id"),
    (r"Correlation is missing correlation property retrieval expressions: (?P<a>.+?)\.?",
     "thuộc tính tương quan {a} chưa có biểu thức lấy giá trị từ thông điệp "
     "(correlationPropertyRetrievalExpression)"),
    (r"Message identifier is missing from correlation property: (?P<a>.+?)\.?",
     "biểu thức lấy giá trị của thuộc tính tương quan {a} chưa chọn thông điệp"),
    (r"Data Store identifier is missing from bpmn xml\.?",
     "một kho dữ liệu (bpmn:dataStore) thiếu mã id"),
    (r"Data Store name is missing from bpmn xml\.?", "một kho dữ liệu (bpmn:dataStore) thiếu tên"),
    (r"Data Store with name (?P<a>.+) has no implementation\.?",
     "kho dữ liệu {a} không có cài đặt nào"),
    (r"Conditional event definition with missing condition\.?",
     "sự kiện điều kiện chưa có điều kiện: ghi điều kiện cho sự kiện"),
    (r"Unknown Time Specification\.?",
     "hẹn giờ chưa có thời gian: chọn thời điểm, khoảng thời gian hoặc chu kỳ và ghi biểu "
     "thức của nó"),
    (r"Time Specification Error\. (?P<inner>.+?)\.?",
     "biểu thức thời gian của hẹn giờ bị lỗi: {inner}"),
    (r"Cannot resolve dataInputAssociation (?P<a>.+?)\.?",
     "không tìm thấy dữ liệu vào {a} của liên kết dữ liệu (dataInputAssociation)"),
    (r"Cannot resolve dataOutputAssociation (?P<a>.+?)\.?",
     "không tìm thấy dữ liệu ra {a} của liên kết dữ liệu (dataOutputAssociation)"),
    (r"Exactly one start event is required in a SubWorkflow Task; found (?P<a>\S+?)\.?",
     "quy trình con cần đúng một sự kiện bắt đầu; đang có {a}"),
    (r"A SubWorkflow Must contain an End event\.?",
     "quy trình con cần có một sự kiện kết thúc"),
    (r'No "calledElement" attribute for Call Activity\.?',
     "hoạt động gọi chưa chọn quy trình được gọi (calledElement)"),
    (r"Invalid Script Task\.  No Script Provided\. ?(?P<a>.*)",
     "tác vụ kịch bản chưa có kịch bản: viết kịch bản cho tác vụ"),
    (r"A Service Task must have an operator\.?",
     "tác vụ dịch vụ chưa có thao tác: chọn thao tác cho tác vụ"),
    (r"A loopMaximum or loopCondition must be specified for Loop Tasks\.?",
     "tác vụ lặp cần số lần lặp tối đa (loopMaximum) hoặc điều kiện lặp (loopCondition)"),
    (r"A multiinstance task must specify a cardinality or a collection\.?",
     "tác vụ nhiều lần cần số lần (cardinality) hoặc một danh sách để lặp qua"),
    (r"A multiinstance task must specify a cardinality or a loop input data reference\.?",
     "tác vụ nhiều lần cần số lần (cardinality) hoặc dữ liệu vào để lặp qua "
     "(loopDataInputRef)"),
    (r"A multiinstance task must specify exactly one of cardinality or loop input data "
     r"reference\.?",
     "tác vụ nhiều lần chỉ ghi một trong hai: số lần (cardinality) hoặc dữ liệu vào để lặp "
     "qua (loopDataInputRef)"),
    (r"The loop input data reference is missing from the IO specification\.?",
     "dữ liệu vào để lặp qua (loopDataInputRef) không có trong đặc tả vào/ra của tác vụ"),
    (r"The loop output data reference is missing from the IO specification\.?",
     "dữ liệu ra của vòng lặp (loopDataOutputRef) không có trong đặc tả vào/ra của tác vụ"),
    (r"Cancel Events may only be used with transactions\.?",
     "sự kiện hủy chỉ dùng được với giao dịch"),
    (r"Expected a Message node\.?", "sự kiện thông điệp chưa chọn thông điệp (bpmn:message)"),
    (r"Expected a Signal node\.?", "sự kiện tín hiệu chưa chọn tín hiệu (bpmn:signal)"),
    (r"Expected an? [Ee]rror node\.?", "sự kiện lỗi chưa chọn lỗi (bpmn:error)"),
    (r"Expected an Escalation node\.?",
     "sự kiện leo thang chưa chọn leo thang (bpmn:escalation)"),
    # --- SpiffWorkflow's DMN parser
    (r'No DMN Diagram available with id "(?P<a>.+?)", Available DMN ids are: (?P<b>.*?)\.?',
     'không có bảng quyết định mã "{a}"; các mã có: {b}'),
    (r"No decisions found\.?", "tệp DMN không có quyết định nào"),
    (r"Multiple decision tables are not current supported\.?",
     "chưa hỗ trợ nhiều bảng quyết định trong một quyết định"),
    (r"Unknown type in decision table: (?P<a>.+?)\.?",
     "bảng quyết định có phần tử không rõ: {a}"),
    (r"Malformed Output Expression '(?P<a>.*?)'\. (?P<b>.*)",
     "biểu thức kết quả '{a}' viết sai: {b}"),
    # --- the BPMN XML Schema (libxml2)
    (r"Element '(?P<a>[^']+)', attribute 'id': '(?P<b>[^']*)' is not a valid value of the "
     r"atomic type 'xs:ID'\.?",
     "mã '{b}' của {a} bị trùng với phần tử khác hoặc viết sai: mỗi phần tử cần một mã riêng, "
     "bắt đầu bằng chữ cái, không dấu cách"),
    (r"Element '(?P<a>[^']+)', attribute '(?P<b>[^']+)': '(?P<c>[^']*)' is not a valid value of "
     r"the (?P<d>.+?)\.?",
     "giá trị '{c}' của thuộc tính {b} trên {a} không hợp lệ ({d})"),
    (r"Element '(?P<a>[^']+)', attribute '(?P<b>[^']+)': The attribute '[^']+' is not "
     r"allowed\.?",
     "thuộc tính {b} không được phép trên {a}: bỏ thuộc tính này"),
    (r"Element '(?P<a>[^']+)': The attribute '(?P<b>[^']+)' is required but missing\.?",
     "{a} thiếu thuộc tính bắt buộc {b}"),
    (r"Element '(?P<a>[^']+)': This element is not expected\. Expected is (?P<b>.+?)\.?",
     "{a} không được đặt ở đây; ở chỗ này cần {b}"),
    (r"Element '(?P<a>[^']+)': This element is not expected\.?",
     "{a} không được đặt ở đây: chuyển hoặc bỏ phần tử này"),
    (r"Element '(?P<a>[^']+)': Missing child element\(s\)\. Expected is (?P<b>.+?)\.?",
     "{a} thiếu phần tử con: cần {b}"),
    (r"Element '(?P<a>[^']+)': Character content other than whitespace is not allowed because "
     r"the content type is 'element-only'\.?",
     "{a} chỉ chứa phần tử con, không chứa chữ: bỏ phần chữ thừa"),
    (r"Element '(?P<a>[^']+)': '(?P<b>[^']*)' is not a valid value of the (?P<c>.+?)\.?",
     "giá trị '{b}' của {a} không hợp lệ ({c})"),
    # --- the XML reader (libxml2), inside "malformed XML: …"
    (r"Opening and ending tag mismatch: (?P<a>\S+) line (?P<b>\d+) and (?P<c>\S+)",
     "thẻ mở <{a}> (dòng {b}) lại được đóng bằng </{c}>"),
    (r"Premature end of data in tag (?P<a>\S+) line (?P<b>\d+)",
     "tệp kết thúc khi thẻ <{a}> (dòng {b}) chưa đóng"),
    (r"Couldn't find end of Start Tag (?P<a>\S+)(?: line (?P<b>\d+))?",
     "thẻ mở <{a}> chưa kết thúc bằng '>'"),
    (r"Namespace prefix (?P<a>\S+) for (?P<b>\S+) on (?P<c>\S+) is not defined",
     "tiền tố {a} (của thuộc tính {b} trên {c}) chưa được khai báo xmlns:{a}"),
    (r"Namespace prefix (?P<a>\S+) on (?P<b>\S+) is not defined",
     "tiền tố {a} (của {b}) chưa được khai báo xmlns:{a}"),
    (r"Extra content at the end of the document", "còn nội dung thừa sau phần tử gốc"),
    (r"Document is empty", "tệp rỗng"),
    (r"Start tag expected, '<' not found", "tệp không bắt đầu bằng một thẻ XML"),
    (r"Attribute (?P<a>\S+) redefined", "thuộc tính {a} được ghi hai lần"),
    (r"attributes construct error", "thuộc tính viết sai (thiếu dấu = hoặc dấu nháy?)"),
    (r"AttValue: \" or ' expected", "giá trị thuộc tính phải đặt trong dấu nháy"),
    (r"AttValue: ' expected", "giá trị thuộc tính thiếu dấu nháy đóng '"),
    (r'AttValue: " expected', 'giá trị thuộc tính thiếu dấu nháy đóng "'),
    (r"Specification mandates value for attribute (?P<a>\S+)", "thuộc tính {a} cần có giá trị"),
    (r"xmlParseEntityRef: no name", "ký tự & đứng riêng: viết &amp;"),
    (r"EntityRef: expecting ';'", "ký tự & đứng riêng: viết &amp;"),
    (r"Entity '(?P<a>[^']+)' not defined", "thực thể &{a}; không được định nghĩa: viết &amp;{a};"),
    (r"StartTag: invalid element name", "tên thẻ không hợp lệ (ký tự < đứng riêng? viết &lt;)"),
    (r"EndTag: '</' not found", "thiếu thẻ đóng"),
    (r"Unescaped '<' not allowed in attributes values", "giá trị thuộc tính có ký tự <: viết &lt;"),
    (r"Input is not proper UTF-8, indicate encoding !.*", "tệp không phải UTF-8: lưu với mã "
                                                           "hóa UTF-8"),
    # --- jsonschema's format checks (engine.problem_texts has its other messages)
    (r"(?P<a>.+) is not a 'regex'",
     "{a} không phải biểu thức chính quy (regex) hợp lệ: kiểm tra các dấu ngoặc và dấu \\"),
    (r"(?P<a>.+) is not a '(?P<b>[^']+)'", "{a} không đúng định dạng {b}"),
    # --- the YAML reader (PyYAML), inside "not valid YAML: …" (procedure.yaml)
    (r"mapping values are not allowed here",
     "không được có dấu ':' ở đây: đặt giá trị có dấu ':' trong dấu nháy, hoặc sửa thụt lề"),
    (r"found character (?P<a>.+) that cannot start any token",
     "ký tự {a} không được đứng đầu một giá trị (thụt lề bằng dấu cách, không dùng tab)"),
    (r"could not find expected ':'", "thiếu dấu ':' sau khóa"),
    (r"found unexpected end of stream", "tệp kết thúc khi một dấu nháy chưa đóng"),
    (r"found unknown escape character (?P<a>.+)",
     "ký tự thoát {a} không hợp lệ trong chuỗi đặt trong dấu nháy kép"),
    (r"did not find expected key", "thụt lề không khớp: không thấy khóa ở chỗ này"),
    (r"did not find expected node content", "thiếu giá trị ở chỗ này"),
    (r"did not find expected '-' indicator", "thụt lề không khớp: cần một mục '-' của danh sách"),
    (r"found undefined alias (?P<a>.+)", "bí danh {a} chưa được định nghĩa"),
    (r"expected (?P<a>.+?), but (?:found|got) (?P<b>.+)",
     "thụt lề hoặc dấu ngoặc không khớp: cần {a}, nhưng gặp {b}"),
    # --- Python's parser, inside the sandbox's "Syntax error: …" (engine.problem_texts has
    # the commonest)
    (r"invalid character '(?P<a>.)' \(U\+(?P<b>[0-9A-F]{4,6})\)",
     "ký tự '{a}' (U+{b}) không dùng được trong biểu thức: dấu nháy là ' hoặc \", so sánh là "
     "==, !=, <, <=, >, >="),
    (r"invalid non-printable character U\+(?P<a>[0-9A-F]{4,6})",
     "có ký tự ẩn U+{a} (thường do sao chép, như dấu cách không ngắt): xóa và gõ lại đoạn đó"),
    (r"invalid decimal literal", "số viết sai (một tên không được bắt đầu bằng chữ số)"),
    (r"invalid (?:hexadecimal|octal|binary) literal", "số viết sai"),
    (r"leading zeros in decimal integer literals are not permitted; use an 0o prefix for "
     r"octal integers", "số nguyên không được bắt đầu bằng chữ số 0: viết 1 thay cho 01"),
    (r"expected 'else' after 'if' expression",
     "thiếu 'else': viết «giá trị if điều kiện else giá trị khác»"),
    (r"expression expected after dictionary key and ':'", "thiếu giá trị sau khóa và dấu ':'"),
    (r"closing parenthesis '(?P<a>.)' does not match opening parenthesis '(?P<b>.)'"
     r"(?: on line (?P<c>\d+))?", "dấu đóng '{a}' không khớp dấu mở '{b}'"),
    (r"unterminated triple-quoted string literal \(detected at line (?P<a>\d+)\)",
     "chuỗi ba dấu nháy chưa đóng (dòng {a})"),
    (r"f-string: empty expression not allowed", "f-string: cặp ngoặc {{}} rỗng"),
    (r"f-string: single '\}' is not allowed", "f-string: dấu '}}' đứng một mình: viết '}}}}'"),
    (r"f-string: expecting '\}'", "f-string: thiếu dấu '}}'"),
    (r"positional argument follows keyword argument",
     "đối số không tên đứng sau đối số có tên: đặt nó lên trước"),
    (r"keyword argument repeated: (?P<a>.+)", "đối số có tên {a} bị lặp lại"),
    (r"unexpected character after line continuation character",
     "có ký tự sau dấu nối dòng '\\': bỏ dấu '\\'"),
    (r"\(unicode error\) .+", "chuỗi có ký tự thoát '\\' viết sai: viết '\\\\' thay cho '\\'"),
    (r"unexpected indent", "thụt lề thừa"),
    (r"unindent does not match any outer indentation level",
     "thụt lề không khớp với dòng nào phía trên"),
    (r"expected an indented block after (?P<a>.+?) on line (?P<b>\d+)",
     "thiếu khối thụt lề sau {a} ở dòng {b}"),
]
