"""An officer's tasks (công việc): list, read, claim, complete."""

from __future__ import annotations

from flask import jsonify, request, url_for

from engine import inbox, tasks
from engine.errors import InvalidData

from .common import (
    bad_request,
    bp,
    current_user,
    platform,
    request_body,
)


@bp.get("/tasks")
def list_tasks():
    """The caller's actionable tasks (assigned to them, or unclaimed for one of their roles),
    due first, a page at a time: ``?limit=`` 1–50 (50), ``?after=`` the cursor of the
    previous page. The body is the page's array; when more follow, ``Link: <…>; rel="next"``
    and ``X-Next-Cursor`` say where (engine.inbox)."""
    limit = request.args.get("limit", str(inbox.PAGE_SIZE))
    if not limit.isdigit() or not 1 <= int(limit) <= inbox.PAGE_SIZE:
        raise bad_request(f"'limit' must be a whole number from 1 to {inbox.PAGE_SIZE}.",
                          f"'limit' phải là số nguyên từ 1 đến {inbox.PAGE_SIZE}.",
                          [{"field": "limit", "message": f"1 to {inbox.PAGE_SIZE}."}])
    try:
        page = inbox.inbox_page(platform(), current_user(), limit=int(limit),
                                after=request.args.get("after") or None)
    except InvalidData as exc:  # a cursor that is not one: a malformed request
        raise bad_request(exc.message, exc.vi, exc.details) from None
    response = jsonify(page.tasks)
    if page.next:
        args = {"after": page.next, **({"limit": limit} if "limit" in request.args else {})}
        response.headers["Link"] = f'<{url_for(".list_tasks", **args)}>; rel="next"'
        response.headers["X-Next-Cursor"] = page.next
    return response


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int):
    """A task with its dossier and its form's JSON Schema."""
    return jsonify(tasks.get_task(platform(), current_user(), task_id))


@bp.post("/tasks/<int:task_id>/claim")
def claim_task(task_id: int):
    """Take a task for oneself; 409 if another officer holds it or it is done."""
    return jsonify(tasks.claim(platform(), current_user(), task_id))


@bp.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int):
    """Complete a task with its form data: JSON ``{data, passphrase?}`` or multipart
    (``data`` as a JSON string, file fields, ``passphrase``).

    The passphrase unlocks the officer's signing key on tasks that sign a document (the
    PIN of the officer's token when keys are in PKCS#11 tokens, ``MOTCUA_SIGNER=pkcs11``).
    409 if the task is done or claimed by another officer; 422 with field errors.
    """
    body = request_body()
    passphrase = body.fields.get("passphrase") or None
    if passphrase is not None and not isinstance(passphrase, str):
        raise bad_request("'passphrase' must be a string.", "'passphrase' phải là chuỗi.")
    result = tasks.complete(platform(), current_user(), task_id, body.data, body.files or None,
                            passphrase=passphrase)
    return jsonify(result)
