"""Files a rejected form keeps (tệp đính kèm được giữ lại), and fields filled from the
account (``x-prefill``).

Browsers never refill a file input, so a form rejected for any other reason would make
the applicant choose every file again. Instead each file the form accepted is put in the
file storage (content-addressed: the same bytes are stored once, a later submission finds
them) and the page carries, per file field, a token signed with the app's secret naming
the stored bytes, the file name, its type and the user it belongs to. A submission without
a new file for that field takes the kept one back. A token is good for
:data:`KEEP_SECONDS`, for its user only; a forged or stale one is ignored (the field is
then simply empty).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from engine.storage import Upload

from .formparse import form_values
from .formschema import field_kind, walk

KEEP_SECONDS = 24 * 3600
KEPT_SUFFIX = "__kept"  # the hidden input next to a file input: ``<field>__kept``
#: Account fields a form property may name with ``x-prefill`` (bpmn/README.md); the date
#: of birth comes only from a national identity (:mod:`engine.identity`).
PREFILL_FIELDS = ("full_name", "id_number", "address", "email", "phone", "birth_date")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="motcua.kept-upload")


def document_paths(schema: Mapping) -> list[str]:
    """The file fields of the form (nested ones included)."""
    return [path for path, prop in walk(schema) if field_kind(prop) == "document"]


def keep(p, user_id: int, uploads: Mapping[str, Upload], refused: set[str]) -> dict:
    """Store the accepted ``uploads`` (not the fields in ``refused``) and return, per field,
    ``{"filename", "token"}`` for the form shown again."""
    kept = {}
    for path, upload in uploads.items():
        if path in refused or not upload.content:
            continue
        key = p.storage.put(upload.content)
        token = _serializer().dumps({"k": key, "n": upload.filename, "t": upload.media_type,
                                     "u": user_id})
        kept[path] = {"filename": upload.filename, "token": token}
    return kept


def take_back(p, user_id: int, schema: Mapping, form, uploads: dict[str, Upload]) -> dict:
    """Add to ``uploads`` the kept file of each file field the submission left empty;
    returns ``{field: {"filename", "token"}}`` of the files taken back."""
    taken = {}
    for path in document_paths(schema):
        token = form.get(path + KEPT_SUFFIX) or ""
        if path in uploads or not token:
            continue
        try:
            item = _serializer().loads(token, max_age=KEEP_SECONDS)
        except BadSignature:
            continue
        if not isinstance(item, dict) or item.get("u") != user_id \
                or not p.storage.exists(str(item.get("k"))):
            continue
        uploads[path] = Upload(filename=str(item["n"]), media_type=str(item["t"]),
                               content=p.storage.get(str(item["k"])))
        taken[path] = {"filename": str(item["n"]), "token": token}
    return taken


def values_after_error(p, user_id: int, schema: Mapping, form, uploads: Mapping[str, Upload],
                       taken: Mapping[str, dict], errors: Mapping[str, str]) -> dict:
    """What a rejected form shows again: the values as typed, and per file field without
    an error the file taken back (``taken``, :func:`take_back`) or just accepted, kept."""
    values = form_values(schema, form)
    kept = {**taken, **keep(p, user_id, uploads, set(errors))}
    for path, item in kept.items():
        if path not in errors:
            _set_value(values, path, item)
    return values


def _set_value(values: dict, path: str, value) -> None:
    """Put ``value`` at the dotted ``path`` of nested ``values``."""
    *parents, name = path.split(".")
    for part in parents:
        values = values.setdefault(part, {})
    values[name] = value


def prefill(schema: Mapping, user, identity: Mapping | None = None) -> dict:
    """``{field path: value}`` for the properties whose ``x-prefill`` names an account
    field (one of :data:`PREFILL_FIELDS`) the signed-in ``user`` has a value for.
    ``identity``: the claims of the account's national identity
    (:func:`engine.identity.prefill_values`), verified by the provider: they come first."""
    values = {}
    identity = identity or {}
    for path, prop in walk(schema):
        name = prop.get("x-prefill")
        if name in PREFILL_FIELDS:
            value = identity.get(name) or getattr(user, name, "") or ""
            if value:
                values[path] = value
    return values
