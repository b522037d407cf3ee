"""Messages from other systems (engine.inbound): a system account posts a message, which a
waiting dossier catches or which starts a dossier of the procedure whose process begins
with a message start event of that name."""

from __future__ import annotations

from flask import jsonify

from engine import inbound

from .common import bp, current_user, json_body, platform


@bp.post("/messages")
def post_message():
    """A system account posts a message: JSON ``{name, correlation, payload?}``. ``payload``
    is a JSON object; its ``applicant_id_number`` names the applicant of a dossier the
    message starts (else the account), its ``application`` object the dossier's data.

    202 ``{id, name, correlation, status, starts}`` (queued; the worker delivers it or
    starts the dossier); 403 for a caller that is not a system account; 404 for a name no
    procedure starts on and no dossier waits for; 422 for a bad correlation or payload.
    """
    body = json_body()
    result = inbound.post(platform(), current_user(), body.get("name"), body.get("correlation"),
                          body.get("payload"))
    return jsonify(result), 202
