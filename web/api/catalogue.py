"""Tokens, the procedure catalogue, deploying bundles, statistics and the OpenAPI spec."""

from __future__ import annotations

from datetime import date
from posixpath import normpath

from flask import jsonify, request, url_for

from engine import accounts, procedures, stats, stats_scope
from web import limits
from web.errors import ApiError

from .common import (
    bad_request,
    bp,
    current_user,
    is_multipart,
    json_body,
    platform,
    public,
    require,
    unauthorized,
)


@bp.post("/auth/token")
@public
def issue_token():
    """Exchange ``{username, password}`` for a bearer token; 401 if they do not match."""
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise bad_request("Send 'username' and 'password' as strings.",
                          "Hãy gửi 'username' và 'password' dạng chuỗi.")
    user = accounts.authenticate(platform(), username, password)
    if user is None:
        limits.login_failed()
        raise unauthorized("Wrong username or password.", "Sai tên đăng nhập hoặc mật khẩu.")
    return jsonify(token=accounts.issue_token(platform(), user.id))


@bp.get("/procedures")
@public
def list_procedures():
    """The catalogue: every published procedure."""
    return jsonify(procedures.list_procedures(platform()))


@bp.get("/procedures/<code>")
@public
def get_procedure(code: str):
    """One procedure with its application form's JSON Schema; 404 if unknown."""
    return jsonify(procedures.get_procedure(platform(), code))


@bp.post("/procedures")
def deploy_procedure():
    """(Analyst) deploy a bundle as a new version, or only validate it with ``?check=1``.

    The bundle is multipart (each file part's filename is its path in the bundle) or JSON
    ``{"files": {path: text}}``. 201 when a new version was stored, 200 when the bundle
    was unchanged or only checked, 422 with ``[{file, element, message}]`` if invalid.
    """
    user = current_user()
    require(user.is_analyst, "Only process analysts may deploy procedures.",
            "Chỉ chuyên viên phân tích quy trình được triển khai thủ tục.")
    files = _bundle_from_multipart() if is_multipart() else _bundle_from_json()
    if not files:
        raise bad_request("The bundle is empty: send procedure.yaml, process.bpmn and forms.",
                          "Gói thủ tục rỗng: hãy gửi procedure.yaml, process.bpmn và các biểu mẫu.")
    result = procedures.deploy_bundle(platform(), files, actor=user.username,
                                      check_only=request.args.get("check") == "1")
    return jsonify(result), 201 if result.get("created") else 200


@bp.get("/stats")
def get_stats():
    """(Leaders and heads of agencies) indicators for a period (``start``/``end`` as
    YYYY-MM-DD), an agency (``agency``, with its sub-agencies unless ``sub_agencies=0``;
    default: the widest the caller may read) and a procedure. 403 outside the caller's
    agencies, 404 for an unknown agency or procedure, 422 for an end before the start."""
    user = current_user()
    args = request.args
    agency = stats_scope.resolve(platform(), user, args.get("agency") or None)
    result = stats.indicators(platform(), start=_date_arg("start"), end=_date_arg("end"),
                              agency_code=agency, procedure_code=args.get("procedure") or None,
                              with_sub_agencies=args.get("sub_agencies", "1") != "0")
    return jsonify(result)


@bp.get("/openapi.json")
@public
def openapi_spec():
    """The OpenAPI 3.1 description of this API."""
    from web.openapi import spec

    # The server URL is wherever this blueprint is mounted (``/api/v1``).
    return jsonify(spec(server_url=url_for(".openapi_spec").removesuffix("/openapi.json")))


def _bundle_from_multipart() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for field, storages in request.files.lists():
        for storage in storages:
            path = _bundle_path(storage.filename or field)
            files[path] = storage.read()
    return files


def _bundle_from_json() -> dict[str, str]:
    files = json_body().get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise bad_request("Send {\"files\": {\"path\": \"text\", ...}}.",
                          "Hãy gửi {\"files\": {\"đường dẫn\": \"nội dung\", ...}}.")
    return {_bundle_path(path): text for path, text in files.items()}


def _bundle_path(path: str) -> str:
    """A relative path inside the bundle; absolute paths and ``..`` are refused."""
    cleaned = normpath(path.replace("\\", "/")).removeprefix("./")
    if not path or cleaned.startswith(("/", "../")) or cleaned in ("..", "."):
        raise bad_request(f"'{path}' is not a path inside the bundle.",
                          f"'{path}' không phải đường dẫn trong gói thủ tục.")
    return cleaned


def _date_arg(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"'{name}' must be a date as YYYY-MM-DD, not '{value}'.",
                       vi=f"'{name}' phải là ngày dạng YYYY-MM-DD, không phải '{value}'.",
                       error="BadRequest", details=[{"field": name, "message": "YYYY-MM-DD"}]
                       ) from None
