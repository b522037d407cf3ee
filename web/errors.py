"""Every error the web layer answers with, mapped in one place.

Three kinds of failure reach a client:

- engine errors (:class:`engine.errors.EngineError`): they carry their HTTP status and a
  bilingual message;
- HTTP errors raised by werkzeug or a view (404, 405, 413, …) and :class:`ApiError`, the
  web layer's own bilingual error (401 with ``WWW-Authenticate``, 400 for a malformed body);
- anything else: a bug, never a business error (a 422 would blame the applicant's data or
  the diagram). It is logged with its traceback under a fresh **incident id**; the client
  gets a 500 carrying that id (``"incident"`` in the JSON, and in both messages of the
  page: "an unexpected error, quote this id") so that support finds the log line.

API clients (paths under ``/api/`` or ``Accept: application/json``) get JSON
``{"error", "message", "message_vi", "details"}``; browsers get ``error.html`` rendered
with that dict as ``error`` and the HTTP ``status``.
"""

from __future__ import annotations

import secrets
from html import escape

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from engine.errors import EngineError

# Messages for werkzeug's own errors, which only come with English boilerplate.
_HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("The request is malformed: check its body and parameters.",
          "Yêu cầu không hợp lệ: kiểm tra lại nội dung và tham số."),
    401: ("Sign in first.", "Vui lòng đăng nhập."),
    403: ("You are not allowed to do this.", "Bạn không có quyền thực hiện thao tác này."),
    404: ("Nothing here: check the address.", "Không tìm thấy: kiểm tra lại địa chỉ."),
    405: ("This method is not allowed here.", "Phương thức này không được hỗ trợ tại địa chỉ này."),
    409: ("The request conflicts with the current state.", "Yêu cầu xung đột với trạng thái hiện tại."),
    415: ("Unsupported content type.", "Kiểu nội dung không được hỗ trợ."),
    429: ("Too many requests: wait a moment and try again.",
          "Quá nhiều yêu cầu: vui lòng chờ một lát rồi thử lại."),
    500: ("Something went wrong on our side; it has been logged. Try again later.",
          "Đã xảy ra lỗi phía máy chủ và lỗi đã được ghi lại. Vui lòng thử lại sau."),
}
# Headers of an HTTP error's own response that a client needs to act on.
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


class ApiError(Exception):
    """An error the web layer raises itself, with a message in both languages.

    ``error`` is the machine-readable name (``"Unauthorized"``, ``"BadRequest"``);
    ``headers`` are added to the response (``WWW-Authenticate`` for a 401).
    """

    def __init__(self, status: int, message: str, *, vi: str, error: str | None = None,
                 details: list | dict | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.vi = vi
        self.error = error or _default_error_name(status)
        self.details = details if details is not None else []
        self.headers = headers or {}

    def to_dict(self) -> dict:
        return {"error": self.error, "message": self.message, "message_vi": self.vi,
                "details": self.details}


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``: the most specific class wins, so order is irrelevant."""
    app.register_error_handler(EngineError, _handle_engine_error)
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)


def wants_json() -> bool:
    """Whether the current request is an API call rather than a browser page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(body: dict, status: int, headers: dict[str, str] | None = None) -> Response:
    """The response for an error ``body`` (the four-key dict): JSON or the error page."""
    if wants_json():
        response = jsonify(body)
    else:
        response = current_app.make_response(_render_page(body, status))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_engine_error(error: EngineError) -> Response:
    return error_response(error.to_dict(), error.status)


def _handle_api_error(error: ApiError) -> Response:
    return error_response(error.to_dict(), error.status, error.headers)


def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if isinstance(error, InternalServerError) and error.original_exception is not None:
        return _handle_unexpected(error.original_exception)
    english, vietnamese = _HTTP_MESSAGES.get(status, (error.name, error.name))
    # A view that raised e.g. ``NotFound("No such dossier")`` said something more useful
    # than the class's boilerplate.
    if error.description and error.description != type(error).description:
        english = error.description
    details: list | dict = []
    if status == 405:
        allowed = sorted(getattr(error, "valid_methods", None) or [])
        english = f"{request.method} is not allowed here; use {', '.join(allowed)}."
        vietnamese = f"Không hỗ trợ {request.method} tại địa chỉ này; hãy dùng {', '.join(allowed)}."
        details = {"allowed": allowed}
    elif status == 413:
        english, vietnamese, details = _too_large_messages()
    body = {"error": type(error).__name__, "message": english, "message_vi": vietnamese,
            "details": details}
    own_headers = error.get_response().headers
    headers = {name: own_headers[name] for name in _KEPT_HEADERS if name in own_headers}
    return error_response(body, status, headers)


def new_incident_id() -> str:
    """A short random id for one unexpected error, quoted by the user, searched in the log."""
    return secrets.token_hex(6)


def _handle_unexpected(error: Exception) -> Response:
    """A bug: log the traceback under an incident id; answer 500 naming that id only (no
    internals: the exception's text may carry data or paths)."""
    incident = new_incident_id()
    current_app.logger.error("Unhandled error, incident %s, on %s %s: %s", incident,
                             request.method, request.path, type(error).__name__,
                             exc_info=error)
    body = {"error": "InternalServerError",
            "message": f"An unexpected error occurred on our side; it has been logged. "
                       f"Quote this incident id when you contact support: {incident}.",
            "message_vi": f"Đã xảy ra lỗi ngoài dự kiến phía máy chủ và lỗi đã được ghi lại. "
                          f"Khi liên hệ hỗ trợ, vui lòng cung cấp mã sự cố: {incident}.",
            "details": [], "incident": incident}
    return error_response(body, 500)


def _too_large_messages() -> tuple[str, str, dict]:
    limit = request.max_content_length or current_app.config.get("MAX_CONTENT_LENGTH")
    if not limit:
        return ("The request is too large.", "Dữ liệu gửi lên quá lớn.", {})
    size = _human_size(limit)
    return (f"The upload is too large: the limit is {size} per request. "
            "Send smaller files (scan at a lower resolution) or fewer at once.",
            f"Dữ liệu tải lên quá lớn: giới hạn là {size} cho mỗi lần gửi. "
            "Hãy gửi tệp nhỏ hơn (quét với độ phân giải thấp hơn) hoặc ít tệp hơn.",
            {"max_bytes": limit})


def _human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"


def _render_page(body: dict, status: int) -> str:
    """The error page; a failure to render it must not hide the original error."""
    try:
        return render_template("error.html", error=body, status=status)
    except Exception:
        current_app.logger.exception("Could not render error.html")
        return (f"<!doctype html><title>{status}</title><h1>{status}</h1>"
                f"<p>{escape(body['message_vi'])}</p><p>{escape(body['message'])}</p>")


def _default_error_name(status: int) -> str:
    return HTTP_STATUS_CODES.get(status, "Error").replace(" ", "").replace("-", "")
