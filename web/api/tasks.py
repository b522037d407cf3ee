"""An officer's tasks (công việc): list, read, claim, complete."""

from __future__ import annotations

from flask import jsonify, request

from engine import tasks

from .common import (
    bad_request,
    bp,
    current_user,
    data_object,
    form_data_field,
    is_multipart,
    json_body,
    platform,
    uploaded_files,
)


@bp.get("/tasks")
def list_tasks():
    """The caller's actionable tasks: assigned to them, or unclaimed for one of their roles."""
    return jsonify(tasks.list_tasks(platform(), current_user()))


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

    The passphrase unlocks the officer's signing key on tasks that sign a document.
    409 if the task is done or claimed by another officer; 422 with field errors.
    """
    if is_multipart():
        data = form_data_field("data")
        files = uploaded_files()
        passphrase = request.form.get("passphrase") or None
    else:
        body = json_body()
        data = data_object(body)
        files = {}
        passphrase = body.get("passphrase") or None
        if passphrase is not None and not isinstance(passphrase, str):
            raise bad_request("'passphrase' must be a string.", "'passphrase' phải là chuỗi.")
    result = tasks.complete(platform(), current_user(), task_id, data, files or None,
                            passphrase=passphrase)
    return jsonify(result)
