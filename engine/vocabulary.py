"""The domain's words, in one place: dossier statuses, channels, audit actions, task
states and the built-in roles, each with its Vietnamese and English label.

Every term is an :class:`enum.StrEnum`, so a member *is* the string stored in the database
and sent by the API (``Status.SUBMITTED == "submitted"``); the values never change. The
Vietnamese label is the msgid web pages translate (``web/i18n.py``); a test checks that
the English catalogue gives the English label written here. New terms: add the member
here, then append its Vietnamese label to ``web/translations/en/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

from enum import StrEnum


def term(value: str, vi: str, en: str) -> tuple[str, str, str]:
    """One entry: the stored value, its Vietnamese label and its English label (the
    second argument is what ``pybabel extract -k term:2`` picks up)."""
    return value, vi, en


#: Each vocabulary's labels by stored value, per language (:meth:`Term.label_of`).
_LABELS: dict[tuple[type, bool], dict[str, str]] = {}


class Term(StrEnum):
    """A stored string with its labels: ``member.vi``, ``member.en``."""

    vi: str
    en: str

    def __new__(cls, value: str, vi: str, en: str) -> Term:
        member = str.__new__(cls, value)
        member._value_ = value
        member.vi, member.en = vi, en
        return member

    def __repr__(self) -> str:
        # As the stored string: messages that quote a value (``{role!r}``) read the same.
        return repr(self.value)

    def label(self, lang: str = "vi") -> str:
        return self.en if lang == "en" else self.vi

    @classmethod
    def label_of(cls, value: str | None, lang: str = "vi") -> str:
        """The label of a stored value; an unknown value is shown as it is."""
        key = (cls, lang == "en")  # as label(): English or Vietnamese
        labels = _LABELS.get(key)
        if labels is None:  # once per vocabulary and language: labels are asked at every step
            labels = _LABELS[key] = {member.value: member.label(lang) for member in cls}
        found = labels.get(value)
        return found if found is not None else value or ""


# -- dossiers ---------------------------------------------------------------------------

class Status(Term):
    """A dossier's status (trạng thái hồ sơ)."""

    SUBMITTED = term("submitted", "Mới nộp", "Submitted")
    SUPPLEMENT_REQUESTED = term("supplement_requested", "Yêu cầu bổ sung", "Supplement requested")
    ACCEPTED = term("accepted", "Đã tiếp nhận", "Accepted")
    IN_PROGRESS = term("in_progress", "Đang giải quyết", "In progress")
    APPROVED = term("approved", "Đã phê duyệt", "Approved")
    REFUSED = term("refused", "Từ chối", "Refused")
    PROCESSED = term("processed", "Đã giải quyết xong", "Processed")
    RETURNED = term("returned", "Đã trả kết quả", "Result returned")
    STOPPED = term("stopped", "Dừng xử lý", "Processing stopped")
    WITHDRAWN = term("withdrawn", "Đã rút hồ sơ", "Withdrawn")


STATUSES = tuple(Status)
#: Statuses that end the dossier's processing (its processing time stops for good).
FINAL_STATUSES = frozenset({Status.REFUSED, Status.PROCESSED, Status.RETURNED,
                            Status.STOPPED, Status.WITHDRAWN})
#: Ended without a result: a pending payment for such a dossier is closed, not awaited.
CLOSED_STATUSES = frozenset({Status.REFUSED, Status.STOPPED, Status.WITHDRAWN})
#: The status during which the processing time is paused (waiting for the applicant).
PAUSED_STATUS = Status.SUPPLEMENT_REQUESTED

#: A dossier back at ``submitted`` after its applicant supplemented it reads as this, not
#: as "Mới nộp" (the status itself stays ``submitted``).
SUPPLEMENTED_LABELS = ("Đã bổ sung, đang xử lý", "Supplemented, being processed")


def status_labels(status: str, *, supplemented: bool = False) -> dict:
    """``{status_vi, status_en, supplemented}`` as applicants read the status."""
    again = supplemented and status == Status.SUBMITTED
    if again:
        vi, en = SUPPLEMENTED_LABELS
    else:
        vi, en = Status.label_of(status, "vi"), Status.label_of(status, "en")
    return {"status_vi": vi, "status_en": en, "supplemented": again}


class Channel(Term):
    """How a dossier arrived (kênh tiếp nhận)."""

    ONLINE = term("online", "Trực tuyến", "Online")
    COUNTER = term("counter", "Trực tiếp", "In person")
    POST = term("post", "Bưu chính", "By post")


#: The channels a reception officer records at the counter.
COUNTER_CHANNELS = (Channel.COUNTER, Channel.POST)


class TaskState(Term):
    """A human task's state."""

    OPEN = term("open", "Đang chờ xử lý", "Waiting for an officer")
    COMPLETED = term("completed", "Đã hoàn thành", "Completed")
    CANCELLED = term("cancelled", "Đã hủy", "Cancelled")


# -- people -----------------------------------------------------------------------------

class RoleCode(Term):
    """The built-in roles (BPMN lane names are these codes). ``applicant`` is not a role an
    officer holds but the dossier's own applicant; administrators may add other roles."""

    APPLICANT = term("applicant", "Tổ chức, cá nhân", "Applicant")
    RECEPTION = term("reception", "Cán bộ tiếp nhận (một cửa)", "Reception officer")
    HANDLER = term("handler", "Chuyên viên thụ lý", "Handling officer")
    HEAD = term("head", "Lãnh đạo", "Head of agency")
    CLERK = term("clerk", "Văn thư", "Records clerk")
    DISTRICT_FINANCE = term("district_finance", "Cán bộ Phòng Tài chính – Kế hoạch",
                            "District finance officer")
    ANALYST = term("analyst", "Chuyên viên phân tích quy trình", "Process analyst")
    ADMIN = term("admin", "Quản trị hệ thống", "Administrator")
    LEADER = term("leader", "Lãnh đạo tỉnh (thống kê)", "Provincial leadership (statistics)")


#: Who may stop processing a dossier of their agency (dừng xử lý).
STOPPING_ROLES = (RoleCode.HEAD, RoleCode.RECEPTION)


# -- the audit log ----------------------------------------------------------------------

class AuditAction(Term):
    """What an audit event records (``AuditEvent.action``)."""

    # a dossier's life
    SUBMIT = term("submit", "Nộp hồ sơ", "Submit")
    RECEIVE_AT_COUNTER = term("receive_at_counter", "Tiếp nhận hồ sơ tại bộ phận một cửa",
                              "Dossier received at the counter")
    STARTED_BY_MESSAGE = term("started_by_message", "Tiếp nhận hồ sơ liên thông",
                              "Inter-agency dossier received")
    CLAIM = term("claim", "Nhận xử lý", "Claimed")
    COMPLETE = term("complete", "Hoàn thành bước", "Step completed")
    STATUS = term("status", "Chuyển trạng thái", "Status changed")
    NOTIFY = term("notify", "Gửi thông báo", "Notification sent")
    RENDER = term("render", "Tạo văn bản", "Document issued")
    SIGN = term("sign", "Ký số văn bản", "Document digitally signed")
    TIMER = term("timer", "Đến hạn tự động", "Deadline reached")
    MIGRATE = term("migrate", "Chuyển sang phiên bản quy trình mới",
                   "Moved to a new process version")
    CLOCK_STOPPED = term("clock_stopped", "Tạm dừng tính thời gian giải quyết",
                         "Processing time paused")
    CLOCK_RESUMED = term("clock_resumed", "Tiếp tục tính thời gian giải quyết",
                         "Processing time resumed")
    LATE = term("late", "Hồ sơ quá hạn giải quyết", "Dossier overdue")
    APOLOGY = term("apology", "Xin lỗi và hẹn lại ngày trả kết quả",
                   "Apology and new appointment date")
    WITHDRAW = term("withdraw", "Người nộp rút hồ sơ", "Withdrawn by the applicant")
    STOP = term("stop", "Cơ quan dừng xử lý hồ sơ", "Processing stopped by the agency")
    RETURNED = term("returned", "Trả kết quả cho người nộp", "Result handed over")
    SLIP_ISSUED = term("slip_issued", "Phát hành phiếu một cửa", "One-stop slip issued")
    RATING = term("rating", "Người nộp đánh giá mức độ hài lòng",
                  "Satisfaction rated by the applicant")
    ISSUE_NUMBER = term("issue_number", "Cấp số", "Number issued")
    REGISTRY_ADD = term("registry_add", "Ghi vào sổ theo dõi", "Entered in the register")
    REGISTRY_CLOSE = term("registry_close", "Đóng mục trong sổ theo dõi",
                          "Register entry closed")
    TRACKING_CHECK = term("tracking_check", "Kiểm tra thiết bị giám sát hành trình",
                          "Vehicle tracking device checked")
    DEMO_HISTORY = term("demo_history", "Dữ liệu lịch sử mẫu", "Sample history")
    # cooperation between agencies
    MESSAGE_SENT = term("message_sent", "Gửi thông điệp liên thông", "Inter-agency message sent")
    MESSAGE_RECEIVED = term("message_received", "Nhận thông điệp liên thông",
                            "Inter-agency message received")
    MESSAGE_POSTED = term("message_posted", "Hệ thống ngoài gửi thông điệp",
                          "Message posted by an outside system")
    MESSAGE_EXPIRED = term("message_expired", "Thông điệp liên thông hết hạn",
                           "Cooperation message expired")
    DOCUMENTS_RECEIVED = term("documents_received", "Nhận văn bản từ hồ sơ liên thông",
                              "Documents received from a cooperating dossier")
    ERROR_CAUGHT = term("error_caught", "Xử lý ngoại lệ theo quy trình",
                        "Exception handled by the process")
    # payments
    PAYMENT_START = term("payment_start", "Bắt đầu thanh toán", "Payment started")
    PAYMENT = term("payment", "Đã thanh toán phí, lệ phí", "Fee paid")
    PAYMENT_FAILED = term("payment_failed", "Thanh toán không thành công", "Payment failed")
    PAYMENT_EXPIRED = term("payment_expired", "Hết hạn chờ thanh toán", "Payment expired")
    PAYMENT_REFUSED = term("payment_refused", "Từ chối kết quả thanh toán không hợp lệ",
                           "Invalid payment result refused")
    # operations
    INCIDENT_RETRIED = term("incident_retried", "Chạy lại sự cố", "Incident retried")
    INCIDENT_CANCELLED = term("incident_cancelled", "Hủy sự cố", "Incident cancelled")
    INCIDENT_SKIPPED = term("incident_skipped", "Bỏ qua sự cố", "Incident skipped")
    DOSSIER_SUSPENDED = term("dossier_suspended", "Tạm ngừng hồ sơ", "Dossier suspended")
    DOSSIER_RESUMED = term("dossier_resumed", "Cho hồ sơ chạy tiếp", "Dossier resumed")
    DEPLOY = term("deploy", "Triển khai quy trình", "Process deployed")
    SETTING_CHANGED = term("setting_changed", "Thay đổi cấu hình", "Setting changed")
    SYSTEM_ACCOUNT = term("system_account", "Tạo tài khoản hệ thống ngoài",
                          "Outside system account created")
    # accounts
    ACCOUNT_REGISTERED = term("account_registered", "Đã đăng ký tài khoản", "Account registered")
    ACCOUNT_CONFIRMED = term("account_confirmed", "Đã xác nhận tài khoản", "Account confirmed")
    PASSWORD_RESET_BY_EMAIL = term("password_reset_by_email", "Đặt lại mật khẩu qua thư điện tử",
                                   "Password reset by e-mail")
    IDENTITY_LOGIN = term("identity_login", "Đăng nhập bằng định danh điện tử quốc gia",
                          "Signed in with the national electronic identity")
    IDENTITY_LINKED = term("identity_linked", "Liên kết tài khoản với định danh điện tử quốc gia",
                           "Account linked to the national electronic identity")
    IDENTITY_ACCOUNT_CREATED = term("identity_account_created",
                                    "Tạo tài khoản từ định danh điện tử quốc gia",
                                    "Account created from the national electronic identity")
    # administration
    ADMIN_USER_CREATE = term("admin_user_create", "Đã tạo người dùng", "User created")
    ADMIN_USER_UPDATE = term("admin_user_update", "Đã sửa người dùng", "User updated")
    ADMIN_USER_ACTIVATE = term("admin_user_activate", "Đã mở khóa người dùng", "User activated")
    ADMIN_USER_DEACTIVATE = term("admin_user_deactivate", "Đã khóa người dùng", "User deactivated")
    ADMIN_USER_PASSWORD_RESET = term("admin_user_password_reset",
                                     "Quản trị viên đặt lại mật khẩu", "Password reset by an administrator")
    ADMIN_USER_SIGNED_OUT = term("admin_user_signed_out", "Đã đăng xuất người dùng khỏi mọi phiên",
                                 "User signed out of every session")
    ADMIN_ROLE_CREATE = term("admin_role_create", "Đã tạo vai trò", "Role created")
    ADMIN_ROLE_UPDATE = term("admin_role_update", "Đã sửa vai trò", "Role updated")
    ADMIN_ROLE_DELETE = term("admin_role_delete", "Đã xóa vai trò", "Role deleted")
    ADMIN_AGENCY_CREATE = term("admin_agency_create", "Đã tạo cơ quan", "Agency created")
    ADMIN_AGENCY_UPDATE = term("admin_agency_update", "Đã sửa cơ quan", "Agency updated")
    ADMIN_AGENCY_CLOSE = term("admin_agency_close", "Đã ngừng hoạt động cơ quan", "Agency closed")
    ADMIN_AGENCY_DELETE = term("admin_agency_delete", "Đã xóa cơ quan", "Agency deleted")
    ADMIN_PROCEDURE_AGENCIES = term("admin_procedure_agencies",
                                    "Đã giao thủ tục cho cơ quan", "Procedure's agencies changed")
    ADMIN_CALENDAR_ADD = term("admin_calendar_add", "Đã thêm ngày nghỉ, ngày làm bù",
                              "Calendar day added")
    ADMIN_CALENDAR_REMOVE = term("admin_calendar_remove", "Đã xóa ngày nghỉ, ngày làm bù",
                                 "Calendar day removed")


#: Every vocabulary, for checks that walk them all.
VOCABULARIES: tuple[type[Term], ...] = (Status, Channel, TaskState, RoleCode, AuditAction)
