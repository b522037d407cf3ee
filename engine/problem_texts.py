"""The Vietnamese text of every deploy-time problem (lỗi khi kiểm tra gói thủ tục).

Validation (:mod:`engine.bundles`, :mod:`engine.elements`, :mod:`engine.procedures`) writes
each problem in English, naming the element and what to change. This catalogue gives the
Vietnamese of each kind: an English pattern and its Vietnamese template, the parts that
vary (ids, names, lists) carried over as they are. A part named ``inner`` is itself a
message (the advice after a refusal, a script error) and is translated in turn; script
errors come from the sandbox's own English/Vietnamese table; the libraries' messages
(SpiffWorkflow's parser, the BPMN XML Schema, the XML reader) from
:mod:`engine.library_texts`. A test renders every problem
message written in those modules and checks that each has its Vietnamese here, so a new
kind of problem cannot ship in English only.
"""

from __future__ import annotations

import re
from functools import lru_cache

from . import library_texts, sandbox_limits

# (English pattern, Vietnamese template). First match wins: put the specific before the general.
CATALOGUE: list[tuple[str, str]] = [
    # advice appended to a refusal about where an event may be drawn
    (r"(?P<inner>.+): attach it to a transaction", "{inner}: hãy gắn nó vào một giao dịch"),
    (r"(?P<inner>.+): draw it inside the transaction it cancels",
     "{inner}: hãy vẽ nó bên trong giao dịch mà nó hủy"),
    # --- files and procedure.yaml
    (r"file paths must stay inside the bundle", "đường dẫn tệp phải nằm trong gói thủ tục"),
    (r"not UTF-8 text", "không phải văn bản UTF-8: lưu tệp với mã hóa UTF-8"),
    (r"not valid YAML: (?P<inner>.+)", "không phải YAML hợp lệ: {inner}"),
    (r"must be a mapping of keys to values", "phải là một bảng khóa: giá trị"),
    (r"required key is missing", "thiếu khóa bắt buộc này"),
    (r"needs a Vietnamese name: name: \{vi: …\}", "cần tên tiếng Việt: name: {{vi: …}}"),
    (r"needs a whole value >= 0 and a unit among (?P<a>.+)",
     "cần giá trị là số nguyên >= 0 và đơn vị là một trong {a}"),
    (r"the deadline of a dossier filed online needs a whole value >= 0",
     "thời hạn cho hồ sơ nộp trực tuyến phải là số nguyên >= 0"),
    (r"a list of agency codes, or a selector such as \{kind: district_finance\}",
     "cần danh sách mã cơ quan, hoặc bộ chọn như {{kind: district_finance}}"),
    (r"level must be 3 or 4", "mức độ dịch vụ phải là 3 hoặc 4"),
    (r"must be a list of \{process_id, agency, deadline\}",
     "phải là danh sách {{process_id, agency, deadline}}"),
    (r"needs process_id: the id of a process of the bundle",
     "cần process_id: mã của một quy trình trong gói"),
    (r'must be an agency code, e\.g\. "000\.00\.13\.H56"',
     'phải là mã cơ quan, ví dụ "000.00.13.H56"'),
    (r"(?P<a>.+) is the process a submission starts; a cooperating process is another one",
     "{a} là quy trình khởi động khi nộp hồ sơ; quy trình liên thông phải là quy trình khác"),
    (r"a process is listed twice", "một quy trình được liệt kê hai lần"),
    (r"processes (?P<a>.+?) and (?P<b>.+?) both start on message (?P<c>.+?): one message "
     r"starts one process",
     "quy trình {a} và {b} cùng khởi động bằng thông điệp {c}: mỗi thông điệp chỉ khởi động "
     "một quy trình"),
    (r"no agency with code (?P<a>.+)", "không có cơ quan mã {a}"),
    (r"no active agency matches (?P<a>.+)", "không có cơ quan đang hoạt động nào khớp {a}"),
    (r"message (?P<a>.+?) already starts process (?P<b>.+?) of procedure (?P<c>.+?); (?P<d>.+?) "
     r"of (?P<e>.+?) cannot start on it too: rename the message",
     "thông điệp {a} đã khởi động quy trình {b} của thủ tục {c}; {d} của {e} không thể cũng "
     "khởi động bằng nó: hãy đổi tên thông điệp"),
    (r"several processes \((?P<a>.+)\): name the one to start with process_id in "
     r"procedure\.yaml",
     "có nhiều quy trình ({a}): ghi quy trình khởi động bằng process_id trong procedure.yaml"),
    (r"several processes \((?P<a>.+)\): name the one to start with process_id in "
     r"procedure\.yaml \(or --process\)",
     "có nhiều quy trình ({a}): ghi quy trình khởi động bằng process_id trong procedure.yaml "
     "(hoặc --process)"),
    (r"several processes \((?P<a>.+?)\): starting (?P<b>.+?), which no other process calls "
     r"\(name another with process_id in procedure\.yaml, or --process\)",
     "có nhiều quy trình ({a}): khởi động {b}, quy trình không được quy trình nào khác gọi "
     "(chọn quy trình khác bằng process_id trong procedure.yaml, hoặc --process)"),
    (r'no executable process: set isExecutable="true" on the process to run',
     'không có quy trình nào thực thi được: đặt isExecutable="true" cho quy trình cần chạy'),
    (r"the bundle has no procedure\.yaml", "gói thủ tục thiếu procedure.yaml"),
    (r"the bundle has no diagram", "gói thủ tục chưa có sơ đồ (.bpmn)"),
    (r"missing", "còn thiếu"),
    # --- forms
    (r"the form file is not in the bundle", "tệp biểu mẫu không có trong gói thủ tục"),
    (r"(?P<a>\S+) is not in the bundle", "{a} không có trong gói thủ tục"),
    (r"not valid JSON: (?P<inner>.+?): line (?P<a>\d+) column (?P<b>\d+) \(char \d+\)",
     "không phải JSON hợp lệ: {inner} (dòng {a}, cột {b})"),
    (r"not valid JSON: (?P<inner>.+)", "không phải JSON hợp lệ: {inner}"),
    (r"not a valid JSON Schema: (?P<inner>.+)", "không phải JSON Schema hợp lệ: {inner}"),
    (r'a form schema must have "type": "object"',
     'lược đồ biểu mẫu phải có "type": "object" ở gốc'),
    # jsonschema's own messages, inside the one above
    (r"(?P<a>.+) is not of type (?P<b>.+)", "{a} không thuộc kiểu {b}"),
    (r"(?P<a>.+) is not valid under any of the given schemas",
     "{a} không khớp lược đồ nào được phép"),
    (r"(?P<a>.+) is a required property", "thiếu thuộc tính bắt buộc {a}"),
    (r"(?P<a>.+) is not one of (?P<b>.+)", "{a} không thuộc {b}"),
    (r"Additional properties are not allowed \((?P<a>.+)\)",
     "không được có thêm thuộc tính ({a})"),
    (r"(?P<a>.+) is too short", "{a} quá ngắn"),
    (r"(?P<a>.+) is too long", "{a} quá dài"),
    (r"(?P<a>.+) does not match (?P<b>['\"].*)", "{a} không khớp mẫu {b}"),
    (r"(?P<a>.+) is less than the minimum of (?P<b>.+)", "{a} nhỏ hơn giá trị tối thiểu {b}"),
    (r"(?P<a>.+) is greater than the maximum of (?P<b>.+)", "{a} lớn hơn giá trị tối đa {b}"),
    (r"(?P<a>.+) has non-unique elements", "{a} có phần tử lặp lại"),
    (r"(?P<a>.+) should be non-empty", "{a} không được để trống"),
    # Python's JSON reader, inside "not valid JSON: …"
    (r"Expecting value", "thiếu giá trị"),
    (r"Expecting property name enclosed in double quotes",
     "tên thuộc tính phải đặt trong dấu nháy kép"),
    (r"Expecting (?P<a>'.+?') delimiter", "thiếu dấu {a}"),
    (r"Extra data", "còn dữ liệu thừa sau JSON"),
    (r"Unterminated string starting at", "chuỗi chưa đóng dấu nháy"),
    (r"Invalid control character at", "ký tự điều khiển không hợp lệ"),
    # --- the diagram's XML
    # the reader's own message is translated in turn (engine.library_texts)
    (r"malformed XML: (?P<inner>.+?), line (?P<a>\d+), column (?P<b>\d+)",
     "XML sai cấu trúc: {inner} (dòng {a}, cột {b})"),
    (r"malformed XML: (?P<inner>.+)", "XML sai cấu trúc: {inner}"),
    # --- elements (engine.elements)
    (r"business rule \(DMN\) tasks are not supported: decide with an exclusive gateway or "
     r"compute the value in a script task",
     "chưa hỗ trợ tác vụ quy tắc nghiệp vụ (DMN): hãy quyết định bằng cổng loại trừ hoặc "
     "tính giá trị trong tác vụ kịch bản"),
    (r"complex gateways are not supported: use an exclusive, parallel or inclusive gateway",
     "chưa hỗ trợ cổng phức hợp: dùng cổng loại trừ, song song hoặc bao hàm"),
    (r"transaction sub-processes are not supported: use an embedded sub-process with an error "
     r"boundary event",
     "chưa hỗ trợ quy trình con giao dịch: dùng quy trình con nhúng với sự kiện biên lỗi"),
    (r"ad-hoc sub-processes are not supported: model the steps with a parallel or inclusive "
     r"gateway",
     "chưa hỗ trợ quy trình con tùy biến: vẽ các bước với cổng song song hoặc bao hàm"),
    (r"data stores are not supported: keep values in the dossier's data \(form fields, script "
     r"variables\)",
     "chưa hỗ trợ kho dữ liệu: giữ giá trị trong dữ liệu hồ sơ (trường biểu mẫu, biến kịch "
     "bản)"),
    (r"choreographies are not supported: use messages between processes",
     "chưa hỗ trợ vũ đạo (choreography): dùng thông điệp giữa các quy trình"),
    (r"signal events are not supported \(a signal would reach every waiting dossier\): use a "
     r"message, addressed with a correlation property",
     "chưa hỗ trợ sự kiện tín hiệu (tín hiệu sẽ tới mọi hồ sơ đang chờ): dùng thông điệp có "
     "thuộc tính tương quan"),
    (r"conditional events are not supported: use an exclusive gateway, or a timer followed by "
     r"a gateway that checks again",
     "chưa hỗ trợ sự kiện điều kiện: dùng cổng loại trừ, hoặc hẹn giờ rồi cổng kiểm tra lại"),
    (r"compensation is not supported: after an error boundary event, draw the steps that undo "
     r"the work",
     "chưa hỗ trợ bù trừ (compensation): sau sự kiện biên lỗi, vẽ các bước hoàn tác"),
    (r"link events are not supported: draw the sequence flow instead",
     "chưa hỗ trợ sự kiện liên kết: hãy vẽ luồng tuần tự"),
    (r"cancel events belong to transactions, which are not supported: use an error end event "
     r"and an error boundary event",
     "sự kiện hủy thuộc về giao dịch, chưa được hỗ trợ: dùng sự kiện kết thúc lỗi và sự kiện "
     "biên lỗi"),
    (r"event definitions referenced from elsewhere \(eventDefinitionRef\) are not supported: "
     r"put the definition inside the event",
     "chưa hỗ trợ định nghĩa sự kiện tham chiếu (eventDefinitionRef): đặt định nghĩa trong "
     "chính sự kiện"),
    (r"a message start event only starts a pool of the collaboration .*",
     "sự kiện bắt đầu bằng thông điệp chỉ khởi động một bể (pool) của cộng tác mà thủ tục "
     "chạy, từ thông điệp của bể khác, một quy trình ghi trong cooperating: của "
     "procedure.yaml, hoặc chính quy trình của thủ tục (thông điệp của hệ thống khác khởi tạo "
     "hồ sơ)"),
    (r"process (?P<a>.+?) starts on a message from another system: its start event (?P<b>.+?) "
     r"must be a message start event too \(a procedure is either submitted or started by a "
     r"message\)",
     "quy trình {a} bắt đầu bằng thông điệp từ hệ thống khác: sự kiện bắt đầu {b} cũng phải là "
     "sự kiện bắt đầu bằng thông điệp (thủ tục hoặc được nộp, hoặc được khởi tạo bằng thông "
     "điệp)"),
    (r"a start event with several event definitions may combine only messages \(any of them "
     r"starts the dossier\): draw one start event for each other kind",
     "sự kiện bắt đầu có nhiều định nghĩa chỉ được kết hợp các thông điệp (thông điệp nào đến "
     "cũng khởi tạo hồ sơ): vẽ một sự kiện bắt đầu riêng cho mỗi loại khác"),
    (r"a start event that waits for all of several messages \(parallelMultiple\) is not "
     r"supported: .*",
     "chưa hỗ trợ sự kiện bắt đầu chờ đủ nhiều thông điệp (parallelMultiple): hồ sơ khởi tạo "
     "bằng một thông điệp; hãy bắt các thông điệp còn lại bằng sự kiện chờ thông điệp sau sự "
     "kiện bắt đầu"),
    (r"a dossier's process starts when the dossier is submitted: use a none start event .*",
     "quy trình của hồ sơ bắt đầu khi hồ sơ được nộp: dùng sự kiện bắt đầu thường (đặt sự "
     "kiện chờ hẹn giờ sau nó nếu cần chờ)"),
    (r"a message start event only starts a process listed under cooperating: .*",
     "sự kiện bắt đầu bằng thông điệp chỉ khởi động quy trình ghi trong cooperating: của "
     "procedure.yaml; quy trình của hồ sơ bắt đầu bằng sự kiện bắt đầu thường (đặt sự kiện "
     "chờ thông điệp sau nó nếu cần chờ)"),
    (r"an event sub-process runs only directly in a process, where .*",
     "quy trình con sự kiện chỉ chạy khi nằm trực tiếp trong một quy trình, nơi sự kiện bắt "
     "đầu của nó được lắng nghe: vẽ nó cạnh các bước ở cấp cao nhất của quy trình, hoặc gắn "
     "sự kiện biên vào quy trình con bao quanh các bước"),
    (r"an event sub-process runs only in a process a dossier runs; process (?P<a>.+?) is "
     r"called or is a pool, .*",
     "quy trình con sự kiện chỉ chạy trong quy trình mà hồ sơ chạy; quy trình {a} được gọi "
     "từ nơi khác hoặc là một pool, nơi không gì khởi động nó: hãy gắn sự kiện biên vào "
     "hoạt động gọi"),
    (r"an event sub-process has exactly one start event \(a signal start event\)",
     "quy trình con sự kiện có đúng một sự kiện bắt đầu (sự kiện bắt đầu bằng tín hiệu)"),
    (r"an event sub-process starts here only on a signal thrown in its dossier; .*",
     "quy trình con sự kiện ở đây chỉ bắt đầu khi có tín hiệu phát ra trong chính hồ sơ; "
     "với hẹn giờ, thông điệp hay điều kiện, hãy gắn sự kiện biên (ngắt hoặc không ngắt) "
     "vào một quy trình con nhúng bao quanh các bước liên quan"),
    (r"calls process (?P<a>.+?), which is not in the bundle \(processes: (?P<b>.*)\)",
     "gọi quy trình {a}, không có trong gói (các quy trình: {b})"),
    (r"a multi-instance activity needs a loopCardinality or a loopDataInputRef .*",
     "hoạt động đa thể hiện cần loopCardinality hoặc loopDataInputRef (tập hợp để chạy qua)"),
    (r"compensation activities are not supported: (?P<inner>.+)",
     "chưa hỗ trợ hoạt động bù trừ: {inner}"),
    (r"no process (?P<a>.+?) in the bundle \(processes: (?P<b>.*)\)",
     "không có quy trình {a} trong gói (các quy trình: {b})"),
    (r"process (?P<a>.+?) needs a message start event: another dossier's message starts it",
     "quy trình {a} cần sự kiện bắt đầu bằng thông điệp: thông điệp của hồ sơ khác khởi động "
     "nó"),
    (r"process (?P<a>.+?) is started by a message: its start event (?P<b>.+?) must be a "
     r"message start event too",
     "quy trình {a} được khởi động bằng thông điệp: sự kiện bắt đầu {b} cũng phải là sự kiện "
     "bắt đầu bằng thông điệp"),
    (r"drawn in lane '(?P<a>.+?)', but the sub-process '(?P<b>.+?)' around it is in lane "
     r"'(?P<c>.+?)', .*",
     "được vẽ trong làn '{a}' nhưng quy trình con '{b}' bao quanh nó nằm trong làn '{c}', áp "
     "dụng cho mọi bước bên trong: hãy đưa quy trình con ra khỏi các làn để mỗi bước giữ làn "
     "của mình"),
    (r"an event with several event definitions is not supported: .*",
     "chưa hỗ trợ sự kiện có nhiều định nghĩa: dùng cổng dựa trên sự kiện để chờ một trong "
     "nhiều sự kiện"),
    (r"a boundary event needs an event definition \(timer, message, error or escalation\)",
     "sự kiện biên cần định nghĩa sự kiện (hẹn giờ, thông điệp, lỗi hoặc leo thang)"),
    (r"(?P<a>\S+) (?P<b>\S+)s are not supported; supported here: (?P<c>.+)",
     "chưa hỗ trợ {b} loại {a}; ở đây hỗ trợ: {c}"),
    (r"an error boundary event always interrupts its activity: .*",
     "sự kiện biên lỗi luôn ngắt hoạt động của nó: bỏ cancelActivity=\"false\""),
    (r"error (?P<a>.+?) is not caught: (?P<inner>.+?)\. Attach an error boundary event .*",
     "lỗi {a} không được bắt: {inner}. Gắn sự kiện biên lỗi với mã này vào quy trình con hoặc "
     "hoạt động gọi bao quanh nó"),
    (r"it leaves the diagram", "nó thoát khỏi sơ đồ"),
    (r"it leaves process (?P<a>.+)", "nó thoát khỏi quy trình {a}"),
    (r"a message event, send task or receive task must name a bpmn:message \(messageRef\)",
     "sự kiện thông điệp, tác vụ gửi hoặc nhận phải chỉ tới một bpmn:message (messageRef)"),
    (r"message (?P<a>.+?) needs a name: messages are matched by name",
     "thông điệp {a} cần tên: thông điệp được ghép theo tên"),
    (r"message (?P<a>.+?) has several correlation properties; .*",
     "thông điệp {a} có nhiều thuộc tính tương quan; chỉ dùng một (ví dụ mã hồ sơ nhận)"),
    (r"after an event-based gateway every flow must lead to a message or timer catch event "
     r"\((?P<a>.+?) is not one\)",
     "sau cổng dựa trên sự kiện, mọi luồng phải dẫn tới sự kiện chờ thông điệp hoặc hẹn giờ "
     "({a} thì không)"),
    (r"an event-based gateway may wait for one timer at most: keep the earliest",
     "cổng dựa trên sự kiện chỉ chờ tối đa một hẹn giờ: giữ hẹn giờ sớm nhất"),
    # --- steps (engine.bundles)
    (r"a manual or untyped task waits for a person: put it in a lane whose name is a role, "
     r"name a default_role in procedure\.yaml, or make it a script or service task",
     "tác vụ thủ công hoặc chưa định kiểu chờ một người làm: đặt nó vào làn có tên là một vai "
     "trò, ghi default_role trong procedure.yaml, hoặc đổi thành tác vụ kịch bản hay dịch vụ"),
    (r"a manual or untyped task waits for a person: .*",
     "tác vụ thủ công hoặc chưa định kiểu chờ một người làm: đặt nó vào làn có tên là một vai "
     "trò, hoặc đổi thành tác vụ kịch bản hay tác vụ dịch vụ"),
    (r"lane '(?P<a>.+?)' is not a known role \(known: (?P<b>.*)\): rename the lane to a role "
     r"code, or name a default_role in procedure\.yaml",
     "làn '{a}' không phải vai trò đã biết (các vai trò: {b}): đổi tên làn thành mã một vai "
     "trò, hoặc ghi default_role trong procedure.yaml"),
    (r"lane '(?P<a>.+?)' is not a known role \(known: (?P<b>.*)\)",
     "làn '{a}' không phải vai trò đã biết (các vai trò: {b}): chọn vai trò cho làn"),
    (r"form (?P<a>.+?) is not checked: a diagram checked on its own has no forms \(deploy it "
     r"in a bundle that holds the file\)",
     "biểu mẫu {a} chưa được kiểm tra: sơ đồ kiểm tra riêng không kèm biểu mẫu (hãy triển khai "
     "nó trong gói thủ tục có tệp này)"),
    (r"lane '(?P<a>.+?)' is not a role: given to role (?P<b>.+?) \((?P<inner>.+)\)",
     "làn '{a}' không phải vai trò: giao cho vai trò {b} ({inner})"),
    (r"a user task must be in a lane whose name is a role, or procedure\.yaml must name a "
     r"default_role",
     "tác vụ người dùng phải nằm trong một làn có tên là vai trò, hoặc procedure.yaml phải "
     "ghi default_role"),
    (r"not in a lane: given to role (?P<a>.+?) \((?P<inner>.+)\)",
     "không nằm trong làn nào: giao cho vai trò {a} ({inner})"),
    (r"default_role in procedure\.yaml", "default_role trong procedure.yaml"),
    (r"the default for a diagram checked on its own; name another with default_role: in "
     r"procedure\.yaml",
     "mặc định khi kiểm tra riêng một sơ đồ; chọn vai trò khác bằng default_role: trong "
     "procedure.yaml"),
    (r"a user task must be in a lane whose name is a role",
     "tác vụ người dùng phải nằm trong một làn có tên là vai trò"),
    (r"(?P<a>.+?) is not a known role \(known: (?P<b>.*)\)",
     "{a} không phải vai trò đã biết (các vai trò: {b})"),
    (r"signDocument '(?P<a>.+?)' is not under documents: in procedure\.yaml",
     "văn bản cần ký '{a}' không có trong documents: của procedure.yaml"),
    (r"sameAssigneeAs '(?P<a>.+?)' is not the id of a user task",
     "sameAssigneeAs '{a}' không phải mã của một tác vụ người dùng"),
    (r"unknown service operator '(?P<a>.+?)' \(registered: (?P<b>.*)\)",
     "không có thao tác dịch vụ '{a}' (các thao tác: {b})"),
    (r"operator '(?P<a>.+?)' has no parameter '(?P<b>.+?)'",
     "thao tác '{a}' không có tham số '{b}'"),
    (r"operator '(?P<a>.+?)' needs parameter '(?P<b>.+?)'", "thao tác '{a}' cần tham số '{b}'"),
    # the expression as Python writes a string (it may hold ": " itself), else up to ": "
    (r"expression (?P<a>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"): (?P<inner>.+)",
     "biểu thức {a}: {inner}"),
    (r"expression (?P<a>.+?): (?P<inner>.+)", "biểu thức {a}: {inner}"),
    # Python's own syntax messages, inside the sandbox's "Syntax error: …"
    (r"invalid syntax", "sai cú pháp"),
    (r"unexpected EOF while parsing", "biểu thức kết thúc đột ngột"),
    (r"unterminated string literal \(detected at line (?P<a>\d+)\)",
     "chuỗi chưa đóng dấu nháy (dòng {a})"),
    (r"'(?P<a>.)' was never closed", "dấu '{a}' chưa được đóng"),
    (r"unmatched '(?P<a>.)'", "dấu '{a}' không có cặp"),
    (r"invalid syntax\. Perhaps you forgot a comma\?", "sai cú pháp: có thể thiếu dấu phẩy"),
    (r"expected ':'", "thiếu dấu ':'"),
    (r"cannot assign to (?P<a>.+)", "không thể gán cho {a}"),
    # --- warnings (engine.bundle_warnings)
    (r"a reception or approval step in the applicant's lane: (?P<a>.+?) is done by the "
     r"applicant; move it to the lane of the officers who do it",
     "bước tiếp nhận hoặc phê duyệt nằm trong làn người nộp hồ sơ: {a} sẽ do người nộp làm; "
     "hãy chuyển nó sang làn của cán bộ thực hiện"),
    (r"a user task with no form: the person only clicks “done”; choose a form if they decide "
     r"or enter something",
     "tác vụ người dùng không có biểu mẫu: người làm chỉ bấm “xong”; hãy chọn biểu mẫu nếu họ "
     "cần quyết định hay nhập thông tin"),
    (r"a gateway without a default flow: a dossier whose data matches no condition stops here; "
     r"mark one outgoing flow as the default",
     "cổng rẽ nhánh không có luồng mặc định: hồ sơ có dữ liệu không khớp điều kiện nào sẽ dừng "
     "tại đây; hãy đánh dấu một luồng ra là mặc định"),
    # --- levels (Decree 42/2022), form sets, DMN, signals, transactions, Camunda import
    (r"a level-(?P<a>.+?) procedure is not offered online \(Decree 42/2022/NĐ-CP\), so it has "
     r"no online label: remove (?P<b>.+?) or raise the level",
     "thủ tục mức {a} không phải dịch vụ công trực tuyến (Nghị định 42/2022/NĐ-CP) nên không "
     "có nhãn trực tuyến: bỏ {b} hoặc nâng mức"),
    (r"level (?P<a>.+?) pairs with the online label (?P<b>.+?) \(Decree 42/2022/NĐ-CP\), not "
     r"(?P<c>.+?); (?P<d>.+?) is level (?P<e>.+?)'s label",
     "mức {a} tương ứng với nhãn {b} (Nghị định 42/2022/NĐ-CP), không phải {c}; {d} là nhãn "
     "của mức {e}"),
    (r"level (?P<a>.+?) pairs with the online label (?P<b>.+?) \(Decree 42/2022/NĐ-CP\), not "
     r"(?P<c>.+)",
     "mức {a} tương ứng với nhãn {b} (Nghị định 42/2022/NĐ-CP), không phải {c}"),
    (r"no form set (?P<a>.+?) \(known: (?P<b>.*)\)", "không có bộ biểu mẫu {a} (hiện có: {b})"),
    (r"a DMN file needs a decision \(with a decision table\) for a business rule task to name",
     "tệp DMN cần có một quyết định (kèm bảng quyết định) để tác vụ quy tắc nghiệp vụ gọi tới"),
    (r"decision (?P<a>.+?) is also in (?P<b>.+?): ids must be unique",
     "quyết định {a} cũng có trong {b}: mã quyết định phải là duy nhất"),
    (r"decision table (?P<a>.+?): (?P<b>.+?): (?P<inner>.+)", "bảng quyết định {a}: {b}: {inner}"),
    (r"candidate group (?P<a>.+?) is not a role code: rename the group to one of (?P<b>.+)",
     "nhóm ứng viên {a} không phải mã vai trò: đổi tên nhóm thành một trong {b}"),
    (r"a business rule task names the decision it runs: add spiffworkflow:calledDecisionId with "
     r"the id of a decision in a \.dmn file of the bundle",
     "tác vụ quy tắc nghiệp vụ phải nêu quyết định nó chạy: thêm "
     "spiffworkflow:calledDecisionId với mã của một quyết định trong tệp .dmn của gói"),
    (r"a cancel event belongs to a transaction: a cancel end event inside it, a cancel boundary "
     r"event on it",
     "sự kiện hủy thuộc về một giao dịch: sự kiện kết thúc hủy nằm bên trong giao dịch, sự kiện "
     "biên hủy gắn trên giao dịch"),
    (r"a conditional start or end event is not supported: use a none start event, then a "
     r"conditional catch event",
     "chưa hỗ trợ sự kiện bắt đầu hoặc kết thúc có điều kiện: dùng sự kiện bắt đầu thường, rồi "
     "một sự kiện chờ có điều kiện"),
    (r"a signal event must name a bpmn:signal that has a name \(signalRef\)",
     "sự kiện tín hiệu phải trỏ tới một bpmn:signal có tên (signalRef)"),
    (r"a signal start event is not supported \(a dossier's process starts when it is submitted; "
     r"a signal stays inside its dossier\): use a none start event",
     "chưa hỗ trợ sự kiện bắt đầu bằng tín hiệu (quy trình của hồ sơ bắt đầu khi hồ sơ được "
     "nộp; tín hiệu chỉ có hiệu lực trong hồ sơ của nó): dùng sự kiện bắt đầu thường"),
    (r"a start event with several event definitions is not supported: a dossier's process "
     r"starts when it is submitted",
     "chưa hỗ trợ sự kiện bắt đầu có nhiều định nghĩa sự kiện: quy trình của hồ sơ bắt đầu khi "
     "hồ sơ được nộp"),
    (r"an event with several event definitions may combine only (?P<a>.+?) here: use an "
     r"event-based gateway to wait for one of several other events",
     "sự kiện có nhiều định nghĩa ở đây chỉ được kết hợp {a}: dùng cổng theo sự kiện để chờ "
     "một trong nhiều sự kiện khác"),
    (r"calls process (?P<a>.+?), which leads back to the process this call is in: each call "
     r"would start another without end\. Draw a loop \(a gateway back, or a standard loop\) "
     r"instead",
     "gọi quy trình {a}, quy trình này dẫn ngược về quy trình chứa lời gọi: mỗi lần gọi lại "
     "khởi động thêm một lần, không có điểm dừng. Hãy vẽ một vòng lặp (cổng quay lại, hoặc vòng "
     "lặp chuẩn) thay thế"),
    (r"transaction (?P<a>.+?) has no cancel boundary event: attach one to say where a cancelled "
     r"transaction goes on",
     "giao dịch {a} không có sự kiện biên hủy: gắn một sự kiện như vậy để chỉ giao dịch bị hủy "
     "sẽ đi tiếp đến đâu"),
]

# Line suffixes the sandbox adds ("… (line 2)").
_LINE = re.compile(r"^(?P<body>.+) \(line (?P<n>\d+)\)$", re.S)


def _template(text: str) -> str:
    """A sandbox message template ("… {0:,} …") as a regular expression."""
    parts = re.split(r"(\{\d+[^}]*\})", text)
    return "".join(f"(?P<g{p[1]}>.+?)" if p.startswith("{") else re.escape(p) for p in parts)


@lru_cache(maxsize=1)
def _compiled() -> list[tuple[re.Pattern, str]]:
    entries = [(re.compile(pattern + "$", re.S), vi)
               for pattern, vi in CATALOGUE + library_texts.CATALOGUE]
    # Script errors, with the sandbox's own Vietnamese; "runtime" ("{0}: {1}") would match
    # anything and is never a deploy-time error.
    for code, (en, vi) in sandbox_limits.MESSAGES.items():
        if code == "runtime":
            continue
        pattern, template = _template(en), re.sub(r"\{(\d+)[^}]*\}", r"{g\1}", vi)
        if code == "syntax":  # Python's message inside is translated in turn
            pattern, template = pattern.replace("g0", "inner"), template.replace("g0", "inner")
        entries.append((re.compile(pattern + "$", re.S), template))
    return entries


def vietnamese(message: str) -> str | None:
    """The Vietnamese of an English problem message, or None when the catalogue lacks it."""
    message = message.strip()
    line = _LINE.match(message)
    if line:
        body = vietnamese(line.group("body"))
        return f"{body} (dòng {line.group('n')})" if body else None
    parts = [p.strip() for p in message.split("; ")] if "; " in message else []
    for pattern, template in _compiled():
        match = pattern.match(message)
        if match:
            values = match.groupdict()
            if "inner" in values:
                values["inner"] = vietnamese(values["inner"]) or values["inner"]
            return template.format(**values)
    if len(parts) > 1:  # several script errors joined by the sandbox
        translated = [vietnamese(p) for p in parts]
        if all(translated):
            return "; ".join(translated)
    return None


def in_vietnamese(message: str) -> str:
    """The Vietnamese text, else the English one marked as not yet translated (a message
    of a library, e.g. SpiffWorkflow's parser, that the catalogue does not know)."""
    return vietnamese(message) or f"(chưa dịch) {message}"
