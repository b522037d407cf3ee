"""The API blueprint and what every API view shares: the platform, bearer authentication,
reading JSON and multipart bodies.

Authentication is deny-by-default: every view needs a valid bearer token unless it is
marked :func:`public` (no token looked at) or :func:`optional_auth` (a token, if sent,
must be valid).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, request

from engine import accounts
from engine.errors import PermissionDenied
from engine.storage import Upload
from web import platform, safejson
from web.errors import ApiError

bp = Blueprint("api", __name__)

View = TypeVar("View", bound=Callable[..., Any])
_BEARER_CHALLENGE = 'Bearer realm="motcua"'


def public(view: View) -> View:
    """Mark a view as needing no authentication (the catalogue, the token endpoint)."""
    view.api_auth = "public"  # type: ignore[attr-defined]
    return view


def optional_auth(view: View) -> View:
    """Mark a view whose caller may be anonymous; a token, if sent, must still be valid."""
    view.api_auth = "optional"  # type: ignore[attr-defined]
    return view


@bp.before_request
def _authenticate() -> None:
    """Resolve ``Authorization: Bearer`` into ``g.api_user`` (or None)."""
    g.api_user = None
    view = current_app.view_functions.get(request.endpoint or "")
    mode = getattr(view, "api_auth", "required")
    if mode == "public" or request.method == "OPTIONS":  # preflights carry no credentials
        return
    header = request.headers.get("Authorization", "")
    if not header:
        if mode == "required":
            raise unauthorized("Send 'Authorization: Bearer <token>'; get a token from "
                               "POST /api/v1/auth/token.",
                               "Cần gửi 'Authorization: Bearer <token>'; lấy token qua "
                               "POST /api/v1/auth/token.")
        return
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = accounts.user_for_token(platform(), token.strip())
    if user is None:
        raise unauthorized("The bearer token is invalid or has expired: request a new one.",
                           "Token không hợp lệ hoặc đã hết hạn: vui lòng lấy token mới.",
                           invalid_token=True)
    g.api_user = user


def unauthorized(message: str, vi: str, *, invalid_token: bool = False) -> ApiError:
    """A 401 carrying the bearer challenge (RFC 6750)."""
    challenge = _BEARER_CHALLENGE + (', error="invalid_token"' if invalid_token else "")
    return ApiError(401, message, vi=vi, error="Unauthorized",
                    headers={"WWW-Authenticate": challenge})


def current_user():
    """The authenticated caller (a ``UserView``), or None on an anonymous call."""
    return g.get("api_user")


def require(condition: bool, message: str, vi: str) -> None:
    """Raise 403 with the given messages unless ``condition`` holds."""
    if not condition:
        raise PermissionDenied(message, vi=vi)


def bad_request(message: str, vi: str, details: list | dict | None = None) -> ApiError:
    return ApiError(400, message, vi=vi, error="BadRequest", details=details)


def is_multipart() -> bool:
    return request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded")


def json_body() -> dict:
    """The request body as a JSON object; 400 with the parser's position if it is not one."""
    if not request.is_json:
        raise ApiError(415, "Send the body as application/json (or multipart/form-data where "
                            "files are allowed).",
                       vi="Hãy gửi nội dung dạng application/json (hoặc multipart/form-data khi "
                          "có tệp đính kèm).", error="UnsupportedMediaType")
    return parse_json_object(request.get_data(as_text=True), "request body")


def parse_json_object(text: str, what: str) -> dict:
    """Parse ``text`` as a JSON object, naming ``what`` (the body or a field) in errors."""
    try:
        value = safejson.loads(text) if text.strip() else None
    except safejson.JsonInputError as error:
        raise bad_request(f"The {what} is not accepted: {error.message}",
                          f"{_vi_name(what)} không được chấp nhận: {error.vi}") from None
    except json.JSONDecodeError as error:
        raise bad_request(
            f"The {what} is not valid JSON: {error.msg} at line {error.lineno}, "
            f"column {error.colno}.",
            f"{_vi_name(what)} không phải JSON hợp lệ: {error.msg} tại dòng {error.lineno}, "
            f"cột {error.colno}.") from None
    if not isinstance(value, dict):
        raise bad_request(f"The {what} must be a JSON object ({{...}}).",
                          f"{_vi_name(what)} phải là một đối tượng JSON ({{...}}).")
    return value


def data_object(body: dict, key: str = "data") -> dict:
    """``body[key]`` as an object (missing means empty); 400 if it is something else."""
    value = body.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"'{key}' must be a JSON object.", f"'{key}' phải là một đối tượng JSON.")
    return value


@dataclass(frozen=True)
class Body:
    """A request body sent as JSON or as multipart: its plain ``fields``, its ``data``
    object and its files (none in JSON)."""

    fields: Mapping[str, Any]
    data: dict
    files: dict[str, Upload]


def request_body() -> Body:
    """JSON ``{data, ...}``, or multipart with ``data`` as a JSON string, the other fields
    as text and one file field per file; 400/415 as :func:`json_body`."""
    if is_multipart():
        return Body(request.form, form_data_field("data"), uploaded_files())
    body = json_body()
    return Body(body, data_object(body), {})


def form_data_field(name: str = "data") -> dict:
    """The multipart text field ``name`` holding a JSON object (missing means empty)."""
    text = request.form.get(name, "")
    return parse_json_object(text, f"'{name}' field") if text.strip() else {}


def uploaded_files() -> dict[str, Upload]:
    """One :class:`Upload` per multipart file field; empty file inputs are skipped."""
    uploads: dict[str, Upload] = {}
    for field, files in request.files.lists():
        chosen = [f for f in files if f.filename]
        if len(chosen) > 1:
            raise bad_request(f"Send one file in field '{field}', not {len(chosen)}.",
                              f"Trường '{field}' chỉ nhận một tệp, không phải {len(chosen)}.")
        if chosen:
            storage = chosen[0]
            uploads[field] = Upload(storage.filename, storage.mimetype or
                                    "application/octet-stream", storage.read())
    return uploads


def _vi_name(what: str) -> str:
    if what == "request body":
        return "Nội dung yêu cầu"
    return f"Trường {what.replace(' field', '')}"
